"""How things move in a scene: easing curves for hands and walkers, and directions."""

from __future__ import annotations

import numpy as np


def ease(k: float) -> float:
    """Smooth start and stop (smoothstep) over ``k`` in [0, 1]."""
    k = min(1.0, max(0.0, k))
    return k * k * (3 - 2 * k)


def ease_in(k: float) -> float:
    """Starts slowly: a walker setting off."""
    k = min(1.0, max(0.0, k))
    return k * k


def ease_out(k: float) -> float:
    """Stops slowly: a walker arriving."""
    k = min(1.0, max(0.0, k))
    return 1 - (1 - k) ** 2


def unit(v) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    v = np.asarray(v, float)
    return v / max(1e-9, float(np.linalg.norm(v)))
