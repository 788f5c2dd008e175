"""What a disposal left in the opening: the change between the view before it and the view after.

Both views are clear views of the opening (``segment``), each the mean of a few frames (less
noise), compared in normalised units: divided by their exposure's gain, and corrected channel by
channel for what is left of a change of light (the median ratio, pixel by pixel, over the window
around the opening; what a disposal changes covers far less than half of it). A pixel has changed
when its colour moved by more than ``change_pixel_delta`` (normalised grey levels) or, in a noisier
picture, by more than noise alone moves it: measured on the views themselves, as the difference
between two halves of them.

Each connected region of change is then judged:

* **an item**: inside the opening, at least ``item_min_fraction`` and at most ``item_max_fraction``
  of it, and standing out, in brightness or in colour, of what the coder's redraw changes elsewhere
  in the opening (``CODED_LEVELS``). Several items from one disposal are several regions; two
  items that came to lie side by side are split by their landings (``landing``);
* **beyond the rim**: the change runs on outside the opening further than the rim is wide, so it
  is something on the rim or a body, not an item in the bin;
* **larger than an item**: the bin was emptied, or something covers it (``contents`` tells which);
* **faint**: only the half threshold sees it. Something went in but cannot be isolated.

A change that only the views before brought (``before_only``: where it lies, the view after looks as the
opening's background did when the disposal began, the views before do not) is a passer-by's head in them,
not an item; the agent leaves it out. It matters on a heap, which counts as inside beyond the opening.

In a dark picture the coder's floor (``CODED_LEVELS``, 8 raw levels: 40 normalised ones at a fifth of
daylight) lies far above ``change_pixel_delta`` and the noise measured, and a plain item on a black bag
changes by less: it was lost, not even faint. So where that floor set the threshold, what was not kept
at it is judged again at the threshold noise and ``change_pixel_delta`` set, against the quiet pixels at
that level, by the same stand-out test, never below half the floor (a darker picture, coded harder,
redraws the pile by more than ``change_pixel_delta``); there a change must also be as large as a faint
one (``FAINT_FRACTION``): below the floor, a redraw of a few dozen pixels stands out of the quiet pixels
by chance as often as not, an item of that size does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from binwatch.edge import light
from binwatch.edge.landing import Landing
from binwatch.edge.light import CLIPPED
from binwatch.edge.region import Region, View, mean_view

CROP_MARGIN = 0.12  # of the item's size, each side: the evidence crop shows a reviewer some context
BEYOND_SHARE = 0.1  # a region with more than this share of its pixels beyond the rim is no item
LIGHT_DRIFT = 0.15  # residual colour gains beyond ±15 % are a change of contents, not of light
NOISE_QUANTILE, NOISE_MARGIN = 0.999, 1.5  # the noise level: this quantile of a null comparison, times this
GHOST_RATIO = 2.0  # the views before stood out of the background this many times more than the view after: theirs
NUDGE_PX = 2  # pile contents shoved by this many pixels: the reach of the change map's 5 × 5 smoothing
NECK = 1.5  # two parts of a region are two items when each is this many times thicker than the neck between them
WAIST = 0.95  # ... and when the region itself, filled, narrows between them to this share of the thinner part
THINNED = 1.5  # a region whose pieces of change hold this many times its own changed pixels was thinned
FRINGE_PX = 4  # a region's own fringe: the change map's smoothing (2 px) and the coder's ringing along its edge
FAINT_FRACTION = 0.01  # a faint change counts when it is a solid blob of this share of the opening
# A compressed picture redraws a textured pixel by a few grey levels each time it is encoded anew (H.264
# as cameras stream it: 35-40 dB, an RMS error of 2.5-4.5 levels, √2 times that between two encodings),
# which no two halves of one still run show (the coder repeats still blocks exactly). Changes are measured
# in normalised units, so in a dark picture, brightened by 1 / gain, this floor of raw levels matters.
CODED_LEVELS = 8.0
# Beyond that floor the coder redraws lit, saturated contents wherever a head or an arm passed over them
# (in a dark picture brightened five times, by as much again). A redraw changes a region no more than the
# opening's quiet pixels (outside every region) change at their ``NOISE_QUANTILE``; an item changes most
# of its pixels more than that. Brightness and colour are judged apart, each against its own quiet change;
# colour with ``NOISE_MARGIN`` besides, since a coder that keeps colour at a quarter of the pixels (4:2:0)
# makes its colour error where colour is strong, in the saturated contents more than in the quiet bag.


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def grown(self, margin: float, bounds: tuple[int, int]) -> Box:
        """Enlarged by ``margin`` of its size on each side, clipped to ``bounds`` (width, height)."""
        mx, my = max(2, round(self.w * margin)), max(2, round(self.h * margin))
        x0, y0 = max(0, self.x - mx), max(0, self.y - my)
        x1, y1 = min(bounds[0], self.x + self.w + mx), min(bounds[1], self.y + self.h + my)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def joined(self, other: Box) -> Box:
        """The smallest box that holds both."""
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.x + self.w, other.x + other.w), max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.y : self.y + self.h, self.x : self.x + self.w]


@dataclass(frozen=True)
class Found:
    """A new item: its box in the region's coordinates, and within that box a mask of its
    outline (the convex hull of what changed, so that parts of the item that happen to look
    like what lay beneath still count as item)."""

    box: Box
    mask: np.ndarray
    landed_at: float | None = None  # seconds (the agent's clock) when it came to lie still, if known
    covered: bool = False  # a later item came to lie over it: the view after does not show it


@dataclass(frozen=True)
class Comparison:
    items: list[Found]
    faint: bool  # a change too faint to isolate as an item
    large: float  # share of the opening in regions larger than an item (an emptying, a cover)
    changed: float  # share of the opening that changed, in regions within the rim
    threshold: float  # the change that counted, in normalised grey levels


def compare(
    before_views: Sequence[View],
    after_views: Sequence[View],
    region: Region,
    delta: float,
    min_fraction: float,
    max_fraction: float,
    landings: Callable[[np.ndarray], list[Landing]] | None = None,
    brief: bool = False,
) -> Comparison:
    """The changes between the clear views before and after a disposal (of ``region``), judged as
    above; ``landings`` says when the pixels of a region of change landed (``landing.Footage``).
    ``brief``: the opening was busy for less time than a hand that lets something go stays there
    (``segment.REACH_S``), as when the edge of a body walking by crosses it. Where it passed over the
    contents the coder redraws them, by about as much as the quiet opening's most changed pixels: a
    region must then stand out by ``NOISE_MARGIN`` in brightness too."""
    inside = region.inside > 0
    before, after = mean_view(before_views), mean_view(after_views)
    old, new = before.normalised(), after.normalised()
    change = _change(before, after, old, new)
    difference = _smoothed(light.channel_max(np.abs(change)))
    luma, chroma = (_smoothed(c) for c in light.brightness_and_colour(change))
    measured = _noise_level(before_views, after_views, inside)
    noise = max(measured, CODED_LEVELS / min(before.gain, after.gain))
    threshold = max(delta, noise)
    side = min(region.opening_size)
    closing = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, (side // 8) | 1),) * 2)
    solid = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, (side // 20) | 1),) * 2)
    min_area, max_area = min_fraction * region.area, max_fraction * region.area
    margin = NOISE_MARGIN if brief else 1.0
    items: list[Found] = []
    large_px = changed_px = 0
    claimed = np.zeros(inside.shape, bool)  # regions judged
    kept = np.zeros(inside.shape, bool)  # regions judged a change: items, or larger than one

    def judge(level: float, least: float) -> None:
        """The regions of change at ``level`` of at least ``least`` pixels, each judged as above; what
        overlaps a change kept at a higher level was judged there."""
        nonlocal large_px, changed_px
        changed = (difference > level).astype(np.uint8)
        opened = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        _, pieces = cv2.connectedComponents(cv2.morphologyEx(changed, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)))
        count, labels = cv2.connectedComponents(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, closing), connectivity=8)
        in_count = np.bincount(labels[inside], minlength=count)
        beyond_count = np.bincount(labels[region.beyond > 0], minlength=count)
        quiet = inside & (labels == 0)
        for label in range(1, count):
            area = int(in_count[label])
            if area < least or beyond_count[label] > BEYOND_SHARE * (area + beyond_count[label]):
                continue
            mask = (labels == label) & inside
            if (mask & kept).any():
                continue
            # A textured item changes in speckle that the opening thins to a core: the pieces of change it overlaps
            # are its own. (Where the opening took little, the region is the item as it was.)
            own = np.isin(pieces, np.unique(pieces[mask])) & (pieces > 0) & inside & ~claimed
            thinned = np.count_nonzero(own & changed) > THINNED * np.count_nonzero(mask & changed)
            if thinned:
                mask |= own
            marked = mask & (difference > level)  # what the closing added changed less: not the item's change
            claimed[mask] = True
            if area <= max_area and not _stands_out(
                luma[marked], chroma[marked], *_quiet(luma, chroma, quiet, mask), margin
            ):
                continue  # the coder's redraw of what lay there, not something new
            kept[mask] = True
            changed_px += area
            if area > max_area:
                large_px += area
                continue
            # Its shape for the neck test: cracks where part of an item looks like the bag closed, not the
            # notches where two items touch; a thinned region's speckle closed over its gaps, which are no necks.
            outline = marked | own if thinned else marked
            shape = cv2.morphologyEx(outline.astype(np.uint8), cv2.MORPH_CLOSE, solid) > 0
            nudged = partial(_nudged, changed=marked, old=old, new=new, level=level)
            items.extend(_split(mask, shape & mask, landings, min_area, nudged))

    judge(threshold, min_area)
    if max(delta, measured) < threshold:
        # The coder's floor raised the threshold (a dark picture): below it, a change at least as large as a faint
        # one is judged at the threshold that noise and ``delta`` set, against the quiet pixels there,
        # never below half the floor: a darker picture, coded harder, redraws the pile by more than ``delta``.
        judge(max(delta, measured, noise / 2), max(min_area, FAINT_FRACTION * region.area))
    # What only half the threshold sees (never less than noise), apart from what was judged above,
    # is a faint change if it is solid: opened, not closed, so that the speckle with which a coder
    # redraws a textured pile between two moments falls apart instead of joining up.
    weak = (difference > max(threshold / 2, noise)).astype(np.uint8)
    count, labels = cv2.connectedComponents(cv2.morphologyEx(weak, cv2.MORPH_OPEN, solid), connectivity=8)
    weak_in = np.bincount(labels[inside], minlength=count)
    weak_beyond = np.bincount(labels[region.beyond > 0], minlength=count)
    judged = np.bincount(labels[claimed], minlength=count)
    faint = (weak_in >= FAINT_FRACTION * region.area) & (judged == 0)
    faint &= weak_beyond <= BEYOND_SHARE * (weak_in + weak_beyond)
    return Comparison(items, bool(faint[1:].any()), large_px / region.area, changed_px / region.area, threshold)


def _change(before: View, after: View, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Per pixel and channel, the signed change in normalised units.

    What is left of a change of light after the gains (colour temperature drifts) is taken out
    channel by channel: the median, pixel by pixel, of the ratio over the whole window (the opening,
    its rim and what lies around it), if it is small; a large one is not the light. Neither the ratio of
    the medians nor the opening alone would do: items heaped in a dark opening, or an emptying, move
    them by 10-25 % with no change of light, and that ratio, taken out of the bright rim, made the rim
    change and join the items' change, which then ran beyond the rim and was no item. ``old`` and
    ``new``: the two views normalised."""
    usable = (before.image.min(axis=2) > 8) & (after.image.min(axis=2) > 8)
    usable &= (light.channel_max(before.image) < CLIPPED) & (light.channel_max(after.image) < CLIPPED)
    old_gain: float | np.ndarray = before.gain
    if np.count_nonzero(usable) > 0.2 * usable.size:
        ratio = np.median(new[usable] / np.maximum(old[usable], 1e-3), axis=0)
        if np.all(np.abs(np.log(ratio)) < LIGHT_DRIFT):
            old_gain = before.gain / ratio
    return light.signed_difference(after.image, after.gain, before.image, old_gain)


def _smoothed(change: np.ndarray) -> np.ndarray:
    """A map of change, smoothed over a few pixels."""
    return cv2.GaussianBlur(change, (5, 5), 0)


def _stands_out(
    luma: np.ndarray, chroma: np.ndarray, quiet_luma: float, quiet_chroma: float, luma_margin: float = 1.0
) -> bool:
    """Whether a region changed in brightness (by ``luma_margin``) or in colour more than the quiet opening did
    (see ``CODED_LEVELS``)."""
    if luma.size == 0:
        return False
    return bool(np.median(luma) > luma_margin * quiet_luma or np.median(chroma) > NOISE_MARGIN * quiet_chroma)


def _quiet(luma: np.ndarray, chroma: np.ndarray, quiet: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    """How much the ``quiet`` pixels change (brightness, colour), at ``NOISE_QUANTILE``, leaving out those within
    ``FRINGE_PX`` of ``region``: its own blurred edge. In a small opening the few pixels of that quantile are
    otherwise the item's own, and an item never stands out of itself."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * FRINGE_PX + 1,) * 2)
    quiet = quiet & (cv2.dilate(region.astype(np.uint8), disc) == 0)
    if not quiet.any():
        return 0.0, 0.0
    return float(np.quantile(luma[quiet], NOISE_QUANTILE)), float(np.quantile(chroma[quiet], NOISE_QUANTILE))


def _noise_level(before: Sequence[View], after: Sequence[View], inside: np.ndarray) -> float:
    """The change that noise alone makes between the two means, measured on the views themselves:
    the difference between the means of two halves of the more numerous side, processed like the
    real one, at its ``NOISE_QUANTILE``, scaled to the real comparison's numbers of frames."""
    views = after if len(after) >= len(before) else before
    if len(views) < 2:
        return 0.0
    half = len(views) // 2
    first, second = mean_view(views[:half]), mean_view(views[half:])
    null = _smoothed(light.channel_max(np.abs(_change(first, second, first.normalised(), second.normalised()))))
    null = null[inside]
    measured = np.sqrt(1 / half + 1 / (len(views) - half))
    wanted = np.sqrt(1 / len(before) + 1 / len(after))
    return float(np.quantile(null, NOISE_QUANTILE)) * wanted / measured * NOISE_MARGIN


def _split(
    mask: np.ndarray,
    marked: np.ndarray,
    landings: Callable[[np.ndarray], list[Landing]] | None,
    min_area: float,
    nudged: Callable[[np.ndarray], bool],
) -> list[Found]:
    """One region of change as the items in it: those that landed at different moments, else those
    that lie joined by a neck (two items let go at once, or hidden by a head until both lay there,
    that came to lie touching), found in its ``marked`` pixels (before the closing that joins an
    item's fragments, which fills necks too). Pixels of no moment or no part go to the nearest. Each
    part must be an item's area (``min_area``), not a share of the region: a small item beside or under a
    large one is an item too. A part of a neck split that is only pile contents shoved along (``nudged``) is
    none. An item that a later one hid (a ``covered`` landing) is an item of its own, where it lay."""
    landed = landings(mask) if landings is not None else []
    hidden = [_found(moment.mask & mask, moment.seconds, covered=True) for moment in landed if moment.covered]
    moments = [moment for moment in landed if not moment.covered]
    if len(moments) >= 2:
        pieces = _pieces(mask, [(moment.mask & mask, moment.seconds) for moment in moments], min_area)
        return hidden + ([_found(piece, at) for piece, at in pieces] or [_found(mask, None)])
    landed_at = moments[0].seconds if moments else None
    cores = _cores(marked, min_area, float(np.sqrt(min_area / np.pi)))
    pieces = _waisted(mask, _pieces(mask, [(core, landed_at) for core in cores], min_area)) if len(cores) >= 2 else []
    new = [(piece, at) for piece, at in pieces if not nudged(piece)]
    return hidden + ([_found(piece, at) for piece, at in new or pieces] or [_found(mask, landed_at)])


def _nudged(part: np.ndarray, changed: np.ndarray, old: np.ndarray, new: np.ndarray, level: float) -> bool:
    """Whether most of what changed in ``part`` looks now as the view before (``old``, normalised) showed it
    a pixel or two away: pile contents that the item landing beside them shoved along, their edges and
    texture shifted, not something new (nothing new is in the view before, so near)."""
    ys, xs = np.nonzero(part & changed)
    if ys.size == 0:
        return False
    height, width = old.shape[:2]
    now, best = new[ys, xs], 0.0
    for dy in range(-NUDGE_PX, NUDGE_PX + 1):
        for dx in range(-NUDGE_PX, NUDGE_PX + 1):
            if (dx, dy) != (0, 0):
                then = old[np.clip(ys - dy, 0, height - 1), np.clip(xs - dx, 0, width - 1)]
                best = max(best, float(np.mean(light.channel_max(np.abs(now - then)) <= level)))
    return best > 0.5


def _pieces(
    mask: np.ndarray, seeds: list[tuple[np.ndarray, float | None]], smallest: float
) -> list[tuple[np.ndarray, float | None]]:
    """``mask`` shared out among the seeds (each with its landing), every pixel to the nearest; pieces of at
    least ``smallest`` pixels."""
    owner = np.zeros(mask.shape, np.int32)
    distances = []
    for i, (seed, _) in enumerate(seeds, start=1):
        owner[seed] = i
        distances.append(cv2.distanceTransform((~seed).astype(np.uint8), cv2.DIST_L2, 3))
    nearest = np.argmin(np.stack(distances), axis=0) + 1
    owner = np.where(mask & (owner == 0), nearest, owner) * mask
    pieces = [(owner == i, at) for i, (_, at) in enumerate(seeds, start=1)]
    return [(piece, at) for piece, at in pieces if piece.sum() >= smallest]


def _waisted(mask: np.ndarray, pieces: list[tuple[np.ndarray, float | None]]) -> list[tuple[np.ndarray, float | None]]:
    """The pieces of a neck split, those that the region joins without narrowing between them (``WAIST``) put
    together again; none if that leaves one. A crack across one item (a band of it that looks like what lay
    beneath) thins its marked pixels as the notch between two touching items does, but the region, filled,
    runs on across it as wide as the item."""
    radius = cv2.distanceTransform(_filled(mask), cv2.DIST_L2, 5)
    near = np.ones((3, 3), np.uint8)
    pieces = list(pieces)
    for i in range(len(pieces) - 1, 0, -1):
        for j in range(i):
            border = pieces[j][0] & (cv2.dilate(pieces[i][0].astype(np.uint8), near) > 0)
            thinner = min(radius[pieces[i][0]].max(), radius[pieces[j][0]].max())
            if border.any() and radius[border].max() > WAIST * thinner:
                pieces[j] = (pieces[j][0] | pieces.pop(i)[0], pieces[j][1])
                break
    return pieces if len(pieces) >= 2 else []


def _cores(mask: np.ndarray, smallest: float, least_radius: float) -> list[np.ndarray]:
    """The cores of the items a region of change is made of, by its shape: the region thinned step by
    step (its distance transform cut at each level) until it falls apart into pieces, each of which
    is ``NECK`` times thicker than the neck that joined them, holds a disc of ``least_radius`` (the
    smallest item's area: the thin, ragged change of an item seen through a bag has necks of its own)
    and is big enough for an item once grown back. One item, however long, bent, or holed, thins
    evenly and never falls apart so; two items joined where they touch come apart at the neck. Holes (a
    highlight, a spot that looks as the bag did) are filled first: they thin an item where it is whole."""
    solid = _filled(mask) > 0
    distance = cv2.distanceTransform(solid.astype(np.uint8), cv2.DIST_L2, 5)
    for level in range(1, int(distance.max())):
        count, labels = cv2.connectedComponents((distance > level).astype(np.uint8), connectivity=8)
        if count < 3:
            continue
        thick = [k for k in range(1, count) if distance[labels == k].max() >= max(NECK * level, least_radius)]
        # Grown back by its neck, a core must cover an item's worth of the region.
        grown = [
            np.count_nonzero((cv2.dilate((labels == k).astype(np.uint8), _disc(level)) > 0) & solid) for k in thick
        ]
        cores = [labels == k for k, area in zip(thick, grown, strict=True) if area >= smallest]
        if len(cores) >= 2:
            return cores
    return []


def _filled(mask: np.ndarray) -> np.ndarray:
    """uint8 0/1: ``mask`` with its holes filled."""
    outlines, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.drawContours(np.zeros(mask.shape, np.uint8), outlines, -1, 1, cv2.FILLED)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _found(mask: np.ndarray, landed_at: float | None, covered: bool = False) -> Found:
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    outline, _ = cv2.findContours(
        mask[y : y + h, x : x + w].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    hull = np.zeros((h, w), np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.vstack(outline))], 255)
    return Found(Box(x, y, w, h), hull, landed_at, covered)


def before_only(before: View, after: View, background: np.ndarray, masks: Sequence[np.ndarray]) -> list[bool]:
    """For each change (``masks``, over the small window of ``background``): whether the views before
    brought it, not the disposal: where it lies, the view after looks as the opening's background did when
    the disposal began (normalised, on the small frame; it never takes in what passes), and the views
    before do not. A head passing over a heap beyond the opening in the last clear views before a disposal
    leaves such a change; an item, however faint, differs from the background after and not before."""
    size = background.shape[1::-1]
    old = light.channel_max(np.abs(cv2.resize(before.normalised(), size, interpolation=cv2.INTER_AREA) - background))
    new = light.channel_max(np.abs(cv2.resize(after.normalised(), size, interpolation=cv2.INTER_AREA) - background))
    return [
        bool(mask.any()) and float(np.median(new[mask])) * GHOST_RATIO < float(np.median(old[mask])) for mask in masks
    ]
