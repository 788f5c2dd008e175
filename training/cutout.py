"""The item without its photo's background: a foreground mask per image, computed once and cached.

A photo's background (a hand, a table, a tartan blanket, grass, a studio sweep) is evidence a
classifier can learn instead of the item, and a bin camera never shows it. GrabCut seeded from
the border (the border is background, the centre probably the item) separates the two; the
mask is cleaned to the item's connected parts and refused when it is implausible (almost
nothing, or almost everything), in which case the item fills its photo (a heap of food, a
pill shot from a hand's breadth) and the whole photo is the item.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from binwatch.datasets.images import fit_within

WORK_SIDE = 160  # GrabCut runs on the photo shrunk to this long side: 20–40 ms, and enough for an outline
BORDER = 0.05  # of each side, taken as sure background
MIN_FOREGROUND, MAX_FOREGROUND = 0.04, 0.9  # outside this share of the photo the cut failed or was not needed
ITERATIONS = 4


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """uint8 mask (255: item) at the size of ``rgb``; all 255 when the item fills the photo."""
    small = fit_within(rgb, WORK_SIDE)
    h, w = small.shape[:2]
    mask = _grabcut(small)
    share = float(np.count_nonzero(mask)) / mask.size
    if not MIN_FOREGROUND <= share <= MAX_FOREGROUND:
        return np.full(rgb.shape[:2], 255, np.uint8)
    if (h, w) != rgb.shape[:2]:
        mask = cv2.resize(mask, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
    return mask


def _grabcut(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    band_y, band_x = max(2, round(h * BORDER)), max(2, round(w * BORDER))
    seed = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    seed[h // 4 : h - h // 4, w // 4 : w - w // 4] = cv2.GC_PR_FGD
    seed[:band_y], seed[-band_y:], seed[:, :band_x], seed[:, -band_x:] = (cv2.GC_BGD,) * 4
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    try:
        cv2.grabCut(bgr, seed, (0, 0, w, h), bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a flat photo: one colour gives GrabCut's colour models nothing to fit
        return np.zeros((h, w), np.uint8)
    fg = np.where((seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    return _clean(fg)


def _clean(fg: np.ndarray) -> np.ndarray:
    """Smooth the outline, keep the large parts (a pill strip is several), fill holes."""
    side = max(3, (min(fg.shape) // 40) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    fg = cv2.morphologyEx(cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count < 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.15 * areas.max())
    fg = np.where(np.isin(labels, keep), 255, 0).astype(np.uint8)
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(fg)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


class MaskCache:
    """Masks on disk, one PNG per image named by a hash of its pixels, so that an image's mask
    is computed once for every run, fold, data set and worker that uses it."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, rgb: np.ndarray) -> Path:
        digest = hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:24]
        return self.folder / digest[:2] / f"{digest}.png"

    def get(self, rgb: np.ndarray) -> np.ndarray:
        """The mask of ``rgb``: read from disk, or computed and stored."""
        path = self.path(rgb)
        if path.is_file():
            mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if mask is not None and mask.shape == rgb.shape[:2]:
                return mask
        mask = foreground_mask(rgb)
        path.parent.mkdir(exist_ok=True)
        ok, png = cv2.imencode(".png", mask)
        if ok:  # written under a temporary name and renamed: workers racing on one image both succeed
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(png.tobytes())
            tmp.replace(path)
        return mask
