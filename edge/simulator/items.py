"""Which photo is thrown into which bin: the item pool and the disposal mix.

By default only the validation split is used (the same ``split_by_group`` over item-labelled
samples that training uses), so a scene measures the edge agent on photos its model never
trained on. Items are drawn category first, then item, then photo, so that a data set
dominated by one item (food waste, say) still gives a varied scene; photos repeat only
when an item's photos run out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from binwatch.datasets import taxonomy
from binwatch.datasets.manifest import Sample, SampleSet
from binwatch.datasets.split import split_by_group

SPLITS = ("val", "all")
VAL_FRACTION, SPLIT_SEED = 0.2, 0  # the release model's split


@dataclass(frozen=True)
class Mix:
    """Relative weights of the three kinds of disposal a scene contains."""

    correct: float = 0.5
    wrong_bin: float = 0.35
    contamination: float = 0.15  # a kitchen-bin contaminant (Art. 16(3)) into the kitchen bin

    @classmethod
    def parse(cls, text: str) -> Mix:
        """``"0.5,0.35,0.15"`` (correct, wrong bin, kitchen contamination)."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            values = []
        if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0:
            raise ValueError(f"mix {text!r}: expected three non-negative weights, e.g. 0.5,0.35,0.15")
        return cls(*values)


def usable_samples(data: SampleSet, split: str) -> list[Sample]:
    """The item-labelled samples of ``split``: "val" (what the release model did not train on) or "all"."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    samples = [s for s in data.samples if s.item]
    if not samples:
        raise ValueError("the data set has no item-labelled images; a scene needs item labels")
    return split_by_group(samples, VAL_FRACTION, SPLIT_SEED)[1] if split == "val" else samples


def by_item(samples: list[Sample]) -> dict[str, list[Sample]]:
    """The item-labelled ``samples`` grouped by item, each group in the order given."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        if sample.item:
            groups[sample.item].append(sample)
    return groups


class ItemPool:
    """The photos a scene may use, grouped by item, each item's photos in a seeded order."""

    def __init__(self, data: SampleSet, split: str, rng: np.random.Generator):
        groups = by_item(usable_samples(data, split))
        self._queues = {key: [groups[key][i] for i in rng.permutation(len(groups[key]))] for key in sorted(groups)}
        self._next = dict.fromkeys(self._queues, 0)

    def items(self, category: str | None = None, contaminant: bool | None = None) -> list[str]:
        return [
            key
            for key in self._queues
            if (category is None or taxonomy.category_of(key) == category)
            and (contaminant is None or taxonomy.is_kitchen_contaminant(key) == contaminant)
        ]

    def take(self, item: str) -> Sample:
        queue = self._queues[item]
        sample = queue[self._next[item] % len(queue)]
        self._next[item] += 1
        return sample

    def categories(self) -> list[str]:
        return sorted({taxonomy.category_of(key) for key in self._queues}, key=taxonomy.CATEGORY_KEYS.index)


def choose(
    pool: ItemPool, bin_categories: Sequence[str], mix: Mix, count: int, rng: np.random.Generator
) -> list[tuple[int, Sample]]:
    """``count`` (bin index, photo) pairs in the proportions of ``mix``, as far as the pool allows."""
    options = {
        "correct": [(b, pool.items(category=c)) for b, c in enumerate(bin_categories)],
        # A contaminant in the kitchen bin is its own kind, so "wrong bin" leaves contaminants out there.
        "wrong_bin": [
            (
                b,
                [
                    i
                    for i in pool.items()
                    if taxonomy.category_of(i) != c and not (c == "kitchen" and taxonomy.is_kitchen_contaminant(i))
                ],
            )
            for b, c in enumerate(bin_categories)
        ],
        "contamination": [(b, pool.items(contaminant=True)) for b, c in enumerate(bin_categories) if c == "kitchen"],
    }
    options = {kind: [(b, items) for b, items in pairs if items] for kind, pairs in options.items()}
    weights = {kind: getattr(mix, kind) for kind, pairs in options.items() if pairs and getattr(mix, kind) > 0}
    if not weights:
        raise ValueError(
            f"the images ({', '.join(pool.categories())}) allow none of the requested disposals "
            f"into bins for {', '.join(bin_categories)}"
        )
    kinds = sorted(weights)
    p = np.array([weights[k] for k in kinds]) / sum(weights.values())
    # Deal the kinds out in proportion, then shuffle: a 100-disposal scene gets close to the mix.
    counts = np.floor(p * count).astype(int)
    for i in np.argsort(-(p * count - counts))[: count - counts.sum()]:
        counts[i] += 1
    sequence = [kind for kind, n in zip(kinds, counts, strict=True) for _ in range(n)]
    rng.shuffle(sequence)
    chosen = []
    for kind in sequence:
        bin_index, items = options[kind][rng.integers(len(options[kind]))]
        categories = sorted({taxonomy.category_of(i) for i in items}, key=taxonomy.CATEGORY_KEYS.index)
        category = categories[rng.integers(len(categories))]
        in_category = [i for i in items if taxonomy.category_of(i) == category]
        chosen.append((bin_index, pool.take(in_category[rng.integers(len(in_category))])))
    return chosen
