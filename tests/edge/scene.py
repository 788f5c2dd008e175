"""A small synthetic drop-off point for the edge tests, written as a real MP4 with OpenCV.

Three bins seen from above (recyclable, kitchen, other) with dark openings; for each drop
an arm comes up from the bottom edge holding a photo of the item, lets go in the opening
and withdraws, leaving the item lying there. A passer-by walks below the bins, outside
every opening, and the sensor adds noise to every frame. The scene is drawn at 640×360;
``scale`` enlarges the video (and ``site``'s polygons) for the 720p benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets import taxonomy
from binwatch.datasets.images import read_image
from binwatch.edge.config import SiteConfig, parse
from binwatch.edge.flags import rule_flags
from binwatch.edge.offline import OFFLINE_START

DATA = Path(__file__).parent / "data"
SIZE = (640, 360)
FPS = 10.0
ITEM_SIDE = 64
REACH_S, HOLD_S, WITHDRAW_S = 0.8, 0.2, 0.7
BINS = (  # id, category, outer rectangle
    ("blue-1", "recyclable", (40, 60, 220, 230)),
    ("green-1", "kitchen", (240, 60, 420, 230)),
    ("grey-1", "other", (440, 60, 620, 230)),
)
INSET = 12
SKIN = (95, 140, 205)
BAG = (48, 52, 50)


@dataclass(frozen=True)
class Drop:
    at_s: float  # the moment the item is let go
    bin_id: str
    item: str | None  # a photo tests/edge/data/<item>.jpg; None: the hand reaches in and drops nothing

    @property
    def starts_s(self) -> float:
        return self.at_s - REACH_S - HOLD_S

    @property
    def ends_s(self) -> float:
        return self.at_s + WITHDRAW_S


def opening(bin_id: str) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = next(rect for b, _, rect in BINS if b == bin_id)
    return x0 + INSET, y0 + INSET, x1 - INSET, y1 - INSET


def site(tmp: Path, video: Path | str, url: str = "http://127.0.0.1:9", scale: int = 1, **sections) -> SiteConfig:
    data = {
        "device_id": "box-1",
        "site_id": "site-1",
        "collector": {"url": url, "token": "secret", "timeout_s": 2, "heartbeat_s": 1, "retry_max_s": 2},
        "camera": {"source": str(video), "fps": FPS, "realtime": False},
        "bins": [{"id": b, "category": c, "polygon": _corners(opening(b), scale)} for b, c, _ in BINS],
        "storage": {"dir": str(tmp / "store")},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return parse(data)


def _corners(rect: tuple[int, int, int, int], scale: int) -> list[list[int]]:
    x0, y0, x1, y1 = (v * scale for v in rect)
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _item_image(item: str) -> np.ndarray:
    rgb = read_image(DATA / f"{item}.jpg")
    scale = ITEM_SIDE / max(rgb.shape[:2])
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)


def _target(drop: Drop, index: int) -> tuple[int, int]:
    """Where in the opening the item comes to rest: spread out, fully inside."""
    x0, y0, x1, y1 = opening(drop.bin_id)
    rng = np.random.default_rng(index)
    half = ITEM_SIDE // 2 + 4
    return int(rng.integers(x0 + half, x1 - half)), int(rng.integers(y0 + half, y1 - half))


def _paste(frame: np.ndarray, image: np.ndarray, centre: tuple[int, int]) -> None:
    h, w = image.shape[:2]
    x, y = centre[0] - w // 2, centre[1] - h // 2
    fx0, fy0, fx1, fy1 = max(x, 0), max(y, 0), min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = image[fy0 - y : fy1 - y, fx0 - x : fx1 - x]


def _background(rng: np.random.Generator) -> np.ndarray:
    floor = rng.normal(120, 12, (SIZE[1] // 8, SIZE[0] // 8, 3)).clip(0, 255).astype(np.uint8)
    frame = cv2.resize(floor, SIZE, interpolation=cv2.INTER_CUBIC)
    for _, category, (x0, y0, x1, y1) in BINS:
        r, g, b = taxonomy.category(category).rgb
        cv2.rectangle(frame, (x0, y0), (x1, y1), (b, g, r), -1)
        cv2.rectangle(frame, (x0 + INSET, y0 + INSET), (x1 - INSET, y1 - INSET), BAG, -1)
    return frame


def _arm(frame: np.ndarray, hand: tuple[int, int]) -> None:
    shoulder = (hand[0] + 40, SIZE[1] + 40)
    cv2.line(frame, shoulder, hand, SKIN, 26, cv2.LINE_AA)
    cv2.circle(frame, hand, 18, SKIN, -1, cv2.LINE_AA)


def _passer_by(frame: np.ndarray, t: float) -> None:
    x = int((t * 90) % (SIZE[0] + 200)) - 100
    cv2.ellipse(frame, (x, 320), (45, 38), 0, 0, 360, (60, 70, 160), -1, cv2.LINE_AA)
    cv2.circle(frame, (x, 300), 20, SKIN, -1, cv2.LINE_AA)


def render(
    path: Path,
    drops: list[Drop],
    duration_s: float,
    seed: int = 0,
    scale: int = 1,
    fps: float = FPS,
    tint: tuple[int, int, int] | None = None,
) -> Path:
    """Write the scene to ``path`` (MP4); with ``tint``, grey as a camera's infrared night mode sends it,
    each channel offset by the tint as an encoder may leave it."""
    rng = np.random.default_rng(seed)
    background = _background(rng)
    images = {d.item: _item_image(d.item) for d in drops if d.item}
    targets = [_target(d, i) for i, d in enumerate(drops)]
    size = (SIZE[0] * scale, SIZE[1] * scale)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    noise = [rng.normal(0, 2.5, (size[1], size[0], 3)).astype(np.float32) for _ in range(7)]
    for index in range(round(duration_s * fps)):
        t = index / fps
        frame = background.copy()
        for drop, target in zip(drops, targets, strict=True):
            if t >= drop.at_s and drop.item:
                _paste(frame, images[drop.item], target)
        for drop, target in zip(drops, targets, strict=True):
            if drop.starts_s <= t < drop.ends_s:
                if t < drop.at_s - HOLD_S:
                    share = (t - drop.starts_s) / REACH_S
                elif t < drop.at_s:
                    share = 1.0
                else:
                    share = 1.0 - (t - drop.at_s) / WITHDRAW_S
                hand = (target[0], round(SIZE[1] + 30 + (target[1] - SIZE[1] - 30) * share))
                if t < drop.at_s and drop.item:
                    _paste(frame, images[drop.item], (hand[0], hand[1] - 10))
                _arm(frame, (hand[0], hand[1] + 22))
        _passer_by(frame, t)
        if scale != 1:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        frame = np.clip(frame + noise[index % len(noise)], 0, 255).astype(np.uint8)
        if tint is not None:
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.int16)[..., None] + np.int16(tint)
            frame = np.clip(grey, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()
    return path


def truth(drops: list[Drop], config: SiteConfig) -> list[dict]:
    """The expected disposals, judged by the same rules the agent applies (``edge.flags``)."""
    categories = {b.id: b.category for b in config.bins}
    out = []
    for d in (d for d in drops if d.item):
        at = OFFLINE_START + timedelta(seconds=d.starts_s)
        flags = rule_flags(categories[d.bin_id], d.item, at, config.schedule)
        out.append(
            {
                "t": d.at_s,
                "bin_id": d.bin_id,
                "item": d.item,
                "category": taxonomy.category_of(d.item),
                "flags": [f.value for f in flags],
            }
        )
    return out
