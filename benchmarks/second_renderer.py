#!/usr/bin/env python3
"""A second drop-off point renderer, written apart from ``edge/simulator`` (numpy, OpenCV, PyAV for H.264), so
that the agent is also scored on scenes its own simulator did not draw (README, "Scenes drawn another way").

Independent of binwatch's edge/simulator: a top-down-ish camera over a row of bins whose
lids are open, people drawn from above standing in front of a bin, an arm reaching in and
letting an item go; or an item thrown in; upright dark silhouettes passing in front. Writes
scene.mp4, site.toml and truth.json (binwatch-truth/1) into --out.

One axis at a time from a plain baseline (1280x720, 15 fps, 4 rectangular bins, colour,
plain floor, hand drop, sigma 2 noise, H.264 CRF 23, items 0.35 of the opening's smaller side).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

CAT_BGR = {  # GB/T 19095-ish: blue, red, green, grey
    "recyclable": (170, 90, 20),
    "hazardous": (40, 40, 190),
    "kitchen": (50, 140, 50),
    "other": (80, 80, 80),
}
CONTAMINANTS = {"disposable_tableware", "packaging", "plastic_bag"}
BIN_SETS = {
    1: ["kitchen"],
    2: ["kitchen", "other"],
    3: ["recyclable", "kitchen", "other"],
    4: ["recyclable", "hazardous", "kitchen", "other"],
    6: ["recyclable", "hazardous", "kitchen", "other", "recyclable", "kitchen"],
}


# ----------------------------------------------------------------------------- geometry
def rot(pts, c, deg):
    a = math.radians(deg)
    ca, sa = math.cos(a), math.sin(a)
    p = np.asarray(pts, float) - c
    return np.stack([p[:, 0] * ca - p[:, 1] * sa, p[:, 0] * sa + p[:, 1] * ca], 1) + c


def rect(cx, cy, w, h):
    return np.array(
        [[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + w / 2, cy + h / 2], [cx - w / 2, cy + h / 2]]
    )


def layout(W, H, n, shape):
    margin = 0.06 * W
    slot = (W - 2 * margin) / n
    bh = min(0.36 * H, 0.82 * slot)
    bw = min(0.82 * slot, 1.15 * bh)
    if shape == "rotated":
        bw *= 0.8
        bh *= 0.8
    cy = 0.40 * H
    bins = []
    for i in range(n):
        cx = margin + slot * (i + 0.5)
        c = np.array([cx, cy])
        body = rect(cx, cy, bw, bh)
        lid = np.array(
            [
                [cx - bw / 2, cy - bh / 2],
                [cx + bw / 2, cy - bh / 2],
                [cx + bw * 0.45, cy - bh / 2 - 0.28 * bh],
                [cx - bw * 0.45, cy - bh / 2 - 0.28 * bh],
            ]
        )
        if shape == "round":
            r = 0.40 * min(bw, bh)
            ang = np.linspace(0, 2 * math.pi, 36, endpoint=False)
            opening = np.stack([cx + r * np.cos(ang), cy + 0.95 * r * np.sin(ang)], 1)
        else:
            opening = rect(cx, cy, bw * 0.8, bh * 0.8)
        angle = 0.0
        if shape == "rotated":
            angle = (14 if i % 2 == 0 else -11) + 3 * i
            body, lid, opening = (rot(p, c, angle) for p in (body, lid, opening))
        bins.append(dict(c=c, body=body, lid=lid, opening=opening, angle=angle))
    return bins, bw, bh


# ----------------------------------------------------------------------------- sprites
def load_sprite(path):
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    r = int(0.28 * min(h, w))
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 1.0, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 1.0, -1)
    for x, y in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (x, y), r, 1.0, -1, cv2.LINE_AA)
    m = cv2.GaussianBlur(m, (0, 0), 1.2)
    return img.astype(np.float32), m


def paste(dst, spr, cx, cy, size, angle, shade=1.0):
    img, alpha = spr
    h, w = img.shape[:2]
    s = size / max(h, w)
    R = s * math.hypot(w, h) / 2 + 2
    x0, y0 = max(int(cx - R), 0), max(int(cy - R), 0)
    x1, y1 = min(int(cx + R) + 1, dst.shape[1]), min(int(cy + R) + 1, dst.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, s)
    M[0, 2] += cx - w / 2 - x0
    M[1, 2] += cy - h / 2 - y0
    sz = (x1 - x0, y1 - y0)
    wi = cv2.warpAffine(img, M, sz, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    wa = cv2.warpAffine(alpha, M, sz, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    roi = dst[y0:y1, x0:x1]
    roi[:] = roi * (1 - wa) + wi * shade * wa


# ----------------------------------------------------------------------------- static scene
def value_noise(H, W, cell, rng):
    g = rng.random((H // cell + 2, W // cell + 2)).astype(np.float32)
    return cv2.resize(g, (W, H), interpolation=cv2.INTER_CUBIC)


def draw_floor(W, H, kind, rng):
    if kind == "tiles":
        t = max(int(0.055 * W), 12)
        floor = np.zeros((H, W, 3), np.float32)
        base = np.array([150, 160, 170], np.float32)
        for y in range(0, H, t):
            for x in range(0, W, t):
                shade = base * (0.8 + 0.35 * rng.random()) + rng.normal(0, 6, 3)
                floor[y : y + t, x : x + t] = shade
        floor += (value_noise(H, W, max(t // 6, 2), rng)[..., None] - 0.5) * 40
        g = max(2, t // 14)
        for y in range(0, H, t):
            floor[y : y + g] = (70, 75, 80)
        for x in range(0, W, t):
            floor[:, x : x + g] = (70, 75, 80)
    else:
        floor = np.empty((H, W, 3), np.float32)
        floor[:] = (120, 125, 128)
        floor += (value_noise(H, W, max(W // 16, 4), rng)[..., None] - 0.5) * 16
        floor += rng.normal(0, 2.5, (H, W, 1)).astype(np.float32)
    return floor


def fill(img, poly, colour):
    cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)


def draw_bins(static, bins, cats, rng, W):
    H = static.shape[0]
    for b, cat in zip(bins, cats, strict=True):
        col = np.array(CAT_BGR[cat], float)
        fill(static, b["lid"], tuple(col * 0.7))
        fill(static, b["body"], tuple(col))
        # rim: a lighter band just outside the opening
        c = b["c"]
        rim = c + (b["opening"] - c) * 1.09
        fill(static, rim, tuple(np.minimum(col * 1.35 + 25, 255)))
        # the bag: dark, with soft folds
        mask = np.zeros((H, W), np.uint8)
        fill(mask, b["opening"], 255)
        x, y, w, h = cv2.boundingRect(np.round(b["opening"]).astype(np.int32))
        folds = value_noise(h, w, max(w // 7, 3), rng)
        bag = 42 + 22 * folds
        sub = static[y : y + h, x : x + w]
        m = mask[y : y + h, x : x + w, None].astype(np.float32) / 255
        sub[:] = sub * (1 - m) + np.stack([bag, bag, bag * 1.08], -1) * m
        # old contents: a few crumpled blobs
        for _ in range(rng.integers(1, 4)):
            p = sample_inside(b["opening"], 0.12 * min(w, h), rng)
            if p is None:
                continue
            r = 0.08 * min(w, h) * (0.6 + rng.random())
            k = rng.integers(6, 10)
            ang = np.sort(rng.random(k)) * 2 * math.pi
            poly = np.stack(
                [
                    p[0] + r * (0.6 + 0.5 * rng.random(k)) * np.cos(ang),
                    p[1] + r * (0.6 + 0.5 * rng.random(k)) * np.sin(ang),
                ],
                1,
            )
            fill(static, poly, tuple(float(v) for v in rng.integers(60, 200, 3)))


def sample_inside(poly, margin, rng, avoid=(), tries=60):
    x0, y0 = poly.min(0)
    x1, y1 = poly.max(0)
    cnt = np.round(poly).astype(np.int32).reshape(-1, 1, 2)
    best, best_score = None, -1e9
    for _ in range(tries):
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        d = cv2.pointPolygonTest(cnt, (float(p[0]), float(p[1])), True)
        if d < margin:
            continue
        score = min([np.hypot(*(p - a)) for a in avoid], default=1e6)
        if score > best_score:
            best, best_score = p, score
    return best


# ----------------------------------------------------------------------------- people
SKIN = (120, 155, 205)


def draw_person_top(img, centre, scale, clothes, hair):
    """A person seen from above: shoulders (an ellipse) and a head."""
    cx, cy = centre
    cv2.ellipse(
        img,
        (int(cx * 16), int(cy * 16)),
        (int(0.24 * scale * 16), int(0.13 * scale * 16)),
        0,
        0,
        360,
        clothes,
        -1,
        cv2.LINE_AA,
        4,
    )
    cv2.circle(img, (int(cx * 16), int((cy - 0.02 * scale) * 16)), int(0.095 * scale * 16), hair, -1, cv2.LINE_AA, 4)


def draw_arm(img, shoulder, hand, width, clothes):
    s = np.asarray(shoulder, float)
    h = np.asarray(hand, float)
    elbow = s + (h - s) * 0.45
    p = lambda q: (int(q[0] * 16), int(q[1] * 16))  # noqa: E731
    cv2.line(img, p(s), p(h), SKIN, max(int(width), 2), cv2.LINE_AA, 4)
    cv2.line(img, p(s), p(elbow), clothes, max(int(width * 1.25), 2), cv2.LINE_AA, 4)
    cv2.circle(img, p(h), int(width * 0.75 * 16), SKIN, -1, cv2.LINE_AA, 4)


def draw_silhouette(img, x, feet_y, height, phase):
    """An upright dark person passing in front of the bins (as an oblique camera sees one)."""
    col = (28, 26, 30)
    hw = 0.13 * height
    head_r = 0.065 * height
    top = feet_y - height
    cv2.circle(img, (int(x), int(top + head_r)), int(head_r), col, -1, cv2.LINE_AA)
    torso = np.array(
        [
            [x - hw, top + 2.2 * head_r],
            [x + hw, top + 2.2 * head_r],
            [x + hw * 0.8, top + 0.55 * height],
            [x - hw * 0.8, top + 0.55 * height],
        ]
    )
    fill(img, torso, col)
    sw = math.sin(phase) * 0.12 * height
    for sgn in (-1, 1):
        hip = (x + sgn * hw * 0.4, top + 0.52 * height)
        foot = (x + sgn * sw, feet_y)
        cv2.line(
            img, (int(hip[0]), int(hip[1])), (int(foot[0]), int(foot[1])), col, max(int(0.08 * height), 2), cv2.LINE_AA
        )
        sh = (x + sgn * hw, top + 2.5 * head_r)
        hand = (x + sgn * hw * 1.1 - sgn * sw * 0.5, top + 0.5 * height)
        cv2.line(
            img, (int(sh[0]), int(sh[1])), (int(hand[0]), int(hand[1])), col, max(int(0.05 * height), 2), cv2.LINE_AA
        )


# ----------------------------------------------------------------------------- plan
def smooth(u):
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def read_manifest(manifest):
    with open(Path(manifest) / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def deal(rows, cats, n, rng):
    by_cat = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r)
    used = set()

    def pick(pool):
        free = [r for r in pool if r["path"] not in used] or pool
        r = free[rng.integers(len(free))]
        used.add(r["path"])
        return r

    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.15 and "kitchen" in cats:
            b = [i for i, c in enumerate(cats) if c == "kitchen"][0]
            it = pick([r for r in rows if r["item"] in CONTAMINANTS])
        elif u < 0.45:
            b = int(rng.integers(len(cats)))
            it = pick([r for r in rows if r["category"] != cats[b] and r["item"] not in CONTAMINANTS])
        else:
            b = int(rng.integers(len(cats)))
            it = pick(by_cat[cats[b]])
        out.append((b, it))
    return out


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--manifest", default="/work/main/edge/simulator/samples")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--disposals", type=int, default=8)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--bins", type=int, default=4)
    ap.add_argument("--shape", choices=["rect", "round", "rotated"], default="rect")
    ap.add_argument("--tilt", type=float, default=0.0, help="camera roll, degrees")
    ap.add_argument("--ir", action="store_true", help="grayscale night IR camera")
    ap.add_argument("--floor", choices=["plain", "tiles"], default="plain")
    ap.add_argument("--leaves", action="store_true", help="moving leaf shadows")
    ap.add_argument("--drop", choices=["hand", "quick", "slow"], default="hand")
    ap.add_argument("--passers", type=int, default=0)
    ap.add_argument("--blocky", action="store_true", help="JPEG q10 per frame + CRF 36")
    ap.add_argument("--item-scale", type=float, default=0.35)
    ap.add_argument("--noise", type=float, default=2.0)
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--leaf-strength", type=float, default=0.45)
    ap.add_argument("--leaf-amp", type=float, default=1.0, help="sway amplitude multiplier")
    ap.add_argument("--leaf-period", type=float, default=1.0, help="sway period multiplier")
    ap.add_argument("--throw-s", type=float, default=0.22, help="quick: seconds the thrown item flies")
    ap.add_argument("--bystanders", type=int, default=0, help="silhouettes that stop 8 s in front of a bin")
    ap.add_argument("--passer-overlap", action="store_true", help="passers cross while a hand is in a bin")
    ap.add_argument("--ir-noise", type=float, default=6.0)
    ap.add_argument("--ir-gain", type=float, default=0.55)
    ap.add_argument("--gap", type=float, default=3.0, help="idle seconds between visits (mean)")
    a = ap.parse_args()

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    W, H, fps = a.width, a.height, a.fps
    plan_rng = np.random.default_rng(a.seed)
    draw_rng = np.random.default_rng(a.seed + 1000)
    cats = BIN_SETS[a.bins]
    ids = [f"{c}-{i + 1}" for i, c in enumerate(cats)]
    bins, bw, bh = layout(W, H, a.bins, a.shape)
    px_m = bw / 0.6  # a bin body is 0.6 m wide

    rows = read_manifest(a.manifest)
    dealt = deal(rows, cats, a.disposals, plan_rng)

    # ---- timeline (seconds)
    visits = []
    t = 2.5
    passer_slots = set(np.linspace(1, a.disposals - 1, a.passers).round().astype(int).tolist()) if a.passers else set()
    passers = []
    bystander_slots = (
        set(np.linspace(0.5, a.disposals - 1.5, a.bystanders).round().astype(int).tolist()) if a.bystanders else set()
    )
    bystanders = []
    for k, (bi, row) in enumerate(dealt):
        if k in bystander_slots:
            bb = int(plan_rng.integers(len(cats)))
            bystanders.append(dict(t0=t, t1=t + 11.0, bin=bb))
            t += 11.0 + 1.5 + plan_rng.uniform(0, 1)
        if k in passer_slots and not a.passer_overlap:
            dur = 4.0
            passers.append(dict(t0=t, t1=t + dur, direction=1 if len(passers) % 2 == 0 else -1))
            t += dur + 1.5 + plan_rng.uniform(0, 1)
        b = bins[bi]
        omin = min(np.ptp(b["opening"][:, 0]), np.ptp(b["opening"][:, 1]))
        if a.shape == "rotated":
            omin *= 0.8
        land = sample_inside(
            b["opening"],
            0.5 * a.item_scale * omin * 1.1 + 0.02 * omin,
            plan_rng,
            avoid=[v["land"] for v in visits if v["bin"] == bi],
        )
        if land is None:
            land = b["c"].copy()
        if a.drop == "hand":
            ph = dict(walk_in=1.0, reach=0.8, lower=0.5, fall=0.15, withdraw=0.8, linger=0.3, walk_out=1.0)
        elif a.drop == "slow":
            ph = dict(walk_in=1.2, reach=1.6, lower=2.8, fall=0.08, withdraw=1.6, linger=0.5, walk_out=1.2)
        else:  # quick: thrown from a step away, no arm over the rim
            ph = dict(walk_in=1.0, reach=0.0, lower=0.0, fall=a.throw_s, withdraw=0.0, linger=0.6, walk_out=1.0)
        v = dict(
            bin=bi,
            row=row,
            land=land,
            omin=omin,
            t0=t,
            ph=ph,
            angle=float(plan_rng.uniform(0, 360)),
            side=float(plan_rng.uniform(-0.25, 0.25)),
            clothes=tuple(float(x) for x in plan_rng.integers(30, 200, 3)),
            hair=tuple(float(x) for x in plan_rng.integers(10, 60, 3)),
        )
        v["t1"] = t + sum(ph.values())
        visits.append(v)
        if k in passer_slots and a.passer_overlap:
            tr = t + ph["walk_in"] + 0.3 * ph["reach"]
            dirn = 1 if len(passers) % 2 == 0 else -1
            u_hit = (b["c"][0] + 0.2 * W) / (1.4 * W) if dirn > 0 else (1.2 * W - b["c"][0]) / (1.4 * W)
            passers.append(dict(t0=tr - 4.0 * u_hit, t1=0, direction=dirn))
            passers[-1]["t1"] = passers[-1]["t0"] + 4.0
        t = v["t1"] + a.gap * plan_rng.uniform(0.6, 1.4)
    total = t + 3.0
    n_frames = int(math.ceil(total * fps))

    sprites = {v["row"]["path"]: load_sprite(Path(a.manifest) / v["row"]["path"]) for v in visits}

    # ---- camera roll
    M = None
    polys = [b["opening"] for b in bins]
    if a.tilt:
        sc = 1.0 + abs(math.sin(math.radians(a.tilt))) * 1.2
        M = cv2.getRotationMatrix2D((W / 2, H / 2), a.tilt, sc)
        polys = [np.hstack([p, np.ones((len(p), 1))]) @ M.T for p in polys]

    # ---- static layer
    static = draw_floor(W, H, a.floor, draw_rng)
    draw_bins(static, bins, cats, draw_rng, W)

    # leaf shadows: blobs swaying
    leaves = []
    if a.leaves:
        for _ in range(14):
            leaves.append(
                dict(
                    x=draw_rng.uniform(0, W),
                    y=draw_rng.uniform(0, H),
                    r=draw_rng.uniform(0.04, 0.11) * W,
                    ax=a.leaf_amp * draw_rng.uniform(0.01, 0.03) * W,
                    ay=a.leaf_amp * draw_rng.uniform(0.005, 0.02) * W,
                    per=a.leaf_period * draw_rng.uniform(2.0, 5.0),
                    ph=draw_rng.uniform(0, 6.28),
                )
            )
    ls = 4  # leaf map drawn at 1/4
    noise_bank = [
        draw_rng.normal(0, a.ir and a.ir_noise or a.noise, (H, W, 1 if a.ir else 3)).astype(np.float32)
        for _ in range(8)
    ]
    if a.ir:
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        vign = (1.15 - 0.55 * (((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2))[..., None]

    # ---- per-visit event state and truth
    truth_disp = []
    for k, v in enumerate(visits):
        ph = v["ph"]
        t0 = v["t0"]
        v["t_reach"] = t0 + ph["walk_in"]
        v["t_release"] = v["t_reach"] + ph["reach"] + ph["lower"]
        v["t_land_s"] = v["t_release"] + ph["fall"]
        v["land_frame"] = int(math.ceil(v["t_land_s"] * fps - 1e-9))
        v["t_withdrawn"] = v["land_frame"] / fps + ph["withdraw"]
        v["t_leave"] = v["t_withdrawn"] + ph["linger"]
        row = v["row"]
        bcat = cats[v["bin"]]
        flags = []
        if row["category"] != bcat:
            flags.append("mixed_disposal")
        if bcat == "kitchen" and row["item"] in CONTAMINANTS:
            flags.append("kitchen_contamination")
        t_land = round(v["land_frame"] / fps, 3)
        truth_disp.append(
            dict(
                id=k + 1,
                t=t_land,
                t_start=round(min(v["t_reach"], t_land), 3) if a.drop != "quick" else round(v["t_release"], 3),
                t_end=round(max(v["t_withdrawn"], t_land), 3),
                bin_id=ids[v["bin"]],
                item=row["item"],
                category=row["category"],
                flags=flags,
                image=row["path"],
                bagged=False,
            )
        )

    # ---- writer
    vid_path = out / "scene.mp4"
    cont = av.open(str(vid_path), "w")
    st = cont.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    st.width, st.height, st.pix_fmt = W, H, "yuv420p"
    st.options = {"crf": str(36 if a.blocky else a.crf), "preset": "veryfast", "g": str(int(round(2 * fps)))}

    for f in range(n_frames):
        tt = f / fps
        frame = static.copy()
        for v in visits:
            if f >= v["land_frame"] and not v.get("baked"):
                paste(static, sprites[v["row"]["path"]], *v["land"], a.item_scale * v["omin"], v["angle"])
                v["baked"] = True
                frame = static.copy()
        for v in visits:
            if not (v["t0"] <= tt <= v["t1"]):
                continue
            ph = v["ph"]
            b = bins[v["bin"]]
            scale = px_m
            # where the person stands: in front (below) the bin
            bx = b["c"][0] + v["side"] * bw
            by_final = b["c"][1] + bh / 2 + 0.12 * scale + 0.13 * scale
            by_final = min(by_final, H - 0.03 * scale)
            off = H + 0.3 * scale - by_final
            u_in = smooth((tt - v["t0"]) / ph["walk_in"])
            u_out = smooth((tt - v["t_leave"]) / ph["walk_out"]) if tt > v["t_leave"] else 0.0
            py = by_final + off * (1 - u_in) + off * u_out
            shoulder = (bx + 0.16 * scale, py - 0.02 * scale)
            spr = sprites[v["row"]["path"]]
            size = a.item_scale * v["omin"]
            land = v["land"]
            hand_pt = None
            item_draw = None
            if a.drop in ("hand", "slow"):
                if v["t_reach"] <= tt < v["t_release"]:
                    u = smooth((tt - v["t_reach"]) / max(ph["reach"], 1e-6))
                    target = land + np.array([0, -0.05 * v["omin"]])
                    hand_pt = np.array(shoulder) + (target - np.array(shoulder)) * u
                    grow = 1.25
                    if tt >= v["t_reach"] + ph["reach"]:
                        w = (tt - v["t_reach"] - ph["reach"]) / max(ph["lower"], 1e-6)
                        grow = 1.25 - 0.13 * smooth(w)
                        if a.drop == "slow":  # hesitation: the hand hovers and sways
                            hand_pt = hand_pt + np.array(
                                [math.sin(6 * w) * 0.05 * v["omin"], math.sin(4 * w) * 0.03 * v["omin"]]
                            )
                    item_draw = (hand_pt + np.array([0, -0.12 * size]), size * grow)
                elif v["t_release"] <= tt < v["land_frame"] / fps:
                    w = (tt - v["t_release"]) / max(ph["fall"], 1e-6)
                    item_draw = (land + np.array([0, -0.05 * v["omin"]]) * (1 - w), size * (1.12 - 0.12 * w))
                    hand_pt = land + np.array([0, -0.05 * v["omin"]]) + np.array([0, 0.1 * v["omin"]])
                elif v["land_frame"] / fps <= tt < v["t_withdrawn"]:
                    u = smooth((tt - v["land_frame"] / fps) / max(ph["withdraw"], 1e-6))
                    start = land + np.array([0, 0.05 * v["omin"]])
                    hand_pt = start + (np.array(shoulder) - start) * u
            else:  # quick throw from the chest, an arc in a few frames
                if v["t_release"] <= tt < v["land_frame"] / fps:
                    w = (tt - v["t_release"]) / ph["fall"]
                    p0 = np.array([bx, py - 0.2 * scale])
                    pos = p0 + (land - p0) * w
                    item_draw = (pos, size * (1.5 - 0.5 * w))
            draw_person_top(frame, (bx, py), scale, v["clothes"], v["hair"])
            if item_draw is not None:
                paste(frame, spr, *item_draw[0], item_draw[1], v["angle"])
            if hand_pt is not None and (hand_pt[1] < py):
                draw_arm(frame, shoulder, hand_pt, 0.085 * scale, v["clothes"])
        for p in passers:
            if p["t0"] <= tt <= p["t1"]:
                u = (tt - p["t0"]) / (p["t1"] - p["t0"])
                height = 0.85 * H
                x = -0.2 * W + 1.4 * W * u if p["direction"] > 0 else 1.2 * W - 1.4 * W * u
                draw_silhouette(frame, x, H * 1.02, height, u * 18)
        for p in bystanders:
            if p["t0"] <= tt <= p["t1"]:
                bx_ = bins[p["bin"]]["c"][0]
                u = tt - p["t0"]
                if u < 1.5:
                    x = -0.15 * W + (bx_ + 0.15 * W) * smooth(u / 1.5)
                elif u < 9.5:
                    x = bx_ + 0.01 * W * math.sin(u * 1.3)  # sways while standing
                else:
                    x = bx_ + (1.15 * W - bx_) * smooth((u - 9.5) / 1.5)
                draw_silhouette(frame, x, H * 1.02, 0.85 * H, u * 6 if (u < 1.5 or u > 9.5) else 0)
        if leaves:
            lm = np.zeros((H // ls, W // ls), np.float32)
            for L in leaves:
                x = (L["x"] + L["ax"] * math.sin(2 * math.pi * tt / L["per"] + L["ph"])) / ls
                y = (L["y"] + L["ay"] * math.sin(2 * math.pi * tt / (L["per"] * 1.3) + L["ph"])) / ls
                cv2.ellipse(
                    lm, (int(x), int(y)), (int(L["r"] / ls), int(0.6 * L["r"] / ls)), L["ph"] * 30, 0, 360, 1.0, -1
                )
            lm = cv2.GaussianBlur(lm, (0, 0), max(W / ls / 200, 1.0))
            lm = cv2.resize(np.minimum(lm, 1), (W, H), interpolation=cv2.INTER_LINEAR)
            frame *= (1 - a.leaf_strength * lm)[..., None]
        if M is not None:
            frame = cv2.warpAffine(frame, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if a.ir:
            g = frame[..., 2] * 0.45 + frame[..., 1] * 0.35 + frame[..., 0] * 0.2
            g = (g[..., None] * a.ir_gain + 20) * vign
            frame = np.repeat(g, 3, axis=2)
            frame += noise_bank[f % 8]
        else:
            frame += noise_bank[f % 8]
        img = np.clip(frame, 0, 255).astype(np.uint8)
        if a.blocky:
            ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 10])
            img = cv2.imdecode(enc, cv2.IMREAD_COLOR)
        if a.ir:
            img[..., 1] = img[..., 0]
            img[..., 2] = img[..., 0]
        vf = av.VideoFrame.from_ndarray(img, format="bgr24")
        for pkt in st.encode(vf):
            cont.mux(pkt)
        if f == int(n_frames * 0.3):
            cv2.imwrite(str(out / "frame.png"), img)
    for pkt in st.encode():
        cont.mux(pkt)
    cont.close()

    bins_out = [
        dict(id=i, category=c, polygon=[[int(round(x)), int(round(y))] for x, y in p])
        for i, c, p in zip(ids, cats, polys, strict=True)
    ]
    for bo in bins_out:
        bo["polygon"] = [[min(max(x, 0), W - 1), min(max(y, 0), H - 1)] for x, y in bo["polygon"]]
    truth = {
        "format": "binwatch-truth/1",
        "video": "scene.mp4",
        "fps": fps,
        "frames": n_frames,
        "width": W,
        "height": H,
        "start_time": "2026-05-18T10:00:00+08:00",
        "schedule": {"allowed_hours": [], "timezone": "Asia/Shanghai"},
        "bins": bins_out,
        "disposals": truth_disp,
        "passers_by": [dict(t_start=round(p["t0"], 3), t_end=round(p["t1"], 3), over_bins=True) for p in passers],
        "bystanders": [
            dict(t_start=round(p["t0"], 3), t_end=round(p["t1"], 3), bin_id=ids[p["bin"]]) for p in bystanders
        ],
        "condition": out.name,
        "generator": {"tool": "foreign/render.py", "args": vars(a)},
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    lines = [
        'device_id = "foreign-cam"',
        'site_id = "foreign"',
        "",
        "[collector]",
        'url = "http://127.0.0.1:8000"',
        'token = "change-me"',
        "model_check_s = 0",
        "",
        "[camera]",
        'source = "scene.mp4"',
        f"fps = {fps}",
        "realtime = false",
        "",
    ]
    for bo in bins_out:
        lines += [
            "[[bins]]",
            f'id = "{bo["id"]}"',
            f'category = "{bo["category"]}"',
            f"polygon = {json.dumps(bo['polygon'])}",
            "",
        ]
    lines += ["[schedule]", "allowed_hours = []", 'timezone = "Asia/Shanghai"', ""]
    (out / "site.toml").write_text("\n".join(lines))
    print(
        f"{out}: {n_frames} frames, {total:.1f} s, {W}x{H} @ {fps}, {len(truth_disp)} disposals, {len(passers)} passers"
    )


if __name__ == "__main__":
    main()
