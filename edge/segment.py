"""One disposal, one segment: when it starts, and when the opening is clear again.

A disposal starts when the share of the opening that moves, or that is covered by something
reaching over the rim, stays at or above the on-threshold for ``start_frames`` frames (a single
flicker does not start one; an arm in the dark, too dim to show as motion, still covers the
opening). Something came in if it reached over the rim, or if the opening moved just after the ring
around it did (an item thrown from a step away crosses the rim between two frames); after a disposal
cut short, only motion starts the next one, not what stays over the rim. It ends only
when both hold: the opening has been quiet (below the off-threshold, half the on-threshold)
for ``settle_s`` seconds, and nothing has reached over its rim for ``CLEAR_S`` seconds. A hand
that hesitates over the opening, a person leaning over the bin or standing in front of it,
an arm that keeps still in the dark: each is still over the rim, so none of them is taken for
the view after the disposal, however long it keeps still. The frames that end a segment are
therefore clear views of the opening, the "after" for ``isolate``. Times, not frame counts,
measure everything: a live stream drops frames.

A segment also keeps its reaches: each time a hand went into the far half of the opening (the half
beyond its centre from where the person comes over the rim, which head and torso leave to the hand)
and stayed there (covering it at the on-threshold, and ``REACH_SHARE`` of the most it covered so far)
for ``REACH_S``, until it had not for ``CLEAR_S``, as the opening must be clear for a disposal to end: a
head bending over it and the arm going in past the head leave it for a moment, a hand going out for the
next item for longer. A head or shoulders bent over the opening may keep a little of the far half
covered while the hand is out: the next reach begins only when the cover rises above a third of what
the reach before covered at its most (until the far half is clear, below the off-threshold, for
``CLEAR_S``), and it is a reach of its own only if it covers ``1 / REACH_SHARE`` times what stayed
between them, or it is the one before going on (a head bent over the far half first, then the hand
going in past it). A reach covered at its most at least ``REACH_SHARE`` of what the
disposal's largest reach covered: one arm reaches each time, while the edge of a body walking up or
away covers a sliver. Two items a person drops one after the other may come to light only together,
as one region; the hand that went out for the second one still shows two reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

import numpy as np

OFF_RATIO = 0.5
CLEAR_S = 0.4  # nothing over the rim for this long: the opening is clear
REACH_S = 0.5  # a hand that lets something go stays in the opening this long: passers-by are quicker
REACH_SHARE = 1 / 3  # of a reach's (or the largest reach's) cover of the far half: less is a head or a body's edge


class Role(Enum):
    """What a frame is to the bin: the agent keeps frames according to it."""

    REFERENCE = "reference"  # no disposal going on, the opening quiet and clear: the opening as it is "before"
    MOTION = "motion"  # something moves in the opening or reaches over its rim
    STILL = "still"  # a disposal is going on, but the opening is quiet and clear: a candidate "after"


@dataclass(frozen=True)
class Segment:
    started_at: datetime
    ended_at: datetime  # the last motion in the opening or over its rim
    settled: bool  # False: cut short (too long, or the stream ended) while the opening was busy
    reached_in: bool  # something came over the rim (or through the ring around it) during it: else no item came
    reach_s: float = 0.0  # how long something reaching over the rim covered the opening (on-threshold)
    reaches: tuple[tuple[datetime, datetime], ...] = ()  # from when to when a hand was in the far half


@dataclass
class _Reach:
    """A hand in the far half of an opening."""

    began: datetime
    held: datetime  # the latest frame it covered the far half, by ``REACH_SHARE`` of its most so far
    most: float  # the largest share of the far half it covered
    inside_s: float = 0.0  # seconds between its frames that covered ``REACH_SHARE`` of its most so far
    valley: float = 0.0  # what covered the far half (the median) between the reach before and this one


@dataclass
class _Disposal:
    """The disposal in progress."""

    started_at: datetime
    last_motion: datetime  # in the opening
    last_over: datetime  # something over the rim
    last_seen: datetime  # the latest frame
    reached_in: bool
    reach_s: float = 0.0
    reaches: list[_Reach] = field(default_factory=list)
    reach: _Reach | None = None  # the reach going on
    rest: float = 0.0  # what stays over the far half while the hand is out: a next reach rises above it
    out: list[float] = field(default_factory=list)  # the far half's cover since a hand was last there
    far_seen: datetime | None = None  # the latest frame anything covered the far half (off-threshold): clear since

    def track_reach(self, t: datetime, dt: float, far: float, on: float, off: float) -> None:
        """One frame of the far half: a reach goes on while it is covered (at the on-threshold, above what stayed
        after the reach before, and by ``REACH_SHARE`` of its own most), and ends once it has not been for
        ``CLEAR_S``."""
        if far >= off:
            self.far_seen = t
        clear = self.far_seen is None or (t - self.far_seen).total_seconds() >= CLEAR_S
        if clear:
            self.rest, self.out = 0.0, []
        reach = self.reach
        if reach is None:
            if far >= max(on, self.rest):  # its time in counts between its frames, not before the first
                valley = float(np.median(self.out)) if self.out and self.rest else 0.0
                self.reach, self.out = _Reach(t, t, far, valley=valley), []
            else:
                self.out.append(far)
            return
        if far >= on:
            reach.most = max(reach.most, far)
        if far >= max(on, self.rest, REACH_SHARE * reach.most):
            reach.held, reach.inside_s, self.out = t, reach.inside_s + dt, []
        else:
            self.out.append(far)
        if (t - reach.held).total_seconds() >= CLEAR_S:
            self.end_reach(stays=not clear)

    def end_reach(self, stays: bool = False) -> None:
        """The reach going on ends; it counts if it was in for ``REACH_S``. ``stays``: something still covers the
        far half (a head): after a reach that counts, a next one must rise above a third of it."""
        reach = self.reach
        if reach is not None and reach.inside_s >= REACH_S:
            self.reaches.append(reach)
            self.rest = REACH_SHARE * reach.most
        if not stays:
            self.rest, self.out = 0.0, []
        self.reach = None

    def hands(self) -> tuple[tuple[datetime, datetime], ...]:
        """The reaches that covered the far half as a hand does: a share of what the largest covered. A reach
        that rose from what stayed between it and the one before by less than ``1 / REACH_SHARE`` times went on
        from it: a head bending over first, then the hand going in past it."""
        joined: list[tuple[datetime, datetime, float]] = []
        for r in self.reaches:
            if joined and r.valley > REACH_SHARE * r.most:
                began, _, most = joined.pop()
                joined.append((began, r.held, max(most, r.most)))
            else:
                joined.append((r.began, r.held, r.most))
        largest = max((most for _, _, most in joined), default=0.0)
        return tuple((began, held) for began, held, most in joined if most >= REACH_SHARE * largest)


class Segmenter:
    def __init__(self, on_fraction: float, start_frames: int, settle_s: float, max_event_s: float):
        self.on, self.off = on_fraction, on_fraction * OFF_RATIO
        self.start_frames, self.settle_s, self.max_event_s = start_frames, settle_s, max_event_s
        self._run: list[datetime] = []  # times of the frames in a row at or above the on-threshold, while idle
        self._reached = False  # the run began with something over the rim
        self._current: _Disposal | None = None
        self._blocked = False  # after a cut: only motion starts a new disposal, until the opening has been calm
        self._ring_moved: datetime | None = None  # the latest frame the ring around the opening moved
        self._moved_at: datetime | None = None  # while blocked: the latest frame the opening moved (on-threshold)

    @property
    def started_at(self) -> datetime | None:
        """The start of the disposal in progress, if one is."""
        return self._current.started_at if self._current is not None else None

    def update(
        self,
        t: datetime,
        moving: float,
        over_rim: bool = False,
        reaching_in: float = 0.0,
        reaching_far: float = 0.0,
        moving_ring: float = 0.0,
    ) -> tuple[Role, Segment | None]:
        """One frame: the share of the opening ``moving``, whether something is ``over_rim``, the share of
        the opening it covers (``reaching_in``) and of its far half (``reaching_far``), and the share of the
        ring around the opening that moved (``moving_ring``)."""
        if moving_ring >= self.on:
            self._ring_moved = t
        # An item thrown in from a step away crosses the rim between two frames, never seen on it: what moves
        # in the opening just after something moved in the ring around it came in from outside as well.
        ring = self._ring_moved is not None and (t - self._ring_moved).total_seconds() <= CLEAR_S
        came_in = over_rim or (ring and moving >= self.on)
        current = self._current
        if current is None:
            return self._idle(t, moving, over_rim, reaching_in, came_in), None
        dt = (t - current.last_seen).total_seconds()
        if reaching_in >= self.on:
            current.reach_s += dt
        current.track_reach(t, dt, reaching_far, self.on, self.off)
        current.last_seen = t
        if over_rim:
            current.last_over = t
        current.reached_in |= came_in
        if moving >= self.off:
            current.last_motion = t
        if (t - current.started_at).total_seconds() >= self.max_event_s:
            return Role.MOTION, self._finish(current, max(current.last_motion, current.last_over), settled=False)
        busy = moving >= self.off or over_rim
        quiet = (t - current.last_motion).total_seconds() >= self.settle_s
        clear = (t - current.last_over).total_seconds() >= CLEAR_S
        if quiet and clear:
            return Role.STILL, self._finish(current, max(current.last_motion, current.last_over), settled=True)
        return (Role.MOTION if busy else Role.STILL), None

    def _idle(self, t: datetime, moving: float, over_rim: bool, reaching_in: float, came_in: bool) -> Role:
        entering = max(moving, reaching_in)
        if entering < self.off:
            self._run.clear()
            if over_rim or moving >= self.off:
                return Role.MOTION
            self._blocked = False
            return Role.REFERENCE
        stirred = self._stirred(t, moving)
        if self._blocked and moving >= self.on:
            self._moved_at = t
        if entering < self.on or (self._blocked and not stirred):
            self._run.clear()
            return Role.MOTION
        if not self._run:
            self._reached = False
        self._run.append(t)
        self._reached |= came_in
        if len(self._run) >= self.start_frames:
            start = self._run[0]
            self._current = _Disposal(start, t, t if self._reached else start, t, self._reached)
            self._run.clear()
        return Role.MOTION

    def _stirred(self, t: datetime, moving: float) -> bool:
        """After a cut, while something stays over the rim (a bystander, a swaying shadow), a disposal starts
        only from motion that follows ``settle_s`` below the on-threshold: a hand coming, not the endless
        motion that was cut.
        A disposal while the opening stays covered is still one."""
        if moving < self.on:
            return False
        calm = self._moved_at is None or (t - self._moved_at).total_seconds() >= self.settle_s
        return bool(self._run) or calm

    def _finish(self, disposal: _Disposal, ended_at: datetime, settled: bool) -> Segment:
        self._current = None
        self._blocked, self._moved_at = not settled, disposal.last_motion
        disposal.end_reach()
        return Segment(disposal.started_at, ended_at, settled, disposal.reached_in, disposal.reach_s, disposal.hands())

    def after_gap(self) -> None:
        """The stream was interrupted: a reach going on ends at its last frame (the gap is no time in)."""
        if self._current is not None:
            self._current.end_reach()

    def close(self) -> Segment | None:
        """The stream ended: the disposal in progress, if any, settled if the opening was quiet last."""
        current = self._current
        if current is None:
            return None
        last = max(current.last_motion, current.last_over)
        return self._finish(current, last, settled=current.last_seen > last)
