"""When each item of a disposal landed, and what it looked like then.

While a disposal goes on, ``Footage`` keeps what the opening's watch saw in every frame (the
small image, what stood out of the background, what reached over the rim) and, a few times a
second, the opening at full resolution. Once the disposal is over and its final look is
known, ``settled_at`` says for every small pixel when it took that final look and kept it for a
moment (``LAND_S``), in seconds. An item that lands and keeps still settles when it lands; a
shadow or a person passing over it later does not change that; what a person covered from the
moment it landed settles when they leave.

``landings`` groups the settle times of one region of change: groups a second or more apart
are different moments. A later group is a later item only if its pixels still showed the old
contents (nothing stood out there) when the earlier group settled; if they were covered then,
by the arm or the person, they are the rest of the earlier item, uncovered when the person
left. Two drops in quick succession that came to lie side by side become two items; one item
that a hand covered in part does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from binwatch.edge.light import difference
from binwatch.edge.region import View

LAND_S = 0.3  # a pixel that keeps its final look this long has settled
GAP_S = 1.0  # settle times this far apart are different moments
SHARE = 0.2  # a moment counts when at least this share of the region settled at it
VIEW_EVERY_S = 0.2  # full-resolution views kept during a disposal, at most this often …
MAX_VIEWS = 40  # … and at most this many: when full, every other one goes and the rate halves
MAX_FRAMES = 450  # small frames kept (30 s at 15 fps); older ones count as settled before


@dataclass(frozen=True)
class _Frame:
    seconds: float
    image: np.ndarray  # the watch's window of the small frame, uint8 BGR
    gain: float
    standing_out: np.ndarray  # bool: differed from the background
    reaching: np.ndarray  # bool: part of something over the rim


@dataclass(frozen=True)
class Landing:
    """One item's moment: when its pixels settled, and which pixels of the region did then (the
    rest of the region, settled at no moment of its own, goes to the nearest landing)."""

    seconds: float
    mask: np.ndarray  # bool, over the region at full resolution


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
        standing_out: np.ndarray,
        reaching: np.ndarray,
        view: Callable[[], View],
    ) -> None:
        """One frame of the disposal; ``view`` cuts the full-resolution view, called only when one is kept."""
        self._frames.append(_Frame(seconds, image.copy(), gain, standing_out, reaching))
        if not self._views or seconds - self._views[-1][0] >= self._every:
            self._views.append((seconds, view()))
            if len(self._views) > MAX_VIEWS:
                self._views, self._every = self._views[::2], 2 * self._every

    def settled_at(self, final: np.ndarray, final_gain: float, threshold: float) -> np.ndarray:
        """Per small pixel, the moment (s) it first took its final look (within ``threshold`` of
        ``final``) and kept it for ``LAND_S``. Whatever passed over it later, a shadow or a
        person, does not move that moment."""
        shape = final.shape[:2]
        if not self._frames:
            return np.full(shape, -np.inf)
        since = np.full(shape, np.inf)  # the start of the current run of frames that look final
        settled = np.full(shape, np.inf)
        for frame in self._frames:
            final_now = difference(frame.image, frame.gain, final, final_gain).max(axis=2) <= threshold
            since[~final_now] = np.inf
            since[final_now & np.isinf(since)] = frame.seconds
            found = np.isinf(settled) & (frame.seconds - since >= LAND_S)
            settled[found] = since[found]
        return np.where(np.isinf(settled), since, settled)

    def landings(
        self, region_mask: np.ndarray, settled: np.ndarray, scale: Callable[[np.ndarray], np.ndarray]
    ) -> list[Landing]:
        """The moments at which the pixels of one region (full resolution) settled; ``scale`` maps a
        small mask or map of the window to the region's resolution."""
        times = scale(settled.astype(np.float32))[region_mask]
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
            share = counts[group].sum() / times.size
            if share >= SHARE:
                moments.append((float(values[group[0]]), float(values[group[-1]])))
        if len(moments) < 2:
            return [Landing(float(np.median(times)), region_mask)]
        full_settled = scale(settled.astype(np.float32))
        kept = [moments[0]]
        for start, end in moments[1:]:
            earlier = kept[-1]
            pixels = region_mask & (full_settled >= start) & (full_settled <= end)
            frame = self._frame_at(earlier[1])
            if frame is not None and scale(frame.standing_out.astype(np.uint8))[pixels].mean() < 0.5:
                kept.append((start, end))  # still the old contents when the earlier item settled
            else:
                kept[-1] = (earlier[0], end)  # covered then: the rest of the earlier item
        if len(kept) < 2:
            return [Landing(float(np.median(times)), region_mask)]
        return [Landing(start, region_mask & (full_settled >= start) & (full_settled <= end)) for start, end in kept]

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
