"""One disposal, one event: hysteresis over a bin's moving fractions.

A disposal starts when the share of moving pixels in the opening stays at or above the
on-threshold for ``start_frames`` frames (a single flicker does not start one). It ends once
the opening has stayed below the off-threshold (half the on-threshold) for ``settle_s``
seconds, so that a hand that hesitates over the opening does not split one disposal in two,
and once the band around the opening has been as quiet for as long: something large
passing over the bin is still there while its edges move. Times, not frame counts, measure
the settling: a live stream drops frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

OFF_RATIO = 0.5


class Role(Enum):
    """What a frame is to the bin: the agent keeps frames according to it."""

    REFERENCE = "reference"  # calm, no disposal going on: the opening as it is "before"
    MOTION = "motion"  # something moves in the opening (or, between disposals, around it)
    STILL = "still"  # a disposal is going on but the opening is quiet: a candidate "after"


@dataclass(frozen=True)
class Segment:
    started_at: datetime
    ended_at: datetime  # the last motion in the opening
    settled: bool  # False: cut short (too long, or the stream ended) while the opening still moved


class Segmenter:
    def __init__(self, on_fraction: float, start_frames: int, settle_s: float, max_event_s: float):
        self.on, self.off = on_fraction, on_fraction * OFF_RATIO
        self.start_frames, self.settle_s, self.max_event_s = start_frames, settle_s, max_event_s
        self._run = 0
        self._run_start: datetime | None = None
        self._started: datetime | None = None
        self._last_motion: datetime | None = None  # in the opening
        self._last_stir: datetime | None = None  # in the band around it
        self._last_t: datetime | None = None
        self._blocked = False  # after a cut: no new disposal until the opening has been calm

    @property
    def started_at(self) -> datetime | None:
        """The start of the disposal in progress, if one is."""
        return self._started

    def update(self, t: datetime, inside: float, around: float = 0.0) -> tuple[Role, Segment | None]:
        self._last_t = t
        if self._started is None:
            return self._idle(t, inside, around), None
        if around >= self.off:
            self._last_stir = t
        cut = (t - self._started).total_seconds() >= self.max_event_s
        if inside >= self.off:
            self._last_motion = t
            return Role.MOTION, self._finish(t, settled=False) if cut else None
        quiet = (t - self._last_motion).total_seconds() >= self.settle_s
        if quiet and (t - self._last_stir).total_seconds() >= self.settle_s or cut:
            return Role.STILL, self._finish(self._last_motion, settled=quiet)
        return Role.STILL, None

    def _idle(self, t: datetime, inside: float, around: float) -> Role:
        if inside < self.off:
            self._run = 0
            if around < self.off:
                self._blocked = False
                return Role.REFERENCE
            return Role.MOTION
        if inside < self.on or self._blocked:
            self._run = 0
            return Role.MOTION
        self._run += 1
        if self._run == 1:
            self._run_start = t
        if self._run >= self.start_frames:
            self._started, self._last_motion, self._last_stir, self._run = self._run_start, t, t, 0
        return Role.MOTION

    def _finish(self, ended_at: datetime, settled: bool) -> Segment:
        segment = Segment(self._started, ended_at, settled)
        self._started = self._last_motion = self._last_stir = None
        self._blocked = not settled
        return segment

    def close(self) -> Segment | None:
        """The stream ended: the disposal in progress, if any, settled if the opening was quiet last."""
        if self._started is None:
            return None
        return self._finish(self._last_motion, settled=self._last_t > self._last_motion)
