"""Ground zones: something left on the floor beside the bins and staying there is litter (Art. 16
forbids dumping beside the facilities); the ground looking bare again clears it.

One ``GroundWatch`` per ``[[zones]]`` entry of kind ``ground`` works on the motion stage's small,
normalised frame, like ``foreground.OpeningWatch`` does for an opening, but with a long memory:

* **Background.** Learnt from the first frames and then following the light only where nothing
  stands out (``foreground.FOLLOW_S``). What stands out is never taken in: litter stays litter
  until somebody takes it away, however long that takes.
* **People are not litter.** What stands out is cut into connected blobs over the zone and a
  margin around it. A blob with any motion in it is somebody (or something) active, and none of
  it keeps still; so is a blob whose larger part lies outside the zone (a person standing in it
  rises above the floor, beyond the zone's far edge in the picture).
  A bag put down by somebody who then walks off becomes a blob of its own the moment they part.
* **Light is not litter.** Nothing comes to lie on the ground without moving there: a pixel that
  begins to stand out in a blob with no motion in it (or only in a frame where the exposure stepped,
  ``light.exposure_stepped``) is the light, never a thing, for as long as it stands out.
* **A bin's opening is the bin's.** Where the zone reaches over an opening or its rim in the picture,
  that part is left out: what comes into an opening is a disposal, and an emptying bares the rim.
* **Litter.** Pixels inside the zone that arrived and keep still, in a still blob, form the
  candidates; a connected piece of at least ``litter.min_fraction`` of the zone is litter, all of
  it, once half of it has kept still for ``litter.stay_s`` in all: what somebody active joins or
  covers in the picture waits for them to go, gaining nothing, and goes on where it looks as it did.
  It began when its earliest pixel began to stand out (when it was put down, or when somebody first
  covered that spot).
* **Cleared.** When less than ``CLEAR_SHARE`` of the litter's pixels still stand out for
  ``litter.clear_s`` (somebody standing over it still stands out: it is not cleared by being
  hidden), the ground is clear again; the clearing time is the start of that stretch.

Thresholds are those of the openings (``motion_pixel_delta`` raised with the measured noise), in
normalised grey levels, so auto-exposure and evening light move none of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np

from binwatch.edge.config import LitterConfig, ZoneConfig
from binwatch.edge.foreground import FOLLOW_S, MIN_PIXELS, stands_out, with_rim
from binwatch.edge.isolate import Box
from binwatch.edge.light import CLIPPED, channel_max
from binwatch.edge.motion import NOISE_SIGMAS, SmallFrame, small_points

MARGIN_FRACTION = 0.6  # the watched window reaches this share of the zone's height beyond it
CLEAR_SHARE = 0.25  # litter is gone when less than this share of its pixels still stands out
NEVER = np.inf
RIPE_SHARE = 0.5  # a still piece is litter, all of it, once this share of it has kept still for ``stay_s``
ITSELF_SHARE = 0.25  # a still piece of which this share moves, with most of its blob's motion, moved itself
RELIT_CORRELATION = 0.9  # a piece whose grey levels follow the ground's under it this closely is the light


@dataclass(eq=False)
class Litter:
    """Something left in a ground zone: found at ``confirmed_at``, there since ``started_at``.

    Each piece is one object, equal only to itself (``eq=False``): compared by value, two pieces would
    compare their pixel masks, which numpy cannot answer with one truth value."""

    zone: ZoneConfig
    mask: np.ndarray  # bool over the watch's window
    box: Box  # in frame coordinates
    started_at: datetime
    confirmed_at: datetime
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)  # of its littering event, for the clearing to name
    cleared_at: datetime | None = None  # the ground looked bare again from here on
    _clear_since: datetime | None = None


@dataclass(frozen=True)
class GroundChange:
    """What a frame changed in a zone: ``litter`` was found (``cleared`` False) or is gone."""

    litter: Litter
    cleared: bool


class StillZone:
    """The small-frame model of one zone beside the bins: a long-term background, what stands out
    of it, and since when each pixel has stood out and kept still by the zone's own rule (``_stillness``),
    counted only for pixels that arrived (began to stand out in a blob that moved, or on the first frame
    after a gap). ``GroundWatch`` finds litter with it, ``collection.ContainerWatch`` a collector's container."""

    def __init__(
        self,
        zone: ZoneConfig,
        scale: float,
        small_size: tuple[int, int],
        delta: float,
        openings: Sequence[Sequence[tuple[int, int]]] = (),
    ):
        self.zone, self.scale, self.delta = zone, scale, delta
        points = small_points(zone.polygon, scale)
        x, y, w, h = cv2.boundingRect(points)
        margin = max(2, round(MARGIN_FRACTION * h))
        width, height = small_size
        x0, y0 = max(0, x - margin), max(0, y - margin)
        x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
        self.window = (slice(y0, y1), slice(x0, x1))
        self.origin = (x0, y0)
        self.inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(self.inside, [points - (x0, y0)], 1)
        self.inside = self.inside.astype(bool)
        # A bin's opening and its rim are the bin's, where a zone on the floor reaches over them in the
        # picture: what lands in the opening is a disposal, its contents change with every one, and the
        # rim they heaped over shows again when the bin is emptied.
        for opening in openings:
            self.inside &= ~with_rim(opening, scale, small_size)[self.window]
        self.area = max(1, int(self.inside.sum()))
        shape = self.inside.shape
        self.background: np.ndarray | None = None
        # Clocks in seconds since the first frame, in float64: a float32 clock steps by 0.25 s after 24 days,
        # more than a frame, and a waiting clock, shifted by each frame's time, would stop waiting.
        self.out_since = np.full(shape, NEVER)  # stands out since
        self.still_since = np.full(shape, NEVER)  # stands out and keeps still (``_stillness``) since
        self.arrived = np.zeros(shape, bool)  # stands out, and began to in a blob that moved: a thing came
        self.look = np.zeros((*shape, 3), np.float32)  # normalised colour of each waiting pixel when it last kept still
        self.waited = np.zeros(shape, bool)  # waited on the latest frame (``_stillness``)
        self.colour: np.ndarray | None = None  # the latest frame over the window, normalised like the background
        self.threshold = delta  # the latest frame's contrast that stands out
        self._t: float | None = None
        self._origin_t: datetime | None = None

    def observe(self, small: SmallFrame, t: datetime, seconds: float) -> np.ndarray:
        """This frame, taken at ``t`` (``seconds`` from any fixed origin): the clocks and the
        background brought up to date; returns what stands out (bool over the window)."""
        image = small.image[self.window]
        colour = image.astype(np.float32) * np.float32(1.0 / small.gain)
        if self.background is None:
            self.background = colour.copy()
            self._origin_t = t - timedelta(seconds=seconds)
        dt = 0.0 if self._t is None else max(0.0, seconds - self._t)
        self._t = seconds
        previous, self.colour, self.threshold = self.colour, colour, max(self.delta, NOISE_SIGMAS * small.noise)
        raw = stands_out(image, small.gain, self.background, self.threshold)
        out = cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
        moving = cv2.dilate(small.moving[self.window], np.ones((3, 3), np.uint8)) > 0
        count, labels = cv2.connectedComponents(out.astype(np.uint8), connectivity=8)
        within = np.bincount(labels[self.inside], minlength=count)
        upright = np.bincount(labels.ravel(), minlength=count) > 2 * within  # mostly beyond the zone: standing up
        upright[0] = True  # the bare ground
        now = seconds
        self.out_since = np.where(out, np.minimum(self.out_since, now), NEVER)
        # Nothing comes to lie on the ground without moving there: a pixel that began to stand out in a blob
        # with no motion in it is the light (an exposure step the gain does not undo at a clipped highlight
        # or a crushed shadow, an edge the coder draws anew), never a thing, for as long as it stands out.
        # Motion in a frame where the exposure stepped may be that same light: no sign of arrival. On the first
        # frame after a gap motion cannot be told: what stands out then may have been put down while the camera
        # was away, and counts as arrived (litter left during an outage is not lost).
        moved = (np.bincount(labels[moving], minlength=count) >= MIN_PIXELS) & (not small.exposure_step)
        arrival = moved[labels] | (not small.motion_known)
        self.arrived = out & (self.arrived | ((self.out_since == now) & arrival))
        still, waiting = self._stillness(out, moving, labels, upright)
        still &= self.arrived
        waiting &= self.arrived & np.isfinite(self.still_since)
        # A waiting pixel keeps the stillness it had, gaining none: its clock is shifted by the frame's time. When
        # it keeps still again it goes on from there if it looks as it did before, and starts anew if not (moved,
        # taken, something else in its place).
        since = np.where(still, np.minimum(self.still_since, now), np.where(waiting, self.still_since + dt, NEVER))
        back = still & self.waited
        if back.any():
            moved_on = channel_max(np.abs(colour[back] - self.look[back])) > self.threshold
            since[back] = np.where(moved_on, now, since[back])
        entering = waiting & ~self.waited  # it kept still on the frame before: that is its look
        if entering.any() and previous is not None:
            self.look[entering] = previous[entering]
        self.still_since, self.waited = since, waiting
        # Follow the light where the ground is bare; never take in what stands out, nor its rim (the
        # raw mask, grown: following the pixels an opening drops would eat into litter from its edge).
        rate = np.float32(1 - np.exp(-dt / FOLLOW_S))
        # A clipped pixel says only that the ground is at least that bright: not learnt either.
        near = (cv2.dilate(raw, np.ones((3, 3), np.uint8)) > 0) | (channel_max(image) >= CLIPPED)
        self.background += np.where(near, np.float32(0), rate)[:, :, None] * (colour - self.background)
        return out

    def _stillness(
        self, out: np.ndarray, moving: np.ndarray, labels: np.ndarray, upright: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """What of ``out`` keeps still by this zone's rule (``labels``: its blobs; ``upright``: per blob), and
        what, not keeping still, keeps the stillness it had (waits)."""
        raise NotImplementedError

    def at(self, seconds: float) -> datetime:
        """The wall-clock time of ``seconds`` on the clocks' origin."""
        assert self._origin_t is not None  # a frame has been seen
        return self._origin_t + timedelta(seconds=seconds)

    def _box(self, stats: np.ndarray) -> Box:
        """A component's bounding box in frame coordinates."""
        x, y = stats[cv2.CC_STAT_LEFT] + self.origin[0], stats[cv2.CC_STAT_TOP] + self.origin[1]
        w, h = stats[cv2.CC_STAT_WIDTH], stats[cv2.CC_STAT_HEIGHT]
        s = self.scale
        return Box(int(x / s), int(y / s), max(1, round(w / s)), max(1, round(h / s)))


class GroundWatch(StillZone):
    """Litter in one ground zone."""

    def __init__(
        self,
        zone: ZoneConfig,
        scale: float,
        small_size: tuple[int, int],
        delta: float,
        rules: LitterConfig,
        openings: Sequence[Sequence[tuple[int, int]]] = (),
    ):
        super().__init__(zone, scale, small_size, delta, openings)
        self.rules = rules
        self.min_pixels = max(MIN_PIXELS * 2, round(rules.min_fraction * self.area))
        self.litter: list[Litter] = []  # found and not yet cleared

    def _stillness(
        self, out: np.ndarray, moving: np.ndarray, labels: np.ndarray, upright: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A blob with motion in it, or rising out of the zone, is somebody active: none of it keeps still."""
        active = upright | (np.bincount(labels[moving], minlength=len(upright)) >= MIN_PIXELS)
        return out & ~active[labels], self._waiting(out, moving, labels, active)

    def _waiting(self, out: np.ndarray, moving: np.ndarray, labels: np.ndarray, active: np.ndarray) -> np.ndarray:
        """What had kept still and is joined or covered, in the picture, by somebody active waits for them to
        go: a bag beside a bin where residents come and go every few seconds, passing in front of it, would
        otherwise never lie still for ``stay_s`` (litter 21's bag, litter 18's box). It gains no stillness
        meanwhile, so litter is never confirmed while somebody stands at it, and goes on only where it looks
        as it did once they have gone. Only activity that comes from outside makes it wait: a blob whose
        motion lies mostly in what had kept still moved itself (a crouching person who sways) and starts
        anew, as before. ``active``: per blob."""
        count = len(active)
        if not active[1:].any():
            return np.zeros(out.shape, bool)
        had_kept_still = out & np.isfinite(self.still_since)
        own = out & (cv2.erode(moving.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)  # the motion, not grown
        motion, moved_still = (np.bincount(labels[m], minlength=count) for m in (own, own & had_kept_still))
        itself = (2 * moved_still > motion) & (
            moved_still >= ITSELF_SHARE * np.bincount(labels[had_kept_still], minlength=count)
        )
        return out & (active & ~itself)[labels]

    def update(self, small: SmallFrame, t: datetime, seconds: float) -> list[GroundChange]:
        """This frame, taken at ``t`` (``seconds`` from any fixed origin); returns what it changed."""
        out = self.observe(small, t, seconds)
        changes = self._cleared(out, t)
        changes += self._found(t, seconds)
        return changes

    def _found(self, t: datetime, seconds: float) -> list[GroundChange]:
        settled = self.inside & np.isfinite(self.still_since)  # arrived, and keeps still (or waits) now
        for litter in self.litter:
            settled &= ~litter.mask
        ripe = settled & (seconds - self.still_since >= self.rules.stay_s)
        if np.count_nonzero(ripe) < RIPE_SHARE * self.min_pixels:
            return []
        count, labels, stats, _ = cv2.connectedComponentsWithStats(settled.astype(np.uint8), connectivity=8)
        ripe_pixels = np.bincount(labels[ripe], minlength=count)
        changes = []
        for label in range(1, count):
            area = stats[label, cv2.CC_STAT_AREA]
            if area < self.min_pixels or ripe_pixels[label] < RIPE_SHARE * area:
                continue
            mask = labels == label
            if (found := self._touching(mask)) is not None:  # more of it: a part whose clock had started anew
                found.mask |= mask
                found.box = found.box.joined(self._box(stats[label]))
                continue
            if self._relit(mask):  # the light after all: it stands out without having arrived from now on
                self.arrived &= ~mask
                continue
            began = float(self.out_since[mask].min())
            litter = Litter(self.zone, mask, self._box(stats[label]), self.at(began), t)
            self.litter.append(litter)
            changes.append(GroundChange(litter, cleared=False))
        return changes

    def _touching(self, mask: np.ndarray) -> Litter | None:
        """The litter already found that ``mask`` is more of: it touches it, and most of it stood out before
        that litter was found (a part whose clock started anew). Something put down beside it later, or
        where it lay before it was seen to go, is litter of its own."""
        grown = cv2.dilate(mask.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
        began = self.at(float(np.median(self.out_since[mask])))
        return next((lit for lit in self.litter if (grown & lit.mask).any() and began <= lit.confirmed_at), None)

    def _relit(self, mask: np.ndarray) -> bool:
        """Whether the ground under ``mask`` is what lay there before, only lit otherwise: a pattern (a bin's
        label, its rim, tile joints) that the piece follows pixel for pixel, brighter or darker. Such a piece
        stood out by the light and "arrived" only because somebody crossed it as it did (the coder redraws a
        label's letters at each exposure step); a thing put down hides the pattern under it."""
        assert self.background is not None and self.colour is not None
        before, now = self.background[mask].mean(axis=1), self.colour[mask].mean(axis=1)
        if 2 * before.std() < self.threshold or now.std() == 0:  # no pattern to follow
            return False
        return float(np.corrcoef(before, now)[0, 1]) >= RELIT_CORRELATION

    def _cleared(self, out: np.ndarray, t: datetime) -> list[GroundChange]:
        changes = []
        for litter in list(self.litter):
            if out[litter.mask].mean() >= CLEAR_SHARE:
                litter._clear_since = None
                continue
            if litter._clear_since is None:
                litter._clear_since = t
            if (t - litter._clear_since).total_seconds() >= self.rules.clear_s:
                litter.cleared_at = litter._clear_since
                self.litter.remove(litter)
                changes.append(GroundChange(litter, cleared=True))
        return changes
