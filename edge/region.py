"""An opening's region at full resolution, and what the agent keeps of it: views.

The region is the watch's window of the small frame (``foreground.OpeningWatch``) scaled up to
the camera's resolution: the opening with a ring around it, so that a change can be seen to
stop at the rim (an item in the bin) or to run on beyond it (a body, something left on the
rim). Contents heaped above the rim are the bin's too: ``with_heap`` counts them as inside, so
that an item thrown onto the heap is told from something beyond the bin by the bin's extent. A
``View`` is that region of one frame, or the mean of a few, with the exposure's gain, so that two
views taken under different light can be compared in normalised units.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

ON_HEAP = 0.25  # an item laid on a heap rises above its outline by up to this share of the opening's smaller side


@dataclass(frozen=True)
class View:
    t: datetime
    image: np.ndarray  # BGR uint8 of the region (or float32, the mean of several)
    gain: float  # exposure of the frame(s), against the reference

    def normalised(self) -> np.ndarray:
        return self.image.astype(np.float32) * (1.0 / self.gain)


def mean_view(views: Sequence[View]) -> View:
    """The mean of several views of a still scene, at their mean exposure: less noise."""
    if len(views) == 1:
        return views[0]
    gain = float(np.mean([v.gain for v in views]))
    image = np.asarray(np.mean([v.normalised() for v in views], axis=0, dtype=np.float32) * gain, np.float32)
    return View(views[-1].t, image, gain)


class Region:
    """The window around one opening in frame coordinates, with masks of its parts."""

    def __init__(self, polygon: Sequence[tuple[int, int]], window: tuple[slice, slice], scale: float, frame_size):
        width, height = frame_size
        rows, cols = window
        self.y0, self.x0 = int(rows.start / scale), int(cols.start / scale)
        self.y1, self.x1 = min(height, round(rows.stop / scale)), min(width, round(cols.stop / scale))
        h, w = self.y1 - self.y0, self.x1 - self.x0
        points = np.asarray(polygon, np.int32) - (self.x0, self.y0)
        self.inside = np.zeros((h, w), np.uint8)
        cv2.fillPoly(self.inside, [points], 1)
        _, _, pw, ph = cv2.boundingRect(points)
        rim = max(2, round(0.08 * min(pw, ph)))
        grown = cv2.dilate(self.inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1)))
        self.beyond = (1 - grown).astype(np.uint8)  # further from the opening than the rim is wide
        # The rim: the ring just outside the opening, its blurred edge (two pixels) left out.
        edge = cv2.dilate(self.inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
        self.rim = (grown > edge).astype(bool)
        self.area = max(1, int(self.inside.sum()))
        self.opening_size = (pw, ph)

    def with_heap(self, heaped: np.ndarray, others: np.ndarray) -> Region:
        """This region with the contents heaped beyond the opening (``heaped``, a bool mask of it) counted
        as inside, and what an item laid on top of them adds to their outline (``ON_HEAP``) no longer
        beyond: an item on the heap is inside, where it rises above the heap it is neither. Sizes stay
        shares of the opening (``area``). What lies nearer to another bin's opening (``others``,
        ``nearer``) is that bin's side, never this one's."""
        heaped = heaped & ~others
        if not heaped.any():
            return self
        reach = max(1, round(ON_HEAP * min(self.opening_size)))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
        near = (cv2.dilate(heaped.astype(np.uint8), disc) > 0) & ~others
        grown = copy.copy(self)
        grown.inside = (self.inside | heaped).astype(np.uint8)
        grown.beyond = (self.beyond & ~near).astype(np.uint8)
        return grown

    def nearer(self, polygons: Sequence[Sequence[tuple[int, int]]]) -> np.ndarray:
        """A bool mask of this region: where it lies nearer to one of ``polygons`` (other openings, frame
        coordinates) than to its own opening. Those pixels are the other bins' side. A neighbour's opening
        outside the region counts too: the gap between two bins is half the neighbour's even where its
        opening lies beyond the window (the agent used to see only openings within it)."""
        h, w = self.shape
        pad = int(np.ceil(np.hypot(h, w)))  # the own opening lies within the region: farther is never nearer
        others = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
        for polygon in polygons:
            cv2.fillPoly(others, [np.asarray(polygon, np.int32) - (self.x0 - pad, self.y0 - pad)], 1)
        if not others.any():
            return np.zeros((h, w), bool)
        own = np.zeros_like(others)
        own[pad : pad + h, pad : pad + w] = self.inside
        to_own = cv2.distanceTransform(1 - own, cv2.DIST_L2, 3)
        to_others = cv2.distanceTransform(1 - others, cv2.DIST_L2, 3)
        return (to_others < to_own)[pad : pad + h, pad : pad + w]

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def cut(self, frame: np.ndarray) -> np.ndarray:
        """A copy of the region (frames are kept after the caller moves on)."""
        return frame[self.y0 : self.y1, self.x0 : self.x1].copy()

    def view(self, frame: np.ndarray, t: datetime, gain: float) -> View:
        return View(t, self.cut(frame), gain)

    def scaled(self, small: np.ndarray) -> np.ndarray:
        """A mask or map of the watch's small window, at this region's resolution."""
        h, w = self.shape
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)

    def shrunk(self, mask: np.ndarray, small_shape: tuple[int, int]) -> np.ndarray:
        """A mask of this region, as a bool mask of the watch's small window."""
        small = cv2.resize(mask.astype(np.uint8) * 255, small_shape[::-1], interpolation=cv2.INTER_AREA)
        return small > 127
