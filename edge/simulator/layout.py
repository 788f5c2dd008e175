"""The bins of a scene, as both camera styles and the truth see them: an id, a category and the
opening's polygon in pixels.

The polygon is the one written to ``site.toml`` and the truth, and the stage paints exactly
that polygon as the opening, so configuration and picture cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from binwatch.datasets import taxonomy
from binwatch.events.schema import CategoryKey

# Bins a drop-off point installs first: kitchen and other waste at every point, then recyclables,
# then hazardous waste (often a single bin shared between several points).
INSTALL_ORDER: tuple[CategoryKey, ...] = ("kitchen", "other", "recyclable", "hazardous")
MAX_BINS = len(INSTALL_ORDER)


@dataclass(frozen=True)
class Bin:
    id: str
    category: CategoryKey
    opening: np.ndarray  # N×2 int32 polygon, the bin's opening

    @property
    def polygon(self) -> list[tuple[int, int]]:
        return [(int(x), int(y)) for x, y in self.opening]

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.opening_box
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def opening_box(self) -> tuple[int, int, int, int]:
        (x0, y0), (x1, y1) = self.opening.min(axis=0), self.opening.max(axis=0)
        return int(x0), int(y0), int(x1), int(y1)

    @property
    def opening_size(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.opening_box
        return x1 - x0, y1 - y0


def bin_categories(count: int) -> list[CategoryKey]:
    """The categories of ``count`` bins, left to right in the taxonomy's order."""
    if not 1 <= count <= MAX_BINS:
        raise ValueError(f"a scene has 1 to {MAX_BINS} bins, not {count}")
    return sorted(INSTALL_ORDER[:count], key=taxonomy.CATEGORY_KEYS.index)
