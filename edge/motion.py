"""Each frame, once, small: shrunk to ``MOTION_WIDTH`` pixels wide, divided by its exposure's gain
(``light.Exposure``) and differenced against the previous frame.

Frame differencing says what moves; ``foreground.OpeningWatch`` compares the same small frame
with a background to say what is there. Both work on normalised pixels, so an auto-exposure
jump or a darker evening changes neither; the threshold for "moving" is a floor in those units,
raised to ``NOISE_SIGMAS`` times the noise measured in them when the picture is noisier.
Downscaling keeps the stage near a millisecond per frame and averages sensor noise away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from binwatch.edge.light import Exposure, difference, exposure_stepped

MOTION_WIDTH = 320
NOISE_SIGMAS = 4.0  # a change is real when it exceeds this many standard deviations of the noise


@dataclass(frozen=True)
class SmallFrame:
    """One frame as the motion stage sees it."""

    image: np.ndarray  # BGR uint8, as the camera gave it (only smaller)
    moving: np.ndarray  # uint8 0/255: changed since the previous frame
    gain: float  # exposure against the reference (1: as the first frame); divide by it to normalise
    noise: float  # standard deviation of one normalised small pixel
    threshold: float  # the change, in normalised grey levels, that counted as moving
    exposure_step: bool = False  # the exposure stepped since the previous frame: ``moving`` may be the light's
    motion_known: bool = True  # False on the first frame after a start or a gap: no previous frame, ``moving`` is empty


def small_points(polygon: Sequence[tuple[int, int]], scale: float) -> np.ndarray:
    """A polygon of the camera frame as int32 points of the small frame (``scale``: small over full)."""
    return np.round(np.asarray(polygon, np.float64) * scale).astype(np.int32)


class MotionDetector:
    """Shrinks, normalises and differences frames; ``scale`` maps frame pixels to small ones."""

    def __init__(self, frame_size: tuple[int, int], pixel_delta: float):
        width, height = frame_size
        self.scale = min(1.0, MOTION_WIDTH / width)
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.pixel_delta = pixel_delta
        self.exposure = Exposure()
        self._previous: tuple[np.ndarray, float] | None = None

    def update(self, frame_bgr: np.ndarray) -> SmallFrame:
        small = cv2.resize(frame_bgr, self.size, interpolation=cv2.INTER_AREA) if self.scale < 1.0 else frame_bgr
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        gain = self.exposure.update(grey)
        threshold = max(self.pixel_delta, NOISE_SIGMAS * np.sqrt(2) * self.exposure.noise)
        previous, self._previous = self._previous, (grey, gain)
        if previous is None or previous[0].shape != grey.shape:
            moving, step, known = np.zeros(grey.shape, np.uint8), False, False
        else:
            moved = difference(grey, gain, *previous)
            moving = cv2.threshold(moved, threshold, 255, cv2.THRESH_BINARY)[1].astype(np.uint8)
            step, known = exposure_stepped(gain, previous[1], threshold), True
        return SmallFrame(small, moving, gain, self.exposure.noise, threshold, step, known)

    def reset(self) -> None:
        """Forget the previous frame (after a gap in the stream it is no baseline)."""
        self._previous = None
        self.exposure.reset()
