"""Mixed collection (Art. 18): bins of different categories emptied into one collector's container.

A collection zone (``[[zones]]`` of kind ``collection``) is drawn round where a collector's
container (a wheeled bin or cart) stands while bins are emptied into it. One ``ContainerWatch``
per zone tells when a container is there, with the ground zones' machinery (``ground.StillZone``):
a long-term background that never takes in what stands out, people told apart by their motion.

* **There.** Pixels of the zone that have stood out, unmoved, for ``collection.stay_s`` cover at
  least ``collection.min_share`` of it: something the size of a container stands there and
  nobody moves it. Unmoved pixel by pixel, not blob by blob as litter must be: the worker
  emptying the bin next to the container touches it in the picture, and it is there all the
  same. A blob that rises beyond the zone (a person standing in it) does not count; one walking
  through moves.
* **Gone.** Less than half of ``min_share`` of the zone stands out any more for
  ``collection.gone_s``: it was wheeled away. A worker standing in front of it keeps it there.

``Collections`` pairs the agent's emptyings (``contents.py``) with the container that stood in a
zone while they happened. A container's visit is judged ``CONCLUDE_S`` after it left (an
emptying is concluded only once its bin is quiet again), or ``collection.max_s`` after its first
emptying: bins of two or more categories emptied into it make one mixed collection. Bins of one
category, or one container wheeled in per category, make none. Emptyings with no container in
view are no mixed collection: nothing shows where their bags went (a worker may carry each to a
truck of its own out of view), so the agent does not guess; they stay ``emptying`` events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import cv2
import numpy as np

from binwatch.edge.config import BinConfig, CollectionConfig, ZoneConfig
from binwatch.edge.ground import StillZone
from binwatch.edge.isolate import Box
from binwatch.edge.motion import SmallFrame
from binwatch.events.schema import CategoryKey

EARLIEST = 25  # a container came when this percentile of its pixels began to stand out (not a stray pixel's)
CONCLUDE_S = 6.0  # a visit is judged this long after its container left: the last emptying is concluded by then
LOOSE_S = 60.0  # an emptying no container has claimed waits this long for one to be confirmed (and its clip with it)


@dataclass(frozen=True)
class Emptied:
    """One emptying the agent found: the bin and the worker's time at it."""

    bin: BinConfig
    started_at: datetime
    ended_at: datetime


@dataclass(eq=False)
class Visit:
    """A container in a collection zone, from being wheeled in (``began``) to being wheeled away; one
    object, equal only to itself (its snapshot is an array: see ``ground.Litter``)."""

    zone: ZoneConfig
    began: datetime  # the zone first showed it (it was wheeled in)
    confirmed_at: datetime
    box: Box  # the container, in frame coordinates
    frame: np.ndarray  # the frame that confirmed it: the snapshot
    left_at: datetime | None = None
    emptied: list[Emptied] = field(default_factory=list)

    @property
    def categories(self) -> list[CategoryKey]:
        return sorted({e.bin.category for e in self.emptied})

    @property
    def mixed(self) -> bool:
        return len(self.categories) >= 2


class ContainerWatch(StillZone):
    """Whether a container stands in one collection zone."""

    def __init__(
        self,
        zone: ZoneConfig,
        scale: float,
        small_size: tuple[int, int],
        delta: float,
        rules: CollectionConfig,
        openings: Sequence[Sequence[tuple[int, int]]] = (),
    ):
        super().__init__(zone, scale, small_size, delta, openings)
        self.rules = rules
        self.visit: Visit | None = None  # the container standing there now
        self._gone_since: datetime | None = None

    def _stillness(
        self, out: np.ndarray, moving: np.ndarray, labels: np.ndarray, upright: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unmoved pixel by pixel: what somebody at work touches (their blob moves) can still keep still. Nothing
        waits: a container is there or not."""
        return out & ~moving & ~upright[labels], np.zeros(out.shape, bool)

    def update(self, small: SmallFrame, frame: np.ndarray, t: datetime, seconds: float) -> Visit | None:
        """This frame; returns a visit that has just begun or just ended (``left_at`` set)."""
        out = self.observe(small, t, seconds)
        if self.visit is None:
            standing = self.inside & (seconds - self.still_since >= self.rules.stay_s)
            if np.count_nonzero(standing) < self.rules.min_share * self.area:
                return None
            x, y, w, h = cv2.boundingRect(standing.astype(np.uint8))
            stats = np.array([x, y, w, h, 0])  # the order of cv2.CC_STAT_*
            began = self.at(float(np.percentile(self.out_since[standing], EARLIEST)))
            self.visit = Visit(self.zone, began, t, self._box(stats), frame.copy())
            self._gone_since = None
            return self.visit
        if out[self.inside].mean() >= self.rules.min_share / 2:
            self._gone_since = None
            return None
        self._gone_since = self._gone_since or t
        if (t - self._gone_since).total_seconds() < self.rules.gone_s:
            return None
        left, self.visit = self.visit, None
        left.left_at = self._gone_since
        return left


class Collections:
    """Emptyings paired with the containers in the collection zones; mixed visits out."""

    def __init__(self, watches: list[ContainerWatch], rules: CollectionConfig):
        self.watches, self.rules = watches, rules
        self.visits: list[Visit] = []  # not yet judged
        self._loose: list[Emptied] = []  # emptyings no container has claimed yet (it may be confirmed later)

    def emptied(self, b: BinConfig, started_at: datetime, ended_at: datetime) -> None:
        """The agent found bin ``b`` emptied by somebody at it from ``started_at`` to ``ended_at``."""
        emptying = Emptied(b, started_at, ended_at)
        visit = self._claimant(emptying)
        if visit is None:
            self._loose.append(emptying)
        else:
            visit.emptied.append(emptying)

    def update(self, small: SmallFrame, frame: np.ndarray, t: datetime, seconds: float) -> list[Visit]:
        """This frame; returns the visits judged now that were mixed."""
        for watch in self.watches:
            visit = watch.update(small, frame, t, seconds)
            if visit is not None and visit.left_at is None:  # a container has come: the emptyings it saw are its
                self.visits.append(visit)
                mine = [e for e in self._loose if self._claimant(e) is visit]
                visit.emptied += mine
                self._loose = [e for e in self._loose if e not in mine]
        self._loose = [e for e in self._loose if t - e.ended_at < timedelta(seconds=LOOSE_S)]
        horizon = timedelta(seconds=self.rules.max_s)
        judged = []
        for visit in list(self.visits):
            if visit.left_at is not None and t - visit.left_at >= timedelta(seconds=CONCLUDE_S):
                self.visits.remove(visit)
                judged.append(visit)
            elif visit.emptied and t - visit.emptied[0].ended_at >= horizon:  # a container that stays:
                judged.append(replace(visit, emptied=list(visit.emptied)))  # judged so far; what it gets next
                visit.emptied.clear()  # is judged on its own
        return [v for v in judged if v.mixed]

    def close(self) -> list[Visit]:
        """The stream ended: every visit is judged as it stands; returns the mixed ones."""
        judged, self.visits = self.visits, []
        return [v for v in judged if v.mixed]

    def keep_from(self) -> datetime | None:
        """The earliest moment a clip still to be written needs (the first emptying of an open visit)."""
        starts = [v.emptied[0].started_at for v in self.visits if v.emptied]
        starts += [e.started_at for e in self._loose]
        return min(starts, default=None)

    def _claimant(self, emptying: Emptied) -> Visit | None:
        """The visit whose container stood in its zone while ``emptying`` went on; of several, the one
        whose zone lies nearest the bin."""
        present = [
            v
            for v in self.visits
            if v.began <= emptying.ended_at and (v.left_at is None or emptying.started_at <= v.left_at)
        ]
        centre = np.mean(np.asarray(emptying.bin.polygon, np.float64), axis=0)
        return min(
            present,
            key=lambda v: float(np.linalg.norm(np.mean(np.asarray(v.zone.polygon, np.float64), axis=0) - centre)),
            default=None,
        )
