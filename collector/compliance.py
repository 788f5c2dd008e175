"""What counts as a compliant disposal, before and after a supervisor's review.

A disposal is compliant when none of its flags stands. The flags that stand are:
- unreviewed or confirmed: the flags the edge box reported;
- rejected (a false positive): none;
- corrected: ``off_hours`` if it was reported (it depends on the time, not the item), plus the
  item flags judged again from the corrected label by the rule the edge applies
  (``events.rules.item_flags``).
"""

from __future__ import annotations

from collections.abc import Iterable

from binwatch.collector.db.tables import ReviewStatus
from binwatch.datasets.taxonomy import is_kitchen_contaminant
from binwatch.events.rules import item_flags
from binwatch.events.schema import Flag

ITEM_FLAGS = frozenset({Flag.MIXED_DISPOSAL.value, Flag.KITCHEN_CONTAMINATION.value})


def standing_flags(
    reported: Iterable[str],
    status: ReviewStatus,
    bin_category: str,
    label_item: str | None,
    label_category: str | None,
) -> set[str]:
    reported = set(reported)
    if status is ReviewStatus.REJECTED:
        return set()
    if status is not ReviewStatus.CORRECTED:
        return reported
    contaminant = label_item is not None and is_kitchen_contaminant(label_item)
    return (reported - ITEM_FLAGS) | {f.value for f in item_flags(bin_category, label_category, contaminant)}
