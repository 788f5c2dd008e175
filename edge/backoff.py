"""Exponential backoff with jitter, for reopening the camera and for retrying the collector.

"Equal jitter": half of the exponential step is kept, the other half is random, so that
boxes that lost the collector together do not all come back in the same second, and no
wait shrinks to nothing.
"""

from __future__ import annotations

import random

BASE_S = 1.0


def backoff_s(attempt: int, cap_s: float, rng: random.Random | None = None) -> float:
    """The wait before retry number ``attempt`` (1 for the first retry)."""
    step = min(cap_s, BASE_S * 2.0 ** max(0, min(attempt - 1, 30)))
    return step / 2 + (rng or random).uniform(0, step / 2)
