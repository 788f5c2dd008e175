"""``binwatch data scene-crops``: training crops cut from simulated scenes exactly as the agent cuts them.

The scene simulator (``binwatch scenario``) drops training photos into bins on video, with arms,
shadows, drifting light, sensor noise and a real video codec; its truth says which photo landed
where and when. For each disposal the opening before the arm came and the settled opening after
it left go through the agent's own isolation (``agent_crops``), and the crops it would classify
are written as a data set (``manifest.csv``) labelled with the photo's item. Each crop keeps its
photo's source and group, so training leaves it out whenever that photo's source or group is
held out (``--extra-data`` in ``binwatch train`` and ``binwatch loso``).

Only the simulator's public entry points are used (``render_scenario``, ``truth.load``): the
truth format is documented, and a rewritten simulator that keeps it keeps this working.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import tempfile
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets import manifest
from binwatch.datasets.images import encode_jpeg
from binwatch.datasets.manifest import MANIFEST_COLUMNS
from binwatch.edge.simulator import truth as scene_truth
from binwatch.edge.simulator.scenario import render_scenario
from binwatch.training.agent_crops import agent_crops

log = logging.getLogger(__name__)
BEFORE_S = 0.25  # the reference: this long before the arm enters
SETTLE_S = 0.5  # the settled views: from this long after the arm leaves …
STILL_S = 1.0  # … for this long, and never into the next reach
SOURCE_CLASS = "scene-crops"


def _frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The RGB frames of ``video`` whose indices are ``wanted``, read in one pass."""
    capture = cv2.VideoCapture(str(video))
    frames: dict[int, np.ndarray] = {}
    index, last = 0, max(wanted, default=-1)
    try:
        while index <= last:
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
    return frames


def crops_of_scene(folder: Path, per_disposal: int, fill: int) -> list[tuple[int, str, str, np.ndarray]]:
    """(disposal id, photo path, item, crop) for each disposal of a rendered scene the agent would see."""
    truth = scene_truth.load(folder / "truth.json")
    fps = truth.fps or 15.0
    starts = sorted(d.t_start for d in truth.disposals if d.t_start is not None)
    plans = []
    for d in truth.disposals:
        if d.t_start is None or d.t_end is None or not d.item or not d.image:
            continue
        later = [t for t in starts if t > d.t_end]
        until = min([d.t_end + SETTLE_S + STILL_S, *(t - 0.1 for t in later[:1])])
        before = int((d.t_start - BEFORE_S) * fps)
        still = list(range(int(np.ceil((d.t_end + SETTLE_S) * fps)), int(until * fps) + 1))
        if before >= 0 and still:
            plans.append((d, before, still))
    frames = _frames(folder / (truth.video or "scene.mp4"), {f for _, b, s in plans for f in (b, *s)})
    out = []
    for d, before, still in plans:
        views = [frames[f] for f in still if f in frames]
        if before not in frames or not views:
            continue
        polygon = truth.bin(d.bin_id).polygon
        for crop in agent_crops(frames[before], views, polygon, per_disposal, fill):
            out.append((d.id, str(d.image), str(d.item), crop))
    return out


def scene_crops(
    data: str | Path,
    out: str | Path,
    scenes: int = 1,
    disposals: int = 100,
    seed: int = 0,
    size: tuple[int, int] = (1280, 720),
    per_disposal: int = 2,
    fill: int = 128,
) -> dict:
    """Render ``scenes`` scenes of ``disposals`` photos of ``data`` and write the agent's crops of
    them to ``out`` (``images/<item>/…jpg`` and ``manifest.csv``)."""
    out = Path(out)
    if (out / manifest.MANIFEST_NAME).exists():  # a data set, maybe the one the photos come from
        raise ValueError(f"{out}: already holds a {manifest.MANIFEST_NAME}; write the crops to a new folder")
    source = manifest.load(data)
    by_path = {s.path: s for s in source.samples}
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows, missed = [], 0
    for k in range(scenes):
        with tempfile.TemporaryDirectory() as tmp:
            render_scenario(source, tmp, disposals, bins=4, seed=seed + k, split="all", size=size, passers=0.1)
            found = crops_of_scene(Path(tmp), per_disposal, fill)
        missed += disposals - len({disposal for disposal, _, _, _ in found})
        for j, (_, path, item, crop) in enumerate(found):
            photo = by_path[path]
            jpeg = encode_jpeg(crop, 90)
            rel = f"images/{item}/s{seed + k}-{j:04d}.jpg"
            (out / rel).parent.mkdir(exist_ok=True)
            (out / rel).write_bytes(jpeg)
            rows.append(
                {
                    "path": rel,
                    "category": photo.category,
                    "item": item,
                    "source": photo.source,
                    "source_class": SOURCE_CLASS,
                    "width": crop.shape[1],
                    "height": crop.shape[0],
                    "sha256": hashlib.sha256(jpeg).hexdigest(),
                    "orig_path": path,
                    "orig_sha256": "",
                    "group": photo.group,
                }
            )
        log.info("scene %d: %d crops", seed + k, len(found))
    if not rows:
        raise ValueError("the agent isolated no item in any scene: nothing to write")
    with (out / manifest.MANIFEST_NAME).open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    sides = [max(r["width"], r["height"]) for r in rows]
    return {"crops": len(rows), "disposals_without_item": missed, "median_long_side": float(np.median(sides))}
