"""Deterministic train/validation split, stratified by item, never splitting a group.

Near duplicates (mirrored, cropped, re-compressed copies) share a group; putting one copy
in training and another in validation would make validation a memory test.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from binwatch.datasets.manifest import Sample


def split_by_group(
    samples: list[Sample], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[Sample], list[Sample]]:
    """Return ``(train, val)``; the same samples and seed give the same split."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.group].append(sample)
    groups_by_label: dict[str, list[str]] = defaultdict(list)
    for group_id, members in groups.items():
        label = Counter(s.item or s.category for s in members).most_common(1)[0][0]
        groups_by_label[label].append(group_id)

    rng = random.Random(seed)
    val_groups: set[str] = set()
    for label in sorted(groups_by_label):
        group_ids = sorted(groups_by_label[label])
        rng.shuffle(group_ids)
        total = sum(len(groups[g]) for g in group_ids)
        target = val_fraction * total
        taken = 0
        for group_id in group_ids:
            if taken >= target or len(val_groups) and taken + len(groups[group_id]) > 1.5 * target + 1:
                continue
            val_groups.add(group_id)
            taken += len(groups[group_id])
    train = [s for s in samples if s.group not in val_groups]
    val = [s for s in samples if s.group in val_groups]
    return train, val


def split_by_source(samples: list[Sample], val_sources: list[str]) -> tuple[list[Sample], list[Sample]]:
    """``(train, val)`` with whole sources held out: what a model scores on photos from a source
    it never saw, which is what a new camera is. A group that reaches into a held-out source
    (the same can photographed for two collections) is kept out of training entirely."""
    known = sorted({s.source for s in samples})
    unknown = sorted(set(val_sources) - set(known))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; the data has {', '.join(known)}")
    if not val_sources:
        raise ValueError("name at least one source to hold out")
    held = set(val_sources)
    if held >= set(known):
        raise ValueError("holding out every source leaves nothing to train on")
    val = [s for s in samples if s.source in held]
    touched = {s.group for s in val}
    train = [s for s in samples if s.source not in held and s.group not in touched]
    return train, val


def parse_sources(text: str | None) -> list[str]:
    """``"a,b, c"`` → ``["a", "b", "c"]``; empty or ``None`` → ``[]``."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]
