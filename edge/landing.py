"""When each item of a disposal landed, and what it looked like then.

While a disposal goes on, ``Footage`` keeps what the opening's watch saw in every frame (the
small image and what reached over the rim) and, a few times a second, the opening at full
resolution. Once the disposal is over and its final look is
known, ``settled_at`` says for every small pixel from when on it kept that final look, in
seconds, frames in which an arm or a person covered it not counting either way. An item settles
when it lands; held still over the spot where it will lie, it is part of the arm and does not;
a person who covers it afterwards does not move the moment, and what a person covered from the
moment it landed settles when they leave.

``landings`` groups the settle times of one region of change: groups a second or more apart
are different moments. A later group is a later item only if, after the earlier item settled, its
pixels were seen to hold other contents (or, from when it began to settle, the earlier item itself):
pixel by pixel, in plain view for a while and keeping one look, which was the old contents (as the
background was when the disposal began) or other contents than their final look (a first item, on
which the second then came to lie). A body that hides half
the spot (the queue's next resident walking in as the one before walks off) leaves the other half
to be seen; covered all along, by the arm or the person, still moving, or only in shade, they are
the rest of the earlier item, uncovered when the person left. Two drops in quick succession that
came to lie side by side, or the second on the first, become two items; one item that a hand
covered in part does not. A second item that came to lie over the first and hid it leaves a region
that settled at one moment, the second's; the first is found by what its pixels showed before:
in plain view for ``LAY_S``, keeping one look that was neither the old contents (nor those in
shade) nor their final look. It is a ``covered`` landing: the views as it landed show it, the view
after does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from binwatch.edge.light import channel_max, difference
from binwatch.edge.region import View

GAP_S = 1.0  # settle times this far apart are different moments
SOLID = 0.5  # a moment counts when an item's area settled at it in a solid blob: this share survives an erosion
VIEW_EVERY_S = 0.2  # full-resolution views kept during a disposal, at most this often …
MAX_VIEWS = 40  # … and at most this many: when full, every other one goes and the rate halves
HELD_S = 0.4  # a look kept this long, in plain view, was contents lying there
LAY_S = 1.0  # an item seen lying in plain view this long, then hidden by a later one, was an item
CLEAR_PX = 3  # … this far (small pixels) from anything reaching over the rim …
LAID = 1.5  # … standing out of what lay there by this many thresholds (a dim pile flickers just past one)
SEEN = 0.25  # a later part of which less than this share was seen in plain view cannot be told apart
MAX_FRAMES = 450  # small frames kept (30 s at 15 fps); older ones count as settled before


@dataclass(frozen=True)
class _Frame:
    seconds: float
    image: np.ndarray  # the watch's window of the small frame, uint8 BGR
    gain: float
    reaching: np.ndarray  # bool: part of something over the rim


@dataclass(frozen=True)
class Landing:
    """One item's moment: when its pixels settled, and which pixels of the region did then (the
    rest of the region, settled at no moment of its own, goes to the nearest landing)."""

    seconds: float
    mask: np.ndarray  # bool, over the region at full resolution
    covered: bool = False  # a later item came to lie over it: only the views as it landed show it


class Footage:
    def __init__(self) -> None:
        self._frames: deque[_Frame] = deque(maxlen=MAX_FRAMES)
        self._views: list[tuple[float, View]] = []
        self._every = VIEW_EVERY_S

    def reset(self) -> None:
        self._frames.clear()
        self._views, self._every = [], VIEW_EVERY_S

    def add(
        self,
        seconds: float,
        image: np.ndarray,
        gain: float,
        reaching: np.ndarray,
        view: Callable[[], View],
    ) -> None:
        """One frame of the disposal; ``view`` cuts the full-resolution view, called only when one is kept."""
        self._frames.append(_Frame(seconds, image.copy(), gain, reaching))
        if not self._views or seconds - self._views[-1][0] >= self._every:
            self._views.append((seconds, view()))
            if len(self._views) > MAX_VIEWS:
                self._views, self._every = self._views[::2], 2 * self._every

    def settled_at(self, final: np.ndarray, final_gain: float, threshold: float, old: np.ndarray) -> np.ndarray:
        """Per small pixel, the moment (s) from which it kept its final look (within ``threshold`` of
        ``final``) to the end, not counting frames in which something reaching over the rim
        covered it; NaN where it looked so before the disposal (``old``: the background then, in
        normalised units)."""
        shape = final.shape[:2]
        if not self._frames:
            return np.full(shape, np.nan)
        since = np.full(shape, np.inf)  # the start of the run of frames that look final, or inf
        for frame in self._frames:
            looks_final = channel_max(difference(frame.image, frame.gain, final, final_gain)) <= threshold
            # Covered by an arm or a person, a pixel says nothing; otherwise it either looks final or not.
            seen = ~frame.reaching
            since[seen & ~looks_final] = np.inf
            since[seen & looks_final & np.isinf(since)] = frame.seconds
        unchanged = (
            channel_max(difference(np.minimum(old * final_gain, 255), final_gain, final, final_gain)) <= threshold
        )
        return np.where(unchanged | np.isinf(since), np.nan, since)

    def landings(
        self,
        region_mask: np.ndarray,
        settled: np.ndarray,
        scale: Callable[[np.ndarray], np.ndarray],
        threshold: float,
        old: np.ndarray,
        smallest: float,
    ) -> list[Landing]:
        """The moments at which the pixels of one region (full resolution) settled; ``scale`` maps a
        small mask or map of the window to the region's resolution; ``threshold`` is the change that
        counted for ``settled_at``; ``old`` the background as the disposal began (normalised units);
        ``smallest`` the smallest item's area (full-resolution pixels): a moment at which fewer settled
        is no item's, however small a share of the region the item makes beside or under a larger one."""
        full_settled = scale(settled.astype(np.float32))
        times = full_settled[region_mask & ~np.isnan(full_settled)]
        if times.size == 0:
            return []
        values, counts = np.unique(times, return_counts=True)
        groups: list[list[int]] = [[0]]
        for i in range(1, len(values)):
            if values[i] - values[i - 1] >= GAP_S:
                groups.append([])
            groups[-1].append(i)
        moments = []
        for group in groups:
            start, end = float(values[group[0]]), float(values[group[-1]])
            pixels = region_mask & (full_settled >= start) & (full_settled <= end)
            if counts[group].sum() >= smallest and _solid(pixels, region_mask):
                moments.append((start, end))
        h, w = settled.shape
        footprint = cv2.resize(region_mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        if len(moments) < 2:
            return self._one(region_mask, footprint, float(np.median(times)), scale, threshold, old, smallest)
        small_settled = settled.astype(np.float32)  # the moments' bounds are float32, as ``full_settled``
        kept = [moments[0]]
        for start, end in moments[1:]:
            earlier = kept[-1]
            small = footprint & (small_settled >= start) & (small_settled <= end)
            if small.any() and self._other_contents(small, earlier, start, threshold, old):
                kept.append((start, end))
            else:
                kept[-1] = (earlier[0], end)  # covered, moving or shaded until then: the rest of the earlier item
        if len(kept) < 2:
            return self._one(region_mask, footprint, float(np.median(times)), scale, threshold, old, smallest)
        return [Landing(start, region_mask & (full_settled >= start) & (full_settled <= end)) for start, end in kept]

    def _one(
        self,
        region_mask: np.ndarray,
        footprint: np.ndarray,
        seconds: float,
        scale: Callable[[np.ndarray], np.ndarray],
        threshold: float,
        old: np.ndarray,
        smallest: float,
    ) -> list[Landing]:
        """A region that settled at one moment: one item, or one that came to lie over an earlier one and hid it
        (an item's worth of the region, in a solid blob, seen lying there before: ``_lying``)."""
        landing = Landing(seconds, region_mask)
        lying = self._lying(footprint, seconds, threshold, old)
        if lying is None:
            return [landing]
        began, small = lying
        # An item lies in one piece; in a dark, noisy picture single pixels of a pile flicker into such runs.
        small = cv2.morphologyEx(small.view(np.uint8), cv2.MORPH_OPEN, _PIECE) > 0
        hidden = region_mask & (scale(small.astype(np.float32)) > 0.5)
        if hidden.sum() < smallest or not _solid(hidden, region_mask):
            return [landing]
        return [Landing(began, hidden, covered=True), landing]

    def _lying(
        self, footprint: np.ndarray, until: float, threshold: float, old: np.ndarray
    ) -> tuple[float, np.ndarray] | None:
        """The pixels of ``footprint`` (small) seen, before ``until``, lying in plain view for ``LAY_S`` with one
        look that is neither their old one (``old``: the background as the disposal began, normalised; nor it
        in shade: one gain for all of them; by ``LAID`` thresholds, since that look is all there is to go by)
        nor their final one, and when they began to (the median): an earlier item, which the one that settled
        at ``until`` hid. It came during the disposal (before, the pixel was covered, or seen as it was) and
        lay there until what reaches over the rim hid it (the hand that brought the next item); a head over
        the opening, apart from the arm, moves off in plain view. None: no such pixels."""
        final, before = _look(self._frames[-1], footprint), old[footprint]
        began = np.full(len(final), np.nan)  # when each pixel's run in plain view, keeping one look, began
        first = np.zeros_like(final)  # its look then
        came = np.zeros(len(final), bool)  # the run began after the pixel was covered or seen as it was
        was = np.zeros(len(final), bool)  # the pixel was covered or seen as it was, so far
        ready = np.zeros(len(final), bool)  # the pixel's run is such a one so far
        lay = np.full(len(final), np.nan)  # when its latest such run that something reaching over hid began
        kept = np.zeros_like(final)  # that run's look
        for frame in self._frames:
            if frame.seconds >= until:
                break
            # In plain view and clear of what reaches over the rim: a body as dark as the bag stands out of it
            # in pieces, beside its reaching part.
            look, seen = _look(frame, footprint), ~_near(frame.reaching)[footprint]
            hidden = ready & ~seen
            lay[hidden], kept[hidden] = began[hidden], first[hidden]
            began[~seen] = np.nan
            restart = seen & (np.isnan(began) | (channel_max(np.abs(look - first)) > threshold))
            began[restart], first[restart], came[restart] = frame.seconds, look[restart], was[restart]
            was |= ~seen | (channel_max(np.abs(look - before)) <= threshold)
            other = channel_max(np.abs(first - before)) > threshold
            other &= channel_max(np.abs(first - final)) > threshold
            ready = seen & came & other & (frame.seconds - began >= LAY_S)
        held = ~np.isnan(lay)
        if not held.any():
            return None
        then = kept[held]
        shade = float(np.median(then.sum(axis=1))) / max(float(np.median(before[held].sum(axis=1))), 1.0)
        lying = np.zeros(len(final), bool)
        lying[np.flatnonzero(held)[channel_max(np.abs(then - before[held] * shade)) > LAID * threshold]] = True
        if not lying.any():
            return None
        small = np.zeros(footprint.shape, bool)
        small[footprint] = lying
        return float(np.median(lay[lying])), small

    def _other_contents(
        self, pixels: np.ndarray, earlier: tuple[float, float], until: float, threshold: float, old: np.ndarray
    ) -> bool:
        """Whether ``pixels`` (of the small window), which settled at ``until``, held other contents after
        an earlier item landed (``earlier``: when its pixels began and finished settling). Once the earlier
        item had settled, the old contents or other contents than their final look count (``_seen_other``);
        from when it began to settle, only other contents than both: the earlier item itself, seen where the
        next one then came to lie (an arm coming back for the next drop shades or covers the last of the
        earlier item until it covers the spot as well). Before the earlier item has settled, the old contents
        say nothing: the rest of it may still be in the hand."""
        final, before = _look(self._frames[-1], pixels), old[pixels]
        return self._seen_other(pixels, earlier[1], until, threshold, final, before, bare=True) or self._seen_other(
            pixels, earlier[0], until, threshold, final, before, bare=False
        )

    def _seen_other(
        self,
        pixels: np.ndarray,
        since: float,
        until: float,
        threshold: float,
        final: np.ndarray,
        before: np.ndarray,
        bare: bool,
    ) -> bool:
        """Whether ``pixels`` were seen, between ``since`` and ``until``, holding the old contents (``before``,
        as the background was when the disposal began: a background that took in the first item does not
        say; only if ``bare``) or other contents than their ``final`` look that no shade turns into it (a
        first item, on which a second one then landed). Each pixel is judged in its own right: whether it
        lay in plain view (nothing reaching over it) for ``HELD_S`` and kept one look all along; a body that
        covers half the spot leaves the other half to be seen. When ``SEEN`` of them were seen so, most of
        those must have shown such contents. Covered, still changing, or only shaded, they are the rest of
        the earlier item."""
        began = np.full(len(final), np.nan)  # when each pixel's run in plain view, keeping one look, began
        first = np.zeros_like(final)  # its look then
        held = np.zeros(len(final), bool)  # pixels that kept one look in plain view for HELD_S
        kept = np.zeros_like(final)  # that look
        for frame in self._frames:
            if not since <= frame.seconds <= until:
                continue
            look, seen = _look(frame, pixels), ~frame.reaching[pixels]
            began[~seen] = np.nan
            restart = seen & (np.isnan(began) | (channel_max(np.abs(look - first)) > threshold))
            began[restart], first[restart] = frame.seconds, look[restart]
            done = seen & ~held & (frame.seconds - began >= HELD_S)
            held |= done
            kept[done] = first[done]
        if held.mean() < SEEN:
            return False  # too little of it seen to tell
        then, now = kept[held], final[held]
        as_before = channel_max(np.abs(then - before[held])) <= threshold
        # Shade dims all three channels alike: one gain, or any plain colour would pass for any other.
        shade = np.median(now.sum(axis=1)) / max(float(np.median(then.sum(axis=1))), 1.0)
        other = channel_max(np.abs(now - then * shade)) > threshold
        return bool(np.mean(as_before | other if bare else other & ~as_before) > 0.5)

    def view_after(self, seconds: float, mask_small: np.ndarray | None = None) -> View | None:
        """The first kept full-resolution view from ``seconds`` on in which nothing over the rim covers
        ``mask_small`` (small pixels of the window) much."""
        for at, view in self._views:
            if at < seconds:
                continue
            frame = self._frame_at(at)
            if mask_small is None or frame is None or frame.reaching[mask_small].mean() < 0.2:
                return view
        return None

    def _frame_at(self, seconds: float) -> _Frame | None:
        best = None
        for frame in self._frames:
            if frame.seconds <= seconds:
                best = frame
        return best


def _solid(pixels: np.ndarray, region: np.ndarray) -> bool:
    """Whether the pixels form a solid blob, as an item does, rather than the streaks and specks
    where an item held over the spot, or a coder's noise, happened to look like the end for a moment:
    half of them or more survive an erosion by a tenth of the blob's size. An item lying on or under
    another one matches it in places, and there its pixels settled with the other: the holes its outline
    encloses (within the ``region``) count as its own, or it would be judged by its holes. Only enclosed
    holes: closing gaps as well would join specks and streaks into a blob."""
    area = int(pixels.sum())
    side = max(3, round(np.sqrt(area) / 10) | 1)  # a tenth of the blob's own size: thin streaks vanish
    outlines, _ = cv2.findContours(pixels.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    blob = (cv2.drawContours(np.zeros(pixels.shape, np.uint8), outlines, -1, 1, cv2.FILLED) > 0) & region
    eroded = cv2.erode(blob.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    return int(eroded.sum()) >= SOLID * int(blob.sum())


_CLEAR = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CLEAR_PX + 1,) * 2)
_PIECE = np.ones((3, 3), np.uint8)


def _near(mask: np.ndarray) -> np.ndarray:
    """``mask`` and what lies within ``CLEAR_PX`` small pixels of it."""
    return cv2.dilate(mask.view(np.uint8), _CLEAR) > 0


def _look(frame: _Frame, pixels: np.ndarray) -> np.ndarray:
    """The pixels' colours in a frame, in normalised units."""
    return frame.image[pixels].astype(np.float32) / frame.gain
