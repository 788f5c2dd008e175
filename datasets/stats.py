"""Counts per category and per item: how unbalanced a data set is."""

from __future__ import annotations

from collections import Counter

from binwatch.datasets import taxonomy
from binwatch.datasets.manifest import Sample


def counts(samples: list[Sample]) -> dict:
    by_category = Counter(s.category for s in samples)
    by_item = Counter(s.item for s in samples if s.item)
    return {
        "total": len(samples),
        "categories": {c: by_category.get(c, 0) for c in taxonomy.CATEGORY_KEYS},
        "items": {i.key: by_item.get(i.key, 0) for i in taxonomy.ITEMS},
        "without_item": sum(1 for s in samples if not s.item),
    }


def format_table(stats: dict) -> str:
    lines = [f"{'category / item':<34}{'images':>8}{'share':>8}"]
    total = max(stats["total"], 1)
    for category in taxonomy.CATEGORIES:
        n = stats["categories"][category.key]
        lines.append(f"{category.key + ' ' + category.zh:<31}{n:>11}{n / total:>8.1%}")
        for entry in taxonomy.ITEMS:
            if entry.category == category.key and stats["items"][entry.key]:
                lines.append(f"  {entry.key:<32}{stats['items'][entry.key]:>8}")
    lines.append(f"{'total':<34}{stats['total']:>8}")
    return "\n".join(lines)
