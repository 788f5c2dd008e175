"""What happens when: every reach into a bin and every passer-by, in frames, planned before
a single pixel is drawn, so that the truth file and the video come from one plan.

Reaches never overlap one another or a passer-by: each disposal in the truth has exactly one
arm, and the truth stays unambiguous. Scene time is anchored to a wall clock so that the
morning collection window closes mid-scene and the last disposals fall outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from binwatch.datasets.manifest import Sample
from binwatch.edge.simulator.layout import Bin

ALLOWED_HOURS = ["06:30-09:00", "18:00-21:00"]  # a typical timed drop-off schedule
WINDOW_CLOSES = time(9, 0)
SCENE_DATE = date(2026, 5, 18)
LEAD_IN_S, LEAD_OUT_S = 4.0, 4.0  # quiet at both ends: a background model needs a moment to settle
BOUNDARY_GAP_S = 8.0  # the idle gap in which the window closes, so no reach straddles it
REST_SCALE = 0.88  # an item lying in the bin is further from the camera than one held up

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
)
HAIR = ((20, 20, 25), (30, 45, 70), (60, 60, 60), (170, 170, 175))


@dataclass(frozen=True)
class Reach:
    """One arm carrying one item into one bin."""

    index: int
    bin: int
    sample: Sample
    start: int  # first frame of the visit; the hand is just outside the frame
    arrive: int  # the item is over the opening
    release: int  # the hand lets go
    land: int  # first frame with the item lying in the bin
    end: int  # the arm is outside the frame again
    shoulder: tuple[float, float]  # outside the frame, below it: the person stands there
    entry: tuple[float, float]  # hand position at ``start``
    target: tuple[float, float]  # hand position while releasing
    exit: tuple[float, float]  # hand position at ``end``
    rest: tuple[float, float]  # centre of the item lying in the bin
    item_size: int  # long side of the item in pixels, held up
    carry_angle: float
    rest_angle: float
    sleeve: tuple[int, int, int]
    skin: tuple[int, int, int]


@dataclass(frozen=True)
class Passer:
    """Somebody walking through the picture who throws nothing away."""

    start: int
    end: int
    y: float
    rightwards: bool
    over_bins: bool
    size: float  # shoulder width in pixels
    coat: tuple[int, int, int]
    hair: tuple[int, int, int]


@dataclass(frozen=True)
class Timeline:
    fps: float
    frames: int
    reaches: list[Reach]
    passers: list[Passer]
    start_time: datetime
    allowed_hours: list[str]
    timezone: str

    def wall_clock(self, frame: float) -> datetime:
        return self.start_time + timedelta(seconds=frame / self.fps)


def plan(
    bins: list[Bin],
    picks: list[tuple[int, Sample]],
    size: tuple[int, int],
    fps: float,
    rng: np.random.Generator,
    off_hours: float = 0.2,
    passers: float = 0.15,
    timezone: str = "Asia/Shanghai",
) -> Timeline:
    """Lay out ``picks`` (bin index, photo) in time with idle gaps, passers-by in some gaps,
    and a start time that puts the last ``off_hours`` fraction of disposals after the window."""
    if not 0 <= off_hours <= 1 or not 0 <= passers <= 1:
        raise ValueError("off_hours and passers are fractions between 0 and 1")
    width, height = size
    n_off = round(off_hours * len(picks))
    first_off = len(picks) - n_off
    cursor = round(LEAD_IN_S * fps)
    reaches, walkers, boundary = [], [], None
    for index, (bin_index, sample) in enumerate(picks):
        gap = rng.uniform(8, 16) if rng.random() < 0.06 else rng.uniform(2.0, 5.0)  # now and then a lull
        if index == first_off and index > 0:
            gap = max(gap, BOUNDARY_GAP_S)
            boundary = cursor + gap * fps / 2
        if rng.random() < passers:
            walker = _passer(bins, width, height, cursor, fps, rng)
            walkers.append(walker)
            cursor = walker.end + round(rng.uniform(1.0, 3.0) * fps)
        cursor += round(gap * fps)
        reach = _reach(index, bins, bin_index, sample, width, height, cursor, fps, rng)
        reaches.append(reach)
        cursor = reach.end + 1
    frames = cursor + round(LEAD_OUT_S * fps)
    zone = ZoneInfo(timezone)
    closes = datetime.combine(SCENE_DATE, WINDOW_CLOSES, zone)
    if n_off == 0:
        start = closes - timedelta(seconds=frames / fps + 60)
    elif boundary is None:  # every disposal is off hours
        start = closes + timedelta(seconds=60)
    else:
        start = closes - timedelta(seconds=boundary / fps)
    start = start.replace(microsecond=0)
    return Timeline(fps, frames, reaches, walkers, start, list(ALLOWED_HOURS), timezone)


def _reach(
    index: int,
    bins: list[Bin],
    bin_index: int,
    sample: Sample,
    width: int,
    height: int,
    start: int,
    fps: float,
    rng: np.random.Generator,
) -> Reach:
    b = bins[bin_index]
    ow, oh = b.opening_size
    cx, cy = b.centre
    item_size = round(min(ow, oh) * rng.uniform(0.58, 0.78))
    rest_half = item_size * REST_SCALE / 2
    slack_x, slack_y = max(0.0, ow / 2 - rest_half - 0.04 * ow), max(0.0, oh / 2 - rest_half - 0.04 * oh)
    rest = (cx + rng.uniform(-slack_x, slack_x), cy + rng.uniform(-slack_y, slack_y))
    shoulder = (cx + rng.uniform(-0.12, 0.12) * width, height + rng.uniform(0.25, 0.4) * height)
    # The hand holds the item by its near end: the item's centre is ahead of the palm.
    direction = np.subtract(rest, shoulder) / np.hypot(*np.subtract(rest, shoulder))
    hand = np.subtract(rest, direction * 0.45 * item_size)
    outside = height + 0.35 * ow + item_size
    entry = (hand[0] + rng.uniform(-0.15, 0.15) * ow, outside)
    exit_ = (hand[0] + rng.uniform(-0.3, 0.3) * ow, outside)
    arrive = start + round(rng.uniform(0.9, 1.4) * fps)
    release = arrive + round(rng.uniform(0.3, 0.7) * fps)
    land = release + max(1, round(0.2 * fps))
    end = release + round(rng.uniform(0.7, 1.1) * fps)
    return Reach(
        index=index,
        bin=bin_index,
        sample=sample,
        start=start,
        arrive=arrive,
        release=release,
        land=land,
        end=max(end, land + 1),
        shoulder=shoulder,
        entry=entry,
        target=(float(hand[0]), float(hand[1])),
        exit=exit_,
        rest=rest,
        item_size=item_size,
        carry_angle=rng.uniform(-35, 35),
        rest_angle=rng.uniform(-12, 12),
        sleeve=CLOTHES[rng.integers(len(CLOTHES))],
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
    )


def _passer(bins: list[Bin], width: int, height: int, after: int, fps: float, rng: np.random.Generator) -> Passer:
    """Across the openings (a challenge: motion over a bin with nothing left behind) or along the
    floor in front of the bins, clear of the openings."""
    size = bins[0].opening_size[0] * rng.uniform(0.8, 1.0)
    over_bins = bool(rng.random() < 0.35)
    if over_bins:
        y = bins[0].centre[1] + rng.uniform(-0.1, 0.1) * size
    else:
        clear = bins[0].body[3] + 0.6 * size
        y = rng.uniform(clear, max(clear, height - 0.15 * size))
    speed = width * rng.uniform(0.35, 0.6)  # pixels per second
    start = after + round(rng.uniform(0.5, 1.5) * fps)
    duration = round((width + 2 * size) / speed * fps)
    return Passer(
        start=start,
        end=start + duration,
        y=float(y),
        rightwards=bool(rng.random() < 0.5),
        over_bins=over_bins,
        size=size,
        coat=CLOTHES[rng.integers(len(CLOTHES))],
        hair=HAIR[rng.integers(len(HAIR))],
    )
