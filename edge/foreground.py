"""Per bin opening: a background of the opening and the ring around it, and what stands out of it.

What stands out (the foreground) is either transient or deposited. A person, a hand, an arm,
a shadow reaches over the rim from outside: foreground that lies on the rim itself, joined to
foreground inside the opening or beyond it. An item lying in the bin stands out inside the
opening only, detached from anything on the rim. ``OpeningWatch`` tells the two apart on the
small normalised frame of ``motion``, every frame:

* ``over_rim``: something extends over the rim. A disposal is not over while it does, so a hand
  that hesitates, or a bystander in front of the bin, is never taken for the "after" view. What
  lies over the rim, has not moved at all for ``STILL_S`` (people sway, hands tremble, shadows
  drift) and covers most of the opening (``HEAP_COVER``: contents tipped in and heaped above the
  rim; by the part of the change since the disposal began that it lies in, since the background
  takes it in slowly meanwhile; and lies mostly over the bin, ``HEAP_OFF_BIN``: a bystander
  leaning over it as still lies in as large a part of the change) or lies on the bin's heap (an
  item thrown onto it; or on the heap found in this frame, a piece apart from it) is no body but
  the bin's contents, and holds nothing open (``deposited``). A bystander who keeps still stands
  beside the bin, over a part of it: still a body;
* ``standing_out`` and ``reaching``: the masks behind these (``landing.Footage`` keeps
  ``reaching`` while a disposal goes on);
* the moving shares of the opening and of the ring, from the frame difference.

The background follows the light where nothing stands out (a few frames), absorbs what stands
out but keeps still only slowly (``ABSORB_S``: a parked trolley stops standing out after a
while), and takes the opening's new contents at once when a disposal is concluded (``settle``),
with what was deposited over the rim: a heap above the rim is part of the bin's look from then
on, and its extent beyond the opening is kept (``heaped``) until the bin is emptied, so that an
item thrown onto the heap is told from a body by the bin's extent, not the opening's. A disposal cut
short (``release``) takes in what kept still over the rim until then, body or contents, so that it
holds the opening busy no longer. While a
disposal goes on, a copy of the background as it began is held as well; and each pixel keeps its
background as it last looked with nothing there (``bare``: it follows the light only where the frame
looks like both, and takes a disposal's new contents when it settles, but not what the background took
in slowly, such as a bystander who kept still so long that the disposal settled around them). Only what
differs from all three stands out: a person who stood so long that the background began to take them in
leaves no ghost behind when they go, even when their going starts a disposal of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from binwatch.edge.light import channel_max, difference
from binwatch.edge.motion import NOISE_SIGMAS, SmallFrame, small_points
from binwatch.edge.region import ON_HEAP

RIM_FRACTION = 0.08  # width of the rim ring just outside the opening, of the opening's smaller side
BAND_FRACTION = 0.2  # outer edge of the ring around the opening, of its smaller side
FOLLOW_S = 0.7  # the background follows the light over this time where nothing stands out
ABSORB_S = 20.0  # ... and takes in what stands out but keeps still over this time
STILL_S = 4.0  # something over the rim that has not moved for this long is deposited there, not a body …
HEAP_COVER = 0.5  # … if it covers this share of the opening (new contents heaped over it) …
HEAP_OFF_BIN = 0.5  # … and at most this share of it lies off the bin (a body leaning over stands mostly beside it) …
OFF_BIN_SHARE = 0.1  # … or lies on the bin's heap (and what an item on it adds, ``ON_HEAP``), little of it elsewhere
MIN_PIXELS = 2  # of a foreground blob on the rim, and of its part inside or beyond it


@dataclass(frozen=True)
class Observation:
    moving: float  # share of the opening's pixels that moved since the previous frame
    moving_band: float  # share of the ring's pixels that moved
    over_rim: bool  # something reaches over the rim from outside
    reaching_in: float  # share of the opening covered by what reaches over the rim
    reaching_far: float  # ... of the opening's far half, seen from where it comes over the rim (``FarHalf``)
    foreground: float  # share of the opening that differs from its background
    standing_out: np.ndarray  # bool over the window: differs from the background
    reaching: np.ndarray  # bool over the window: part of something over the rim
    deposited: np.ndarray  # bool over the window: over the rim, but still for ``STILL_S``: no body


class OpeningWatch:
    """The small-frame model of one opening; ``window`` is its region of the small frame."""

    def __init__(self, polygon: Sequence[tuple[int, int]], scale: float, small_size: tuple[int, int], delta: float):
        full, side = _filled(polygon, scale, small_size)
        band = max(4, round(BAND_FRACTION * side))
        inner_rim, outer_rim, outer = _grown(full, 1), _grown(full, _rim_width(side) + 1), _grown(full, band)
        x, y, w, h = cv2.boundingRect(outer)
        self.window = (slice(y, y + h), slice(x, x + w))
        self.inside = full[self.window].astype(bool)
        self.rim = ((outer_rim - inner_rim)[self.window]).astype(bool)
        self.beyond = ((outer - outer_rim)[self.window]).astype(bool)
        self.band = ((outer - full)[self.window]).astype(bool)
        self.area = max(1, int(self.inside.sum()))
        self.far_half = FarHalf(self.inside)
        self._band_area = max(1, int(self.band.sum()))
        self.delta = delta
        self.background: np.ndarray | None = None
        self.held: np.ndarray | None = None  # the background as a disposal began, while it goes on
        self._bare: np.ndarray | None = None  # per pixel, the background as it last was with nothing standing out
        self.heaped = np.zeros(self.inside.shape, bool)  # outside the opening: contents taken in as the bin's
        self._moved_at = np.full(self.inside.shape, -np.inf, np.float32)  # when each pixel last moved
        self._deposited = np.zeros(self.inside.shape, bool)
        self._kept_still = np.zeros(self.inside.shape, bool)  # over the rim and still for ``STILL_S``, body or not
        self._extent = self.inside.copy()  # the bin as far as its contents reach: the opening, and the heap
        self._on_heap = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(ON_HEAP * side) + 1,) * 2)
        self._t: float | None = None

    def update(self, small: SmallFrame, t: float) -> Observation:
        """This frame (``t`` in seconds, any origin) against the background; updates the background."""
        image = small.image[self.window]
        colour = image.astype(np.float32) * np.float32(1.0 / small.gain)
        moving = small.moving[self.window] > 0
        # A single pixel is noise or the coder; motion is two by two at least.
        moved = cv2.morphologyEx(small.moving[self.window], cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
        self._moved_at[moved] = t
        if self.background is None or self._bare is None:
            self.background, self._bare = colour.copy(), colour.copy()
        dt = 0.0 if self._t is None else max(0.0, t - self._t)
        self._t = t
        threshold = self._threshold(small)
        against_background = stands_out(image, small.gain, self.background, threshold)
        # What looks again as it did before anything stood there stands out no longer: where a bystander
        # stood until the background began to take them in, nothing is left once they go.
        against_bare = stands_out(image, small.gain, self._bare, threshold)
        standing_out: np.ndarray = against_background & against_bare
        changed = None  # what differs from the opening as the disposal began
        if self.held is not None:  # ... or as it did when the disposal began (what the background took in since)
            changed = stands_out(image, small.gain, self.held, threshold)
            standing_out &= changed
        standing_out = cv2.morphologyEx(standing_out, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        count, labels = cv2.connectedComponents(standing_out, connectivity=8)
        reaching = np.zeros(standing_out.shape, bool)
        deposited = np.zeros(standing_out.shape, bool)
        kept_still = np.zeros(standing_out.shape, bool)
        if count > 1:
            on_rim = np.bincount(labels[self.rim], minlength=count)
            inside = np.bincount(labels[self.inside], minlength=count)
            beyond = np.bincount(labels[self.beyond], minlength=count)
            over = (on_rim >= MIN_PIXELS) & ((inside >= MIN_PIXELS) | (beyond >= MIN_PIXELS))
            over[0] = False
            if over.any():
                active = np.bincount(labels[(t - self._moved_at) < STILL_S], minlength=count) > 0
                # Still is not enough: a bystander may keep still too. Contents cover the opening they came
                # into, or lie on the bin's heap; a body stands beside the bin, over a part of it.
                total = np.bincount(labels.ravel(), minlength=count)
                off_bin = np.bincount(labels[~self._extent], minlength=count)
                still = over & ~active
                heap = self._heap(labels, still, over & active, inside, changed) & (off_bin <= HEAP_OFF_BIN * total)
                if heap.any():  # what lies on the heap as well, though apart from it
                    extent = self._extent | (cv2.dilate(heap[labels].view(np.uint8), self._on_heap) > 0)
                    off_bin = np.bincount(labels[~extent], minlength=count)
                on_bin = heap | (off_bin <= OFF_BIN_SHARE * total)
                reaching = (over & (active | ~on_bin))[labels]
                deposited = (still & on_bin)[labels]
                kept_still = still[labels]
        self._deposited, self._kept_still = deposited, kept_still
        # Follow the light where nothing stands out; take in, slowly, what stands out but keeps still.
        follow = 1 - np.exp(-dt / FOLLOW_S)
        absorb = 1 - np.exp(-dt / ABSORB_S)
        rate = np.where(standing_out > 0, np.where(moving, np.float32(0), np.float32(absorb)), np.float32(follow))
        self.background += rate[:, :, None] * (colour - self.background)
        # The bare look follows the light where the pixel looks like both (what was taken in, not).
        np.copyto(self._bare, self.background, where=((against_background | against_bare) == 0)[:, :, None])
        return Observation(
            moving=float(np.count_nonzero(moving & self.inside)) / self.area,
            moving_band=float(np.count_nonzero(moving & self.band)) / self._band_area,
            over_rim=bool(reaching.any()),
            reaching_in=float(np.count_nonzero(reaching & self.inside)) / self.area,
            reaching_far=self.far_half.share(reaching),
            foreground=float(np.count_nonzero(standing_out.astype(bool) & self.inside)) / self.area,
            standing_out=standing_out.astype(bool),
            reaching=reaching,
            deposited=deposited,
        )

    def _heap(
        self, labels: np.ndarray, still: np.ndarray, moving: np.ndarray, inside: np.ndarray, changed: np.ndarray | None
    ) -> np.ndarray:
        """Per blob, whether it keeps still over the rim and covers most of the opening: contents heaped over it.
        While a disposal goes on, a blob covers the part of the change since it began that it lies in, less what
        moves over the rim: the background takes in slowly what keeps still, so a heap stands out of less and
        less of the opening, in pieces, while it lies there, and by the time it has kept still for ``STILL_S`` it
        must not look like bodies standing beside the bin. A body that leans over the opening and keeps as still
        lies in as large a part of the change: what tells it from a heap is that most of it stands beside the bin
        (``HEAP_OFF_BIN``, the caller's test)."""
        if changed is None or not still.any():
            return still & (inside >= HEAP_COVER * self.area)
        parts, part_labels = cv2.connectedComponents(changed, connectivity=8)
        covers = np.bincount(part_labels[self.inside & ~moving[labels]], minlength=parts)
        part_of = np.zeros(len(still), np.int64)
        counted = changed > 0  # a blob lies within one part of the change (but for a pixel its opening shifted)
        part_of[labels[counted]] = part_labels[counted]
        return still & (part_of > 0) & (covers[part_of] >= HEAP_COVER * self.area)

    def _threshold(self, small: SmallFrame) -> float:
        """The change that stands out on this frame: the configured delta, raised with the noise."""
        return max(self.delta, NOISE_SIGMAS * small.noise)

    def hold(self) -> None:
        """A disposal begins: keep the background as it is now until ``settle``."""
        if self.background is not None:
            self.held = self.background.copy()

    def release(self, small: SmallFrame) -> None:
        """A disposal ended without a clear view: the held copy goes, and what has kept still over the rim for
        ``STILL_S`` is taken into the background as it looks now. It held the disposal open until it was cut,
        and would hold the opening busy, and every disposal after it unseen, until the background took it in
        slowly: contents heaped over the rim that the deposit rule could not tell from a body standing still
        (heaped over less than half the opening, part of them beyond the rim), or a person who kept still for
        as long. The bare look keeps what lay under it: when it goes, it leaves no ghost."""
        self.held = None
        if self.background is not None and self._kept_still.any():
            colour = small.image[self.window].astype(np.float32) * np.float32(1.0 / small.gain)
            self.background[self._kept_still] = colour[self._kept_still]

    def settle(self, small: SmallFrame) -> None:
        """A disposal is concluded: what lies in the opening now, and what was deposited over its rim,
        is its background; the deposit's part outside the opening is heaped contents from now on."""
        self.held = None
        if self.background is not None and self._bare is not None:
            colour = small.image[self.window].astype(np.float32) * np.float32(1.0 / small.gain)
            taken = self.inside | self._deposited
            # What the background took in slowly kept still there for seconds: a bystander who is still there
            # (they stand out no longer), not what the disposal left. The bare look keeps what was under them.
            taken_in = channel_max(cv2.absdiff(self.background, self._bare)) > self._threshold(small)
            self.background[taken] = colour[taken]
            fresh = taken & ~taken_in
            self._bare[fresh] = colour[fresh]
            self.heaped |= cv2.dilate(self._deposited.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
            self.heaped &= ~self.inside
            self._extent = self.inside | (cv2.dilate(self.heaped.view(np.uint8), self._on_heap) > 0)

    def emptied(self) -> None:
        """The bin was emptied: nothing of it is heaped over the rim any more."""
        self.heaped[:] = False
        self._extent = self.inside.copy()


class FarHalf:
    """An opening's pixels about its centre, kept to say what share of its far half something reaching in
    covers: the half beyond the centre as seen from where it comes over the rim (its part outside the
    opening). A person bent over a bin covers its near part with head and torso as long as they stand
    there; only a hand reaches beyond, and it leaves that half between two reaches."""

    def __init__(self, inside: np.ndarray):
        self.inside = inside
        self.ys, self.xs = np.nonzero(inside)
        self.centre = (float(self.ys.mean()), float(self.xs.mean())) if self.ys.size else (0.0, 0.0)
        self.dy, self.dx = self.ys - self.centre[0], self.xs - self.centre[1]

    def share(self, reaching: np.ndarray) -> float:
        outside = reaching & ~self.inside
        if not outside.any():
            return 0.0
        oy, ox = np.nonzero(outside)
        far = self.dy * (self.centre[0] - oy.mean()) + self.dx * (self.centre[1] - ox.mean()) > 0
        if not far.any():
            return 0.0
        return float(np.count_nonzero(reaching[self.ys[far], self.xs[far]])) / int(np.count_nonzero(far))


def with_rim(polygon: Sequence[tuple[int, int]], scale: float, small_size: tuple[int, int]) -> np.ndarray:
    """bool over the small frame: an opening and the rim ring just outside it, as ``OpeningWatch`` draws
    them. Both are the bin's: its rim shows again when the contents heaped over it are emptied."""
    full, side = _filled(polygon, scale, small_size)
    return _grown(full, _rim_width(side) + 1).astype(bool)


def _filled(polygon: Sequence[tuple[int, int]], scale: float, small_size: tuple[int, int]) -> tuple[np.ndarray, int]:
    """An opening filled on the small frame (uint8 0/1), and its bounding box's smaller side in small pixels."""
    points = small_points(polygon, scale)
    full = np.zeros(small_size[::-1], np.uint8)
    cv2.fillPoly(full, [points], 1)
    _, _, w, h = cv2.boundingRect(points)
    return full, min(w, h)


def _rim_width(side: int) -> int:
    return max(2, round(RIM_FRACTION * side))


def _grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1)))


def stands_out(image: np.ndarray, gain: float, background: np.ndarray, threshold: float) -> np.ndarray:
    """uint8 0/1: where ``image`` (at exposure ``gain``) differs from a normalised ``background``."""
    # The background as this exposure would show it, clipped where it would clip.
    expected = background * gain
    np.minimum(expected, 255, out=expected)
    return (channel_max(difference(image, gain, expected, gain)) > threshold).view(np.uint8)
