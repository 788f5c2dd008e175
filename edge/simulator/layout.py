"""Where the bins stand in the picture: one row of 1–4 bins seen from above.

Every length is derived from the frame size, so a small test scene is the same scene,
only smaller. The opening polygon is the one written to ``site.toml``: the renderer
paints exactly that polygon dark, so configuration and picture cannot disagree.
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
    body: tuple[int, int, int, int]  # x0, y0, x1, y1 of the bin's top face
    lid: tuple[int, int, int, int]  # the lid, flipped open behind the bin
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


def arrange(categories: list[CategoryKey], width: int, height: int) -> list[Bin]:
    """Bins side by side, centred, in the upper middle of the frame; the floor below them
    is where people stand and reach in from."""
    count = len(categories)
    gap = round(0.025 * width)
    bin_w = min(round(0.21 * width), (width - round(0.1 * width) - (count - 1) * gap) // count)
    bin_h = min(round(0.85 * bin_w), round(0.42 * height))
    lid_h = round(0.3 * bin_h)
    bottom = round(0.74 * height)
    top = bottom - bin_h
    left = (width - count * bin_w - (count - 1) * gap) // 2
    rim = max(3, round(0.08 * bin_w))
    chamfer = max(2, round(0.12 * (bin_w - 2 * rim)))
    bins = []
    for i, category in enumerate(categories):
        x0 = left + i * (bin_w + gap)
        x1, y1 = x0 + bin_w, top + bin_h
        ox0, oy0, ox1, oy1 = x0 + rim, top + rim, x1 - rim, y1 - rim
        opening = np.array([
            (ox0 + chamfer, oy0), (ox1 - chamfer, oy0), (ox1, oy0 + chamfer), (ox1, oy1 - chamfer),
            (ox1 - chamfer, oy1), (ox0 + chamfer, oy1), (ox0, oy1 - chamfer), (ox0, oy0 + chamfer),
        ], dtype=np.int32)  # fmt: skip
        bins.append(Bin(f"{category}-{i + 1}", category, (x0, top, x1, y1), (x0, top - lid_h, x1, top), opening))
    return bins
