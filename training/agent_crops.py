"""The edge agent's crops, for training: a thin adapter over ``edge.isolate``'s public functions.

Training cuts its camera views the way the agent cuts what it classifies: the region that
changed between the opening before and after the disposal, its outline, everything outside
the outline painted the model's grey. Calling the agent's own functions (and only here) keeps
the two the same when the agent's isolation changes; this is the one module to adapt then.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from binwatch.edge.config import ThresholdConfig
from binwatch.edge.isolate import Opening, changed_region, item_crops

_DEFAULTS = ThresholdConfig()


def agent_crops(
    before: np.ndarray,
    after: Sequence[np.ndarray],
    polygon: Sequence[tuple[int, int]],
    count: int,
    fill: int,
    thresholds: ThresholdConfig = _DEFAULTS,
) -> list[np.ndarray]:
    """RGB crops of what changed inside ``polygon`` between ``before`` and the settled views
    ``after`` (RGB frames of one size), as the agent classifies them; ``[]`` when the agent
    would see no item (the change is too small or too faint)."""
    opening = Opening(polygon)
    to_bgr = [cv2.cvtColor(opening.cut(frame), cv2.COLOR_RGB2BGR) for frame in (before, *after)]
    found = changed_region(to_bgr[0], to_bgr[-1], opening, thresholds.change_pixel_delta, thresholds.item_min_fraction)
    if found is None:
        return []
    return item_crops(found, to_bgr[1:], count, fill)
