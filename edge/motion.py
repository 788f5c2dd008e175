"""How much of each bin opening, and of the band around it, is moving, measured on a small
grey copy of the frame.

Frame differencing rather than a running background: a deposited item stops counting as
motion the moment it lies still, so a disposal ends when the hand is gone, not when a
background model has slowly absorbed the item. The band around the opening is watched too:
the inside of a plain coat passing over a bin does not change from frame to frame, but its
edges move through the band, so the opening is not taken for settled while it is covered.
Downscaling to ``MOTION_WIDTH`` keeps the stage far below a millisecond per bin and
averages away sensor noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

MOTION_WIDTH = 320
BAND_FRACTION = 0.15  # width of the band around an opening, of the opening's smaller side

Polygon = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class _Area:
    window: tuple[slice, slice]
    mask: np.ndarray  # of the window
    pixels: int

    def fraction(self, moving: np.ndarray) -> float:
        return cv2.countNonZero(cv2.bitwise_and(moving[self.window], self.mask)) / self.pixels


@dataclass(frozen=True)
class Motion:
    inside: float  # share of the opening's pixels that moved
    around: float  # share of the band's pixels that moved


class MotionDetector:
    """Per bin, the share of pixels whose grey level changed since the previous frame."""

    def __init__(self, frame_size: tuple[int, int], polygons: Sequence[Polygon], pixel_delta: int):
        width, height = frame_size
        self.scale = min(1.0, MOTION_WIDTH / width)
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.pixel_delta = pixel_delta
        self._areas = [self._areas_of(polygon) for polygon in polygons]
        self._previous: np.ndarray | None = None

    def _areas_of(self, polygon: Polygon) -> tuple[_Area, _Area]:
        points = np.round(np.asarray(polygon, np.float64) * self.scale).astype(np.int32)
        inside = np.zeros(self.size[::-1], np.uint8)
        cv2.fillPoly(inside, [points], 255)
        _, _, w, h = cv2.boundingRect(points)
        width = max(2, round(BAND_FRACTION * min(w, h)))
        grown = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1)))
        return _area(inside), _area(cv2.subtract(grown, inside))

    def update(self, frame_bgr: np.ndarray) -> list[Motion]:
        """This frame's motion, one per polygon (none for the first frame)."""
        small = cv2.resize(frame_bgr, self.size, interpolation=cv2.INTER_AREA) if self.scale < 1.0 else frame_bgr
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return [Motion(0.0, 0.0) for _ in self._areas]
        moving = cv2.threshold(cv2.absdiff(grey, previous), self.pixel_delta, 255, cv2.THRESH_BINARY)[1]
        return [Motion(inside.fraction(moving), band.fraction(moving)) for inside, band in self._areas]

    def reset(self) -> None:
        """Forget the previous frame (after a gap in the stream it is no baseline)."""
        self._previous = None


def _area(mask: np.ndarray) -> _Area:
    x, y, w, h = cv2.boundingRect(mask)
    window = (slice(y, y + h), slice(x, x + w))
    return _Area(window, mask[window], max(1, cv2.countNonZero(mask)))
