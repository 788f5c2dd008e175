"""What happens when: every visit of a person to a bin and every passer-by, in frames, planned
before a single pixel is drawn, so that the truth file and the video come from one plan.

The plan says nothing about pixels. Places are given on a bin's opening in relative terms
(``(u, v)``: across, from the far rim to the near one) and sizes as shares of the opening's
width, so the same plan can be drawn by either camera style (``oblique`` or ``top``).

Visits never overlap: each disposal in the truth has exactly one arm, and the truth stays
unambiguous. A visit is a person who walks up to one bin and then either throws one or two
items (``disposal``: one reach, two items let go at once, or two reaches a few seconds apart),
stands there and throws nothing (``bystander``), lifts the full bag out (``emptying``), or tips
a sack of loose waste in (``load``: the bin fills up, and past full the waste heaps above the rim).
Scene time is anchored to a wall clock so that the morning collection window closes mid-scene
and the last disposals fall outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from binwatch.datasets.manifest import Sample
from binwatch.edge.simulator.conditions import Conditions

ALLOWED_HOURS = ["06:30-09:00", "18:00-21:00"]  # a typical timed drop-off schedule
WINDOW_CLOSES = time(9, 0)
SCENE_DATE = date(2026, 5, 18)
LEAD_IN_S, LEAD_OUT_S = 4.0, 4.0  # quiet at both ends: a background model needs a moment to settle
BOUNDARY_GAP_S = 8.0  # the idle gap in which the window closes, so no visit straddles it
ITEM_SIZE = (0.22, 0.38)  # an item's long side, as a share of the opening's width: real sizes
FALL_S = 0.2  # from letting go to lying in the bin
REST_TRIES = 100  # draws for a second item's place apart from the first before taking the farthest corner
QUEUE_MAX = 4  # residents in a queue at most
QUEUE_GOES_ON = 0.6  # chance that one more resident joins a queue
QUEUE_OVERLAP_S = 0.8  # the next one walks in this long before the one at the bin walks off
LITTER_STAYS_S = (25.0, 70.0)  # litter that is taken away lies this long first
LITTER_SIZE = {"bag": (0.4, 0.6), "box": (0.38, 0.55)}  # long side, in bin widths
FILL_PER_ITEM = 0.012  # how much an item of the usual size (0.3 of the opening) fills a bin, by height
ITEMS_FILL_TO = 0.95  # single items never bring a bin past this: it takes a load to fill it
LOAD_FILL = (0.25, 0.4)  # how much a sack of loose waste fills a bin, by height
FULL = 1.0  # the contents have reached the rim: the bin is full, and more heaps above it
COLLECTION_BINS = (2, 3)  # a mixed collection empties this many bins into one container
CONTAINER_COLOURS = ((60, 110, 60), (120, 120, 120), (150, 100, 50), (50, 60, 140))  # BGR: green, grey, blue, red

SKIN_TONES = ((150, 180, 224), (120, 160, 205), (95, 130, 180), (70, 100, 150), (160, 195, 235))  # BGR
CLOTHES = (
    (60, 60, 60),
    (140, 80, 30),
    (40, 40, 130),
    (200, 200, 200),
    (60, 110, 60),
    (30, 90, 160),
    (120, 60, 120),
    (170, 150, 120),
    (35, 35, 40),
    (90, 120, 150),
)
TROUSERS = ((40, 40, 45), (90, 60, 40), (110, 110, 110), (60, 70, 90), (150, 140, 120))
HAIR = ((20, 20, 25), (30, 45, 70), (60, 60, 60), (170, 170, 175))

VisitKind = Literal["disposal", "bystander", "emptying", "load", "littering", "clearing", "wheel_in", "wheel_out"]
LITTER_COLOURS = {  # BGR: black, blue and white bin bags, a supermarket bag; brown cardboard
    "bag": ((40, 40, 42), (150, 90, 40), (215, 215, 210), (60, 60, 170)),
    "box": ((70, 120, 170), (90, 140, 185), (60, 100, 140)),
}


@dataclass(frozen=True)
class Looks:
    coat: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    height: float  # metres


@dataclass(frozen=True)
class Drop:
    """One item thrown away: one disposal of the truth."""

    sample: Sample
    release: int  # the hand lets go
    land: int  # first frame with the item lying in the bin
    rest: tuple[float, float]  # (u, v) where it comes to lie on the bin's contents
    size: float  # long side, as a share of the opening's width
    carry_angle: float
    rest_angle: float
    bagged: bool  # inside a see-through plastic bag


@dataclass(frozen=True)
class Reach:
    """One arm (both, for an emptying) from the body to the opening and back."""

    start: int  # the hand leaves the body
    arrive: int  # the hand is over the opening
    release: int  # lets go of the items (an emptying: lifts the bag)
    end: int  # the hand is back at the body
    hand: tuple[float, float]  # (u, v) over the opening where the hand lets go
    drops: tuple[Drop, ...]


@dataclass(frozen=True)
class Litter:
    """A bag or a box left on the ground beside a bin (``Visit`` of kind ``littering``), and maybe
    taken away later (kind ``clearing``). Places are relative, like everything in the plan."""

    id: int
    kind: Literal["bag", "box"]
    bin: int  # left beside this bin, at an end of the row
    side: float  # its centre across from the bin's centre, in bin widths (beyond ±0.5: beside it)
    depth: float  # from level with the bin's front (0) to level with its back (1)
    size: float  # its long side, in bin widths
    colour: tuple[int, int, int]
    angle: float  # turned on the ground, degrees
    put: int  # first frame it lies on the ground


@dataclass(frozen=True)
class Container:
    """A collector's wheeled container: wheeled into the collection zone (the camera style puts it
    beside an end of the row) in a ``wheel_in`` visit, bins emptied into it (``emptying`` visits
    that carry it), wheeled away (``wheel_out``)."""

    id: int
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Visit:
    """A person at one bin: walks in, stands, reaches (or not), walks off."""

    kind: VisitKind
    bin: int
    start: int  # enters the picture
    stand: int  # stands in front of the bin
    leave: int  # starts to walk off
    end: int  # out of the picture again
    enters_from: int  # -1 left, +1 right
    leaves_to: int
    distance: float  # how far in front of the bin they stand, 0 (touching it) to 1 (half a metre)
    offset: float  # sideways from the bin's centre, as a share of the bin's width
    sway: float  # how much they move while standing, 0 to 1
    reaches: tuple[Reach, ...]
    looks: Looks
    litter: Litter | None = None  # what a littering visit leaves, or a clearing visit takes away
    load: float = 0.0  # a load: how much it fills the bin, by height
    container: Container | None = None  # what a collection's visit wheels in or out, or empties a bin into


@dataclass(frozen=True)
class Passer:
    """Somebody walking through the picture who throws nothing away."""

    start: int
    end: int
    lane: float  # 0: brushing past the bins (heads over the openings), 1: near the camera
    over_openings: bool
    rightwards: bool
    looks: Looks


@dataclass(frozen=True)
class ExposureJump:
    frame: int  # the camera's gain starts to change
    frames: int  # over this many frames
    gain: float  # to this level (1: the scene's base exposure)


@dataclass(frozen=True)
class Timeline:
    fps: float
    frames: int
    visits: list[Visit]
    passers: list[Passer]
    exposure: list[ExposureJump]
    fill: list[float]  # per bin, how full it is at the start
    start_time: datetime
    allowed_hours: list[str]
    timezone: str

    def wall_clock(self, frame: float) -> datetime:
        return self.start_time + timedelta(seconds=frame / self.fps)

    def fill_changes(self) -> list[tuple[int, int, float]]:
        """(frame, bin, fill after) at every change of a bin's fill, in time order: an item landing,
        a load tipped in, an emptying. The renderer draws these levels; the truth's overflows are the
        frames at which a bin reaches ``FULL``."""
        steps: list[tuple[int, int, str, float]] = []
        for v in self.visits:
            for r in v.reaches:
                if v.kind in ("emptying", "load"):
                    steps.append((r.release, v.bin, v.kind, v.load))
                steps += [(d.land, v.bin, "item", d.size) for d in r.drops]
        fills = list(self.fill)
        changes = []
        for frame, index, kind, amount in sorted(steps, key=lambda s: s[0]):
            if kind == "emptying":
                fills[index] = 0.0
            elif kind == "load":
                fills[index] = fills[index] + amount
            else:
                fills[index] = item_fill(fills[index], amount)
            changes.append((frame, index, fills[index]))
        return changes

    def overflows(self) -> list[tuple[int, int]]:
        """(frame, bin) each time a bin reaches ``FULL``: once per filling, again after an emptying."""
        was = list(self.fill)
        found = []
        for frame, index, fill in self.fill_changes():
            if fill >= FULL > was[index]:
                found.append((frame, index))
            was[index] = fill
        return found

    @property
    def drops(self) -> list[tuple[Visit, Reach, Drop]]:
        """Every item thrown, in the order they land."""
        found = [(v, r, d) for v in self.visits for r in v.reaches for d in r.drops]
        return sorted(found, key=lambda x: x[2].land)

    @property
    def litter(self) -> list[tuple[Litter, int | None]]:
        """Everything left on the ground, with the first frame it is gone again (None: never)."""
        return [(item, None if by is None else by.reaches[0].release) for item, _, by in self.litter_visits]

    @property
    def collections(self) -> list[tuple[Container, list[Visit]]]:
        """Every container brought, with its visits in order: wheeled in, bins emptied, wheeled out."""
        found: dict[int, tuple[Container, list[Visit]]] = {}
        for v in self.visits:
            if v.container is not None:
                found.setdefault(v.container.id, (v.container, []))[1].append(v)
        return list(found.values())

    @property
    def litter_visits(self) -> list[tuple[Litter, Visit, Visit | None]]:
        """Everything left on the ground, who left it and who took it away (None: nobody)."""
        cleared = {v.litter.id: v for v in self.visits if v.kind == "clearing" and v.litter}
        return [(v.litter, v, cleared.get(v.litter.id)) for v in self.visits if v.kind == "littering" and v.litter]


def plan(
    categories: Sequence[str],
    picks: list[tuple[int, Sample]],
    fps: float,
    rng: np.random.Generator,
    conditions: Conditions,
    off_hours: float = 0.2,
    timezone: str = "Asia/Shanghai",
    seen: Callable[[Litter], bool] | None = None,
) -> Timeline:
    """Lay out ``picks`` (bin index, photo) in time as visits with idle gaps, passers-by,
    bystanders and emptyings in some gaps, and a start time that puts the last ``off_hours``
    fraction of disposals after the window closes. ``seen`` tells whether the camera sees where
    litter would lie (in a ground zone): litter goes only there."""
    if not 0 <= off_hours <= 1:
        raise ValueError("off_hours is a fraction between 0 and 1")

    def at(seconds: float) -> int:
        return round(seconds * fps)

    groups = _group(picks, rng, conditions)
    n_off = round(off_hours * len(picks))
    first_off = len(picks) - n_off
    cursor = at(LEAD_IN_S)
    visits: list[Visit] = []
    walkers: list[Passer] = []
    lying: list[tuple[Litter, int | None]] = []  # on the ground now, and when it is to be taken away
    boundary = None
    thrown = 0
    queued = 0  # residents in the queue so far, the one at the bin included
    collected: set[int] = set()  # bins emptied by a collection: nothing left to collect
    for bin_index, reaches_of in groups:
        count = sum(len(r) for r in reaches_of)
        closing = n_off > 0 and 0 < thrown <= first_off < thrown + count
        if queued and not closing:  # next in the queue: walks in while the one before walks off
            visit = _visit("disposal", bin_index, cursor, fps, rng, reaches_of, categories[bin_index], conditions)
            visits.append(visit)
            thrown += count
            cursor, queued = _queue_next(visit, queued, fps, rng, conditions)
            continue
        gap = rng.uniform(8, 16) if rng.random() < 0.06 else rng.uniform(1.5, 4.0)  # now and then a lull
        if closing:  # the window closes in the middle of a quiet gap
            gap = max(gap, BOUNDARY_GAP_S)
            boundary = cursor + gap * fps / 2
        cursor += at(gap / 2)
        if not closing:
            if rng.random() < conditions.passers:
                walkers.append(_passer(cursor, fps, rng, conditions))
                cursor = walkers[-1].end + at(rng.uniform(0.5, 1.5))
            extras: tuple[tuple[VisitKind, float], ...] = (
                ("bystander", conditions.bystanders),
                ("emptying", conditions.emptying),
            )
            for kind, chance in extras:
                if rng.random() < chance:
                    visits.append(_visit(kind, int(rng.integers(len(categories))), cursor, fps, rng))
                    cursor = visits[-1].end + at(rng.uniform(0.8, 2.0))
            if conditions.loads > 0 and rng.random() < conditions.loads:  # no draw otherwise: scenes stay as they were
                visits.append(_visit("load", int(rng.integers(len(categories))), cursor, fps, rng))
                cursor = visits[-1].end + at(rng.uniform(0.8, 2.0))
            if conditions.collection > 0 and rng.random() < conditions.collection:  # no draws otherwise
                uncollected = [i for i in range(len(categories)) if i not in collected]
                if uncollected:
                    brought = _collection(
                        uncollected, conditions, cursor, fps, rng, sum(v.kind == "wheel_in" for v in visits) + 1
                    )
                    collected.update(v.bin for v in brought if v.kind == "emptying")
                    visits += brought
                    cursor = visits[-1].end + at(rng.uniform(0.8, 2.0))
            if conditions.litter > 0:  # no draws otherwise: scenes without litter stay as they were
                for left, due in [(item, due) for item, due in lying if due is not None and due <= cursor]:
                    visits.append(_ground_visit("clearing", left, cursor, *_bend(cursor, fps, rng), fps, rng))
                    lying.remove((left, due))
                    cursor = visits[-1].end + at(rng.uniform(0.8, 2.0))
                if rng.random() < conditions.litter:
                    stand, reach = _bend(cursor, fps, rng)
                    number = sum(v.kind == "littering" for v in visits) + 1
                    new = _new_litter(number, len(categories), reach.release, rng, lying, seen)
                    if new is not None:
                        visits.append(_ground_visit("littering", new, cursor, stand, reach, fps, rng))
                        stays = rng.uniform(*LITTER_STAYS_S) if rng.random() < conditions.litter_cleared else None
                        lying.append((new, None if stays is None else new.put + at(stays)))
                        cursor = visits[-1].end + at(rng.uniform(0.8, 2.0))
        cursor += at(gap / 2)
        visit = _visit("disposal", bin_index, cursor, fps, rng, reaches_of, categories[bin_index], conditions)
        visits.append(visit)
        thrown += count
        cursor, queued = _queue_next(visit, 0, fps, rng, conditions)
    for left, clear_at in lying:  # litter due to be taken away still is, after the last disposal
        if clear_at is not None:
            cursor = max(cursor, clear_at)
            visits.append(_ground_visit("clearing", left, cursor, *_bend(cursor, fps, rng), fps, rng))
            cursor = visits[-1].end + 1
    puts = [v.reaches[0].release for v in visits if v.kind == "littering"]
    if puts:  # litter left for good lies long enough to be seen staying
        cursor = max(cursor, max(puts) + at(LITTER_STAYS_S[0]))
    frames = cursor + at(LEAD_OUT_S)
    zone = ZoneInfo(timezone)
    closes = datetime.combine(SCENE_DATE, WINDOW_CLOSES, zone)
    if n_off == 0:
        start = closes - timedelta(seconds=frames / fps + 60)
    elif boundary is None:  # every disposal is off hours
        start = closes + timedelta(seconds=60)
    else:
        start = closes - timedelta(seconds=boundary / fps)
    fill = [float(np.clip(conditions.fill * rng.uniform(0.5, 1.4), 0.0, 0.85)) for _ in categories]
    return Timeline(
        fps,
        frames,
        visits,
        walkers,
        _exposure(frames, fps, rng, conditions.exposure_jumps),
        fill,
        start.replace(microsecond=0),
        list(ALLOWED_HOURS),
        timezone,
    )


def item_fill(fill: float, size: float) -> float:
    """A bin's fill after an item of ``size`` (its long side, a share of the opening's width) lands."""
    return max(fill, min(ITEMS_FILL_TO, fill + FILL_PER_ITEM * (size / 0.3) ** 2))


def _group(
    picks: list[tuple[int, Sample]], rng: np.random.Generator, conditions: Conditions
) -> list[tuple[int, list[list[Sample]]]]:
    """The picks as visits: (bin, reaches, each a list of photos). Two picks share a visit
    (two items let go at once, or two reaches in quick succession) when a later pick goes into
    the same bin; it is moved forward, so the mix of the scene stays what was dealt."""
    pending = list(picks)
    groups: list[tuple[int, list[list[Sample]]]] = []
    while pending:
        bin_index, sample = pending.pop(0)
        reaches = [[sample]]
        roll = rng.random()
        if roll < conditions.multi + conditions.quick:
            partner = next((i for i, (b, _) in enumerate(pending[:12]) if b == bin_index), None)
            if partner is not None:
                other = pending.pop(partner)[1]
                if roll < conditions.multi:
                    reaches[0].append(other)
                else:
                    reaches.append([other])
        groups.append((bin_index, reaches))
    return groups


def _looks(rng: np.random.Generator) -> Looks:
    return Looks(
        coat=CLOTHES[rng.integers(len(CLOTHES))],
        trousers=TROUSERS[rng.integers(len(TROUSERS))],
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR[rng.integers(len(HAIR))],
        height=float(rng.uniform(1.55, 1.85)),
    )


def _visit(
    kind: VisitKind,
    bin_index: int,
    start: int,
    fps: float,
    rng: np.random.Generator,
    reaches_of: list[list[Sample]] | None = None,
    bin_category: str = "",
    conditions: Conditions | None = None,
) -> Visit:
    def at(seconds: float) -> int:
        return max(1, round(seconds * fps))

    stand = start + at(rng.uniform(1.0, 1.8))
    cursor = stand + at(rng.uniform(0.1, 0.5))
    reaches = []
    if kind == "bystander":
        cursor += at(rng.uniform(3.0, 12.0))
    elif kind in ("emptying", "load"):  # both arms: the full bag lifted out, or a sack tipped in
        arrive = cursor + at(rng.uniform(0.8, 1.2))
        lift = arrive + at(rng.uniform(0.8, 1.5))
        end = lift + at(rng.uniform(1.0, 1.5))
        reaches.append(Reach(cursor, arrive, lift, end, (0.5, 0.5), ()))
        cursor = end
    else:
        assert conditions is not None
        for i, samples in enumerate(reaches_of or []):
            if i:
                cursor += at(rng.uniform(0.4, 1.2))  # takes the next item out of a bag or a pocket
            arrive = cursor + at(rng.uniform(0.7, 1.2))
            release = arrive + at(rng.uniform(0.2, 0.9))  # some hesitate
            land = release + at(FALL_S)
            end = release + at(rng.uniform(0.6, 1.0))
            rests = _rests(len(samples), rng)
            drops = tuple(
                Drop(
                    sample=sample,
                    release=release,
                    land=land,
                    rest=rest,
                    size=float(rng.uniform(*ITEM_SIZE)),
                    carry_angle=float(rng.uniform(-35, 35)),
                    rest_angle=float(rng.uniform(-25, 25)),
                    bagged=bool(bin_category != "kitchen" and rng.random() < conditions.bags),
                )
                for sample, rest in zip(samples, rests, strict=True)
            )
            hand = (float(np.mean([r[0] for r in rests])), float(np.mean([r[1] for r in rests])) - 0.1)
            reaches.append(Reach(cursor, arrive, release, max(end, land + 1), hand, drops))
            cursor = reaches[-1].end
    leave = cursor + at(rng.uniform(0.1, 0.4))
    side = 1 if rng.random() < 0.5 else -1
    return Visit(
        kind=kind,
        bin=int(bin_index),
        start=start,
        stand=stand,
        leave=leave,
        end=leave + at(rng.uniform(1.0, 1.8)),
        enters_from=side,
        leaves_to=side if rng.random() < 0.6 else -side,
        distance=float(rng.uniform(0.0, 1.0)),
        offset=float(rng.uniform(-0.25, 0.25)),
        sway=float(rng.uniform(0.3, 1.0)),
        reaches=tuple(reaches),
        looks=_looks(rng),
        load=float(rng.uniform(*LOAD_FILL)) if kind == "load" else 0.0,
    )


def _rests(count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Where ``count`` items come to lie, apart from each other when there are two."""
    first = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.25, 0.75)))
    if count == 1:
        return [first]
    for _ in range(REST_TRIES):
        other = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)))
        if abs(other[0] - first[0]) > 0.4 or abs(other[1] - first[1]) > 0.45:
            return [first, other]
    # A first item near the middle leaves no place that far apart: the farthest corner.
    return [first, (0.2 if first[0] > 0.5 else 0.8, 0.2 if first[1] > 0.5 else 0.8)]


def _passer(after: int, fps: float, rng: np.random.Generator, conditions: Conditions) -> Passer:
    over = bool(rng.random() < conditions.over_openings)
    start = after + round(rng.uniform(0.3, 1.0) * fps)
    return Passer(
        start=start,
        end=start + round(rng.uniform(2.5, 4.5) * fps),
        lane=float(rng.uniform(0.0, 0.25) if over else rng.uniform(0.45, 1.0)),
        over_openings=over,
        rightwards=bool(rng.random() < 0.5),
        looks=_looks(rng),
    )


def _exposure(frames: int, fps: float, rng: np.random.Generator, per_minute: float) -> list[ExposureJump]:
    """Auto-exposure steps: at random moments the gain moves to a new level within a few frames."""
    jumps: list[ExposureJump] = []
    level = 1.0
    if per_minute <= 0:
        return jumps
    f = round(rng.exponential(60 / per_minute) * fps)
    while f < frames:
        factor = rng.uniform(1.15, 1.45) if rng.random() < 0.5 else 1 / rng.uniform(1.15, 1.45)
        level = float(np.clip(level * factor, 0.6, 1.5))
        jumps.append(ExposureJump(f, int(rng.integers(1, 5)), round(level, 3)))
        f += round(rng.exponential(60 / per_minute) * fps) + round(2 * fps)
    return jumps


def _queue_next(
    visit: Visit, queued: int, fps: float, rng: np.random.Generator, conditions: Conditions
) -> tuple[int, int]:
    """Where the plan goes on after ``visit``, the ``queued``-th resident of a queue (0: none yet):
    the next resident of a queue enters as this one starts to walk off (their standing at the bins
    never overlaps, nor do their reaches); otherwise the next visit comes after this one has left."""
    chance = (QUEUE_GOES_ON if queued else conditions.queue) if queued + 1 < QUEUE_MAX else 0.0
    if chance > 0 and rng.random() < chance:  # no draw at all in scenes without queues
        return visit.leave - round(QUEUE_OVERLAP_S * fps), queued + 1
    return visit.end + 1, 0


def _bend(start: int, fps: float, rng: np.random.Generator) -> tuple[int, Reach]:
    """Walking up (from ``start``) and bending down to the ground: when they stand, and the reach."""

    def at(seconds: float) -> int:
        return max(1, round(seconds * fps))

    stand = start + at(rng.uniform(1.0, 1.8))
    reach_start = stand + at(rng.uniform(0.2, 0.6))
    arrive = reach_start + at(rng.uniform(0.9, 1.3))  # bent down, the hand at the ground
    release = arrive + at(rng.uniform(0.2, 0.5))
    return stand, Reach(reach_start, arrive, release, release + at(rng.uniform(0.9, 1.3)), (0.5, 0.5), ())


def _new_litter(
    litter_id: int,
    bins: int,
    put: int,
    rng: np.random.Generator,
    lying: Sequence[tuple[Litter, int | None]],
    seen: Callable[[Litter], bool] | None = None,
) -> Litter | None:
    """A bag or a box beside an end of the row where nothing lies yet and the camera sees it (``seen``;
    drawn at one end, it goes to the other if the camera does not see it there); None: no such end."""
    taken = {item.side > 0 for item, _ in lying}
    free = [right for right in (False, True) if right not in taken]
    if not free:
        return None
    right = free[int(rng.integers(len(free)))]
    shape: Literal["bag", "box"] = "bag" if rng.random() < 0.6 else "box"
    colours = LITTER_COLOURS[shape]
    size = float(rng.uniform(*LITTER_SIZE[shape]))
    drawn = Litter(
        id=litter_id,
        kind=shape,
        bin=bins - 1 if right else 0,
        side=float(0.6 + size / 2 + rng.uniform(0.0, 0.15)) * (1 if right else -1),
        depth=float(rng.uniform(0.1, 0.9)),
        size=size,
        colour=colours[int(rng.integers(len(colours)))],
        angle=float(rng.uniform(-40, 40)),
        put=put,
    )
    ends = [drawn]
    if (not right) in free:  # the other end, where the same bag or box would lie mirrored
        ends.append(replace(drawn, bin=0 if right else bins - 1, side=-drawn.side))
    return next((item for item in ends if seen is None or seen(item)), None)


def _ground_visit(
    kind: VisitKind, litter: Litter, start: int, stand: int, reach: Reach, fps: float, rng: np.random.Generator
) -> Visit:
    """Somebody who puts ``litter`` down (``littering``) or takes it away (``clearing``) and walks off."""
    leave = reach.end + max(1, round(rng.uniform(0.1, 0.4) * fps))
    side = 1 if rng.random() < 0.5 else -1
    return Visit(
        kind=kind,
        bin=litter.bin,
        start=start,
        stand=stand,
        leave=leave,
        end=leave + max(1, round(rng.uniform(1.0, 1.8) * fps)),
        enters_from=side,
        leaves_to=side if rng.random() < 0.6 else -side,
        distance=0.0,  # where they stand follows from the litter
        offset=0.0,
        sway=float(rng.uniform(0.3, 1.0)),
        reaches=(reach,),
        looks=_looks(rng),
        litter=litter,
    )


def _collection(
    left: list[int], conditions: Conditions, start: int, fps: float, rng: np.random.Generator, first_id: int
) -> list[Visit]:
    """A worker collecting bins among ``left`` (not yet collected): mixed (bins of several categories
    into one container, ``conditions.collection_mixed`` of the time) or compliant (one bin into a
    container, or two bins each into a container of its own, wheeled away before the next comes)."""

    def at(seconds: float) -> int:
        return max(1, round(seconds * fps))

    chosen = [int(b) for b in rng.permutation(left)]
    if len(left) >= 2 and rng.random() < conditions.collection_mixed:
        groups = [chosen[: min(len(left), int(rng.integers(COLLECTION_BINS[0], COLLECTION_BINS[1] + 1)))]]
    elif len(left) >= 2 and rng.random() < 0.5:
        groups = [[chosen[0]], [chosen[1]]]  # a container per category
    else:
        groups = [[chosen[0]]]
    looks = _looks(rng)
    visits: list[Visit] = []
    cursor = start
    for number, bins in enumerate(groups):
        colour = CONTAINER_COLOURS[int(rng.integers(len(CONTAINER_COLOURS)))]
        container = Container(first_id + number, colour)
        visits.append(_wheel("wheel_in", container, cursor, at(rng.uniform(2.2, 3.0)), looks, rng, fps))
        cursor = visits[-1].end + 1
        for b in bins:
            stand = cursor + at(rng.uniform(1.2, 1.8))  # from the container to the bin
            reach_start = stand + at(rng.uniform(0.1, 0.4))
            arrive = reach_start + at(rng.uniform(0.8, 1.2))
            lift = arrive + at(rng.uniform(0.8, 1.5))
            reach = Reach(reach_start, arrive, lift, lift + at(rng.uniform(1.0, 1.5)), (0.5, 0.5), ())
            leave = reach.end + at(rng.uniform(0.1, 0.3))
            end = leave + at(rng.uniform(1.2, 1.8))  # back at the container: the bag goes in
            emptying = Visit(
                "emptying", b, cursor, stand, leave, end, 0, 0, 0.2, 0.0, 0.5, (reach,), looks, container=container
            )
            visits.append(emptying)
            cursor = end + at(rng.uniform(0.4, 0.8))
        visits.append(_wheel("wheel_out", container, cursor, at(rng.uniform(0.6, 1.0)), looks, rng, fps))
        cursor = visits[-1].end + at(rng.uniform(2.0, 4.0))  # the next container comes after this one has gone
    return visits


def _wheel(
    kind: VisitKind, container: Container, start: int, walk: int, looks: Looks, rng: np.random.Generator, fps: float
) -> Visit:
    """Wheeling ``container`` in from the side of the picture it stands at and parking it (``wheel_in``: parked at
    ``stand``), or taking it from where it stands (at ``stand``) and wheeling it out (``wheel_out``)."""
    stand = start + walk
    leave = stand + max(1, round(rng.uniform(0.3, 0.6) * fps))
    end = leave if kind == "wheel_in" else leave + max(1, round(rng.uniform(2.2, 3.0) * fps))
    return Visit(kind, 0, start, stand, leave, end, 0, 0, 0.0, 0.0, 0.3, (), looks, container=container)
