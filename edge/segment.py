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


@dataclass
class _Disposal:
    """The disposal in progress."""

    started_at: datetime
    last_motion: datetime  # in the opening
    last_stir: datetime  # in the band around it
    last_seen: datetime  # the latest frame


class Segmenter:
    def __init__(self, on_fraction: float, start_frames: int, settle_s: float, max_event_s: float):
        self.on, self.off = on_fraction, on_fraction * OFF_RATIO
        self.start_frames, self.settle_s, self.max_event_s = start_frames, settle_s, max_event_s
        self._run: list[datetime] = []  # times of the frames in a row at or above the on-threshold, while idle
        self._current: _Disposal | None = None
        self._blocked = False  # after a cut: no new disposal until the opening has been calm

    @property
    def started_at(self) -> datetime | None:
        """The start of the disposal in progress, if one is."""
        return self._current.started_at if self._current is not None else None

    def update(self, t: datetime, inside: float, around: float = 0.0) -> tuple[Role, Segment | None]:
        current = self._current
        if current is None:
            return self._idle(t, inside, around), None
        current.last_seen = t
        if around >= self.off:
            current.last_stir = t
        cut = (t - current.started_at).total_seconds() >= self.max_event_s
        if inside >= self.off:
            current.last_motion = t
            return Role.MOTION, self._finish(current, t, settled=False) if cut else None
        quiet = (t - current.last_motion).total_seconds() >= self.settle_s
        if quiet and (t - current.last_stir).total_seconds() >= self.settle_s or cut:
            return Role.STILL, self._finish(current, current.last_motion, settled=quiet)
        return Role.STILL, None

    def _idle(self, t: datetime, inside: float, around: float) -> Role:
        if inside < self.off:
            self._run.clear()
            if around < self.off:
                self._blocked = False
                return Role.REFERENCE
            return Role.MOTION
        if inside < self.on or self._blocked:
            self._run.clear()
            return Role.MOTION
        self._run.append(t)
        if len(self._run) >= self.start_frames:
            self._current = _Disposal(started_at=self._run[0], last_motion=t, last_stir=t, last_seen=t)
            self._run.clear()
        return Role.MOTION

    def _finish(self, disposal: _Disposal, ended_at: datetime, settled: bool) -> Segment:
        self._current = None
        self._blocked = not settled
        return Segment(disposal.started_at, ended_at, settled)

    def close(self) -> Segment | None:
        """The stream ended: the disposal in progress, if any, settled if the opening was quiet last."""
        current = self._current
        if current is None:
            return None
        return self._finish(current, current.last_motion, settled=current.last_seen > current.last_motion)
