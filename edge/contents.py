"""What lies in each bin, as the camera last saw its opening clear, and how full it looks.

One ``Contents`` per bin keeps the latest clear view of the opening, an estimate of how much of
it is covered, and a short history of what changed it: items that went in, and emptyings. This
is the interface for fill levels (heartbeats, ``overflow`` and ``emptying`` events build on it):

* ``fill_level()``: the share of the opening covered by contents, 0 for a bare bag, 1 when no
  bag is to be seen any more; ``None`` before the first clear view. A camera sees no depth, so
  this is coverage, not volume: a bin is "full" for it when its contents hide the bag.
* ``changes``: the latest ``ContentsChange`` records (time, what happened, coverage before and
  after, items since the last emptying), oldest first.
* ``emptied_at``, ``items_since_emptied``.

Coverage is measured as texture: an empty bag is smooth (soft folds), contents are not. A pixel
is covered when the local contrast around it (standard deviation over a window a twentieth of
the opening wide, in normalised grey levels, of the picture lightly blurred) exceeds
``COVER_DELTA`` together with what noise alone makes of it; the covered pixels are then closed
over gaps the size of an item's plain interior. Noise is not a fixed number: an evening picture,
brightened four times to be compared, carries four times the sensor's noise, enough to make a
bare bag look covered. The blur (a Gaussian of σ 0.15 window) takes most of it out, since texture
that matters is coarser than a pixel; what is left is measured on the view itself, as the
contrast of its smoothest places (``NOISE_QUANTILE`` of the window's contrast over the opening
and the ring around it, where the sensor is neither black nor clipped: the rim and the floor
are smooth whatever the bin holds), and added to the threshold in quadrature, ``NOISE_SIGMAS``
times over (a window of pure noise varies by a few tens of percent around its mean). An emptying is a change of a large
part of the opening after which it is clearly smoother than before: nothing else takes
contents away.

A bin emptied while it held only a few items changes only where they lay, each place as small as
an item. Such a change is judged by what it left (``taken_out``): where the place had texture
before and now looks like the bag — smooth, and of the bag's colour as the view before shows it
(the median of its smooth part; ``BAG_DELTA``: a plain item laid over a pile is smooth as well) and did
not look like the bag before (a dark picture's noise and the bag's folds are texture too: a plain dark
item laid on the bare bag is smoother, and of its colour) — something was taken away, not added: never a
disposal. Where no bare bag shows (``BAG_SHARE``),
nothing is judged taken out. A disposal that took things away and added none, after which the bin
is smoother, is an emptying too; so is one that took things away and left the bin as bare as after its
last emptying, whatever else it seemed to add (the fresh bag's folds: see below).

An emptying also leaves the bin looking as it did after its last emptying: a fresh bag, as bare
(``bare``, the coverage measured then). A change after which the coverage fell by ``RESET_DROP``
back to that level (within ``BARE_MARGIN``) is an emptying, whatever it changed: the fresh bag
hangs differently from the old one (its folds, its hem along the far wall), changes no item makes,
which neither the share changed nor ``taken_out`` can judge. A bin never seen emptied has no such
level yet. A bin emptied again while still bare (nothing has gone in since its last emptying) loses
nothing: only the fresh bag's folds change, a change too faint for an item (``faint``). A visit after
which a bin bare since its last emptying is as bare as before, and that left such a faint change, emptied
it again; what else it changed is folds, never items.

What a camera sees of the contents' height is the rim (``rim_hidden``): contents heaped above it
hide it, from the oblique camera the far rim first, from above the rim's outline. The rim's look
is remembered from the first clear view and follows the light where it still shows; a rim pixel
is hidden where the view (blurred, normalised) differs from it by ``RIM_DELTA`` together with the
noise. ``fill.OverflowAlarm`` asks for a share of the rim hidden as well as the bag. A colour channel the
sensor clipped says only that the colour was at least (or at most) what it shows: auto-exposure that
brightens a red rim by half clips its red, and divided by the gain that red reads darker than the rim
was, with nothing on it. So a look is a range per channel (``RimLook``), and the rim is hidden only where
the ranges of the view and of the remembered look lie apart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

import cv2
import numpy as np

from binwatch.edge.light import BRIGHT, DARK, channel_max
from binwatch.edge.region import Region, View

COVER_DELTA = 6.0  # normalised grey levels of local contrast (blurred) that a bare bag does not reach
BLUR = 0.15  # of the window: the blur that takes pixel noise out and leaves the contents' texture
NOISE_QUANTILE = 0.1  # the contrast of the smoothest tenth of the region is noise, not texture
NOISE_SIGMAS = 2.0  # noise counts this many times over in the threshold
EMPTIED_DROP = 0.2  # an emptying lowers the coverage by at least this much …
EMPTIED_CHANGE = 0.2  # … and changes at least this share of the opening
BARE_MARGIN = 0.05  # a bin whose coverage is back within this of its level after its last emptying is bare again …
RESET_DROP = 0.1  # … and, if it fell by at least this much, was emptied
TAKEN_SHARE = 0.5  # a place whose texture fell below this share of what it had, was emptied
BAG_SHARE = 0.05  # of the opening: the bare bag must show this much to be compared with
EMPTIED_LEFT = 0.5  # things taken out leave at most this share of the coverage above the least seen: emptied
BAG_DELTA = 25.0  # a place taken out looks like the bag: its median colour within this (normalised, any channel)
RIM_DELTA = 30.0  # colour change (normalised, max over channels, blurred) that hides the rim's look
RIM_FOLLOW = 0.3  # where the rim shows, its remembered look follows the light by this much per view
CLIPPED = 0.25  # a blurred channel with this share of clipped pixels under its blur only bounds the colour
HISTORY = 32

ChangeKind = Literal["items", "emptied", "covered"]


@dataclass(frozen=True)
class ContentsChange:
    at: datetime
    kind: ChangeKind  # items went in; the bin was emptied; something larger than an item covers it
    coverage_before: float | None
    coverage_after: float
    items: int  # items seen going in since the last emptying (after this change)


class Contents:
    def __init__(self, region: Region):
        self.region = region
        self.view: View | None = None
        self.coverage: float | None = None
        self.items_since_emptied = 0
        self.emptied_at: datetime | None = None
        self.bare: float | None = None  # the coverage right after the last emptying: this bin's bare bag
        self.lowest: float | None = None  # the least coverage read since the last emptying (or first seen)
        self.changes: deque[ContentsChange] = deque(maxlen=HISTORY)
        self.rim_hidden = 0.0  # share of the rim that contents hide (heaped above it), last measured
        self._rim: RimLook | None = None  # the rim's look with nothing on it
        self._measured_at: datetime | None = None

    def fill_level(self) -> float | None:
        return self.coverage

    def seen(self, view: View, every_s: float = 10.0) -> None:
        """A clear view with no disposal going on; the coverage is measured now and then."""
        self.view = view
        if self._measured_at is None or (view.t - self._measured_at).total_seconds() >= every_s:
            self.coverage = coverage(view, self.region)
            self._read(self.coverage)
            self._look_at_rim(view)
            self._measured_at = view.t

    def _look_at_rim(self, view: View) -> None:
        """How much of the rim the contents hide, against its look when first seen clear; where it
        shows, that look follows the light."""
        look = rim_look(view, self.region)
        if self._rim is None:
            self._rim, self.rim_hidden = look, 0.0
            return
        hidden, measurable = rim_hidden(look, self._rim, view, self.region)
        rim = self.region.rim & measurable
        self.rim_hidden = round(float(hidden[rim].mean()), 3) if rim.any() else 0.0
        self._rim.follow(look, rim & ~hidden)

    def changed(
        self,
        after: View,
        items: int,
        changed: float,
        large: float,
        before: View | None,
        taken: int = 0,
        faint: bool = False,
    ) -> ChangeKind:
        """A disposal ended with ``after``: ``items`` items found, ``changed`` the share of the opening
        that changed, ``large`` the share in changes larger than an item, ``taken`` places where
        something was taken out (``taken_out``), ``faint`` whether a change too faint for an item was
        seen. Returns what happened."""
        old = self.coverage if before is None else coverage(before, self.region)
        new = coverage(after, self.region)
        kind: ChangeKind = "items"
        wholesale = changed >= EMPTIED_CHANGE and old is not None and new <= old - EMPTIED_DROP
        reset = self.bare is not None and old is not None and new <= min(old - RESET_DROP, self.bare + BARE_MARGIN)
        # Nothing went in since the last emptying and the bin is as bare after as before: a faint change there
        # is the fresh bag of another emptying, hanging in other folds (what was found in it is folds too).
        rehung = faint and self.items_since_emptied == 0 and self._bare(old) and self._bare(new)
        # Something was taken out, and nothing went in, or the bin held something and is as bare as after its last
        # emptying: a bin that held an item or two loses less than ``RESET_DROP``, and its fresh bag's folds are
        # found as items.
        held = self.items_since_emptied > 0 and self._bare(new)
        lifted = taken and old is not None and new < old and (not items or held)
        if wholesale or reset or rehung or lifted:
            kind = "emptied"
            self.items_since_emptied, self.emptied_at, self.bare, self.lowest = 0, after.t, new, new
        else:
            self._read(new)
            self.items_since_emptied += items
            if large > 0:
                kind = "covered"
        self.view, self.coverage, self._measured_at = after, new, after.t
        self._look_at_rim(after)
        self.changes.append(ContentsChange(after.t, kind, old, new, self.items_since_emptied))
        return kind

    def _read(self, level: float) -> None:
        self.lowest = level if self.lowest is None else min(self.lowest, level)

    def _bare(self, level: float | None) -> bool:
        """Whether ``level`` is as bare as the bin was after its last emptying (never, before its first)."""
        return self.bare is not None and level is not None and level <= self.bare + BARE_MARGIN


def taken_out(
    before: View, after: View, region: Region, places: list[np.ndarray], lowest: float | None = None
) -> list[bool]:
    """For each place (a mask of the region) that changed: whether something was taken away from
    it, rather than added: its texture gone, and it looks like the bare bag around it (a plain item
    laid over a pile is smooth too, but it is not the bag's colour), and it did not look like the bag
    before either (a dark item laid on the bare bag changes a place that was the bag's colour already).
    The price: a dark, textured thing taken from the bare bag is never judged taken out. Where no bag
    shows, nothing can be told taken out; nor where the bin kept more than ``EMPTIED_LEFT`` of its coverage
    above the least it was seen to hold since its last emptying (``Contents.lowest``, none: 0): things are
    taken out of a bin to empty it, and a bin that still holds most of what it held had something laid on it
    (in the evening a plain dark item on a pile looks like the bag, and was lost). The least seen is as much
    as the bare bag reads, or more: a bag's folds read as coverage too (0.1 to 0.37 in the simulator)."""
    if not places:
        return []
    was, now = texture(before, region), texture(after, region)
    bag = (region.inside > 0) & ~was
    if bag.sum() < BAG_SHARE * region.area:
        return [False] * len(places)
    level = lowest or 0.0
    if coverage(after, region) - level > EMPTIED_LEFT * (coverage(before, region) - level):
        return [False] * len(places)
    # The bag's colour: the median of the smooth part of the opening before, most of it bag (smooth
    # item faces near a place are too many to take the bag's colour from what lies beside it).
    colour_before, colour_after = before.normalised(), after.normalised()
    bag_colour = np.median(colour_before[bag], axis=0)

    def like_bag(colour: np.ndarray, place: np.ndarray) -> bool:
        return float(np.max(np.abs(np.median(colour[place], axis=0) - bag_colour))) < BAG_DELTA

    out = []
    for place in places:
        smoother = now[place].mean() < TAKEN_SHARE * was[place].mean()
        # What looked like the bag before had nothing to take away (a dark picture's noise is texture too).
        out.append(bool(smoother and like_bag(colour_after, place) and not like_bag(colour_before, place)))
    return out


def _width(region: Region) -> int:
    """The texture window's side: a twentieth of the opening, odd."""
    return max(3, (min(region.opening_size) // 20) | 1)


def _contrast(view: View, region: Region) -> tuple[np.ndarray, np.ndarray, float]:
    """The local contrast of the blurred, normalised view (see the module), where it can be measured
    (neither black nor clipped), and the noise: the contrast of its smoothest places."""
    width = _width(region)
    window = (width, width)
    raw = cv2.cvtColor(np.clip(view.image, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey = cv2.GaussianBlur(raw * (1.0 / view.gain), (0, 0), BLUR * width)
    mean = cv2.boxFilter(grey, -1, window)
    spread = np.sqrt(np.maximum(cv2.boxFilter(grey * grey, -1, window) - mean * mean, 0))
    lit = cv2.boxFilter(raw, -1, window)
    measurable = (lit > DARK) & (lit < BRIGHT)
    noise = float(np.quantile(spread[measurable], NOISE_QUANTILE)) if measurable.any() else 0.0
    return spread, measurable, noise


def texture(view: View, region: Region) -> np.ndarray:
    """Where the region's texture stands out of the noise (see the module): a bool map."""
    spread, _, noise = _contrast(view, region)
    return spread > np.hypot(COVER_DELTA, NOISE_SIGMAS * noise)


class RimLook(NamedTuple):
    """The region's colour as far as the sensor tells it: per pixel and channel a value (normalised,
    blurred) and whether it is exact (0), at least the value (1: clipped bright) or at most (-1: black)."""

    value: np.ndarray
    clipped: np.ndarray

    def apart(self, other: RimLook) -> np.ndarray:
        """How far the two looks' colour ranges lie apart, the largest over channels: 0 where they meet."""
        diff = self.value - other.value
        up = (diff > 0) & (other.clipped != 1) & (self.clipped != -1)
        down = (diff < 0) & (other.clipped != -1) & (self.clipped != 1)
        return channel_max(np.abs(diff) * (up | down))

    def follow(self, look: RimLook, where: np.ndarray) -> None:
        """Where ``look`` is exact, move towards it (or take it, where this look is only a bound)."""
        exact = (look.clipped == 0) & where[..., None]
        blend, fresh = exact & (self.clipped == 0), exact & (self.clipped != 0)
        self.value[blend] += RIM_FOLLOW * (look.value[blend] - self.value[blend])
        self.value[fresh], self.clipped[fresh] = look.value[fresh], 0


def rim_look(view: View, region: Region) -> RimLook:
    """The region in normalised colour, blurred as for texture, with what the sensor clipped: what the
    rim is compared by."""
    sigma = BLUR * _width(region)

    def blurred(mask: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma) >= CLIPPED

    value = cv2.GaussianBlur(view.normalised(), (0, 0), sigma)
    clipped = blurred(view.image >= BRIGHT).astype(np.int8) - blurred(view.image <= DARK).astype(np.int8)
    return RimLook(value, clipped)


def rim_hidden(look: RimLook, clear: RimLook, view: View, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Where ``look`` (of ``view``) differs from the rim's ``clear`` look by more than the light and
    the noise move it: contents lying on the rim, heaped above it. Also where it can be measured."""
    _, measurable, noise = _contrast(view, region)
    return look.apart(clear) > np.hypot(RIM_DELTA, NOISE_SIGMAS * noise), measurable


def coverage(view: View, region: Region) -> float:
    """The share of the opening whose texture says it is covered by contents (see the module)."""
    side = min(region.opening_size)
    window = (_width(region),) * 2
    closing = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, (side // 6) | 1),) * 2)
    covered = cv2.morphologyEx(texture(view, region).astype(np.uint8), cv2.MORPH_CLOSE, closing)
    # The edge of the opening itself is contrast too: leave a strip as wide as the window out.
    inside = cv2.erode(region.inside, cv2.getStructuringElement(cv2.MORPH_RECT, window)) > 0
    if not inside.any():
        inside = region.inside > 0
    return round(float(covered[inside].mean()), 3)
