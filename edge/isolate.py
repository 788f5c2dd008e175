"""Find the newly deposited item: what stays changed in the opening once the motion stops.

An arm over the opening is motion and leaves nothing behind; the item is the largest
connected region that differs between the settled opening before the disposal and the
settled opening after it. The difference is taken per colour channel, so an item as
bright as the bag it lies on, but of another hue, is still found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

CROP_MARGIN = 0.12  # of the item's size, each side: the evidence crop shows a reviewer some context


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def grown(self, margin: float, bounds: tuple[int, int]) -> Box:
        """Enlarged by ``margin`` of its size on each side, clipped to ``bounds`` (width, height)."""
        mx, my = max(2, round(self.w * margin)), max(2, round(self.h * margin))
        x0, y0 = max(0, self.x - mx), max(0, self.y - my)
        x1, y1 = min(bounds[0], self.x + self.w + mx), min(bounds[1], self.y + self.h + my)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.y : self.y + self.h, self.x : self.x + self.w]


class Opening:
    """A bin opening's bounding rectangle in the frame, with its polygon as a mask."""

    def __init__(self, polygon: Sequence[tuple[int, int]]):
        points = np.asarray(polygon, np.int32)
        x, y, w, h = cv2.boundingRect(points)
        self.box = Box(x, y, w, h)
        self.mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(self.mask, [points - (x, y)], 255)
        self.area = max(1, cv2.countNonZero(self.mask))

    def cut(self, frame: np.ndarray) -> np.ndarray:
        """A copy of the opening's rectangle (frames are kept after the caller moves on)."""
        return self.box.cut(frame).copy()


@dataclass(frozen=True)
class Found:
    """The new item: its bounding box in the opening's coordinates, and within that box a
    mask of its outline (the convex hull of what changed, so that parts of the item that
    happen to look like what lay beneath still count as item)."""

    box: Box
    mask: np.ndarray


def changed_region(
    before: np.ndarray, after: np.ndarray, opening: Opening, pixel_delta: int, min_fraction: float
) -> Found | None:
    """The largest region of the opening that changed between ``before`` and ``after``, or
    ``None`` when nothing of at least ``min_fraction`` of the opening did."""
    diff = cv2.GaussianBlur(cv2.absdiff(before, after).max(axis=2), (5, 5), 0)
    changed = cv2.threshold(diff, pixel_delta, 255, cv2.THRESH_BINARY)[1]
    changed = cv2.bitwise_and(changed, opening.mask)
    side = max(3, (min(opening.box.w, opening.box.h) // 25) | 1)
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    changed = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[largest])
    if area < min_fraction * opening.area:
        return None
    outline, _ = cv2.findContours(
        (labels[y : y + h, x : x + w] == largest).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [cv2.convexHull(np.vstack(outline))], 255)
    return Found(Box(x, y, w, h), mask)


def item_crops(found: Found, regions: Sequence[np.ndarray], count: int, fill: int) -> list[np.ndarray]:
    """RGB crops of the item from up to ``count`` settled views spread over ``regions`` (BGR).

    Everything around the item's outline is painted ``fill`` (the model's letterbox grey):
    the items that already lie in the bin are not what is being classified, and a
    classifier trained on photos of single items is easily swayed by them.
    """
    if not regions:
        return []
    picks = np.unique(np.linspace(0, len(regions) - 1, min(count, len(regions))).round().astype(int))
    out = []
    for i in picks:
        crop = found.box.cut(regions[i]).copy()
        crop[found.mask == 0] = fill
        out.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    return out
