"""The edge agent's crops, for training: a thin adapter over the agent's own isolation.

Training cuts its camera views the way the agent cuts what it classifies: the opening's region
before and after the disposal compared (``edge.isolate.compare``: normalised for exposure, a
threshold that adapts to noise, regions beyond the rim or larger than an item refused), and the
item's crop cut around its outline with everything outside it painted the model's grey
(``edge.crops.item_crops``). Calling the agent's own functions (and only here) keeps the two
the same when the agent's isolation changes; this is the one module to adapt then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import cv2
import numpy as np

from binwatch.edge.config import ThresholdConfig
from binwatch.edge.crops import item_crops
from binwatch.edge.foreground import OpeningWatch
from binwatch.edge.isolate import compare
from binwatch.edge.region import Region, View, mean_view

_DEFAULTS = ThresholdConfig()
_T = datetime(2026, 1, 1, tzinfo=UTC)  # views need a time; the comparison does not use it


def agent_crops(
    before: np.ndarray,
    after: Sequence[np.ndarray],
    polygon: Sequence[tuple[int, int]],
    count: int,
    fill: int,
    thresholds: ThresholdConfig = _DEFAULTS,
    size: int = 0,
) -> list[np.ndarray]:
    """RGB crops of the largest item that changed inside ``polygon`` between ``before`` and the
    settled views ``after`` (RGB frames of one size), as the agent classifies them; ``[]`` when
    the agent would see no item. ``size``: the model's input side, to enlarge small crops as the
    agent does (0 keeps them as cut, for a pipeline that letterboxes them itself)."""
    frame_size = (before.shape[1], before.shape[0])
    watch = OpeningWatch(polygon, 1.0, frame_size, thresholds.motion_pixel_delta)
    region = Region(polygon, watch.window, 1.0, frame_size)

    def view(rgb: np.ndarray) -> View:
        return region.view(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), _T, 1.0)

    settled = [view(frame) for frame in after]
    found = compare(
        [view(before)],
        settled,
        region,
        thresholds.change_pixel_delta,
        thresholds.item_min_fraction,
        thresholds.item_max_fraction,
    )
    if not found.items:
        return []
    item = max(found.items, key=lambda f: int(np.count_nonzero(f.mask)))
    return item_crops(item, mean_view(settled), None, count, size, fill)
