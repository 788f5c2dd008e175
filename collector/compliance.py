"""What counts as a compliant disposal, before and after a supervisor's review.

A disposal is compliant when none of its flags stands. Only violations of Art. 16
(``VIOLATION_FLAGS``) ever stand; ``uncertain`` and ``item_unseen`` ask for a supervisor's
eyes and accuse no one. The flags that stand are:
- unreviewed: the violations the edge box reported;
- confirmed: those, and for an event the box was ``uncertain`` of, the item rule applied to its
  prediction (confirming says the prediction is right);
- rejected (a false positive): none;
- corrected: ``off_hours`` if it was reported (it depends on the time, not the item), plus the
  item flags judged again from the corrected label.
The item rule is the one the edge applies (``events.rules.item_flags``).

Littering, overflow and mixed collection carry no flags: each is a violation by its kind, and stays
one unless a supervisor rejects it as a false positive. Emptying and litter_cleared report what
happened and are never violations.
"""

from __future__ import annotations

from collections.abc import Iterable

from binwatch.collector.db.tables import ReviewStatus
from binwatch.datasets.taxonomy import is_kitchen_contaminant
from binwatch.events.rules import item_flags
from binwatch.events.schema import VIOLATION_FLAGS, EventKind, Flag

ITEM_FLAGS = frozenset({Flag.MIXED_DISPOSAL.value, Flag.KITCHEN_CONTAMINATION.value})
VIOLATIONS = frozenset(f.value for f in VIOLATION_FLAGS)
VIOLATION_KINDS = frozenset(k.value for k in (EventKind.LITTERING, EventKind.OVERFLOW, EventKind.MIXED_COLLECTION))


def standing_flags(
    reported: Iterable[str],
    status: ReviewStatus,
    bin_category: str | None,
    label_item: str | None,
    label_category: str | None,
) -> set[str]:
    """The violations that stand; ``label_*`` is the confirmed prediction or the corrected label.
    An event at no bin (``bin_category`` None) has no item rule to apply."""
    reported = set(reported)
    if status is ReviewStatus.REJECTED:
        return set()
    if status is ReviewStatus.UNREVIEWED:
        return reported & VIOLATIONS
    judged = set()
    if bin_category is not None:
        judged = {f.value for f in item_flags(bin_category, label_category, _contaminant(label_item))}
    if status is ReviewStatus.CONFIRMED:
        return (reported & VIOLATIONS) | (judged if Flag.UNCERTAIN.value in reported else set())
    return (reported & VIOLATIONS) - ITEM_FLAGS | judged


def is_compliant(kind: str, status: ReviewStatus, standing: set[str]) -> bool:
    """A disposal: no flag stands; a violation kind: only once rejected; emptying, litter_cleared: always."""
    if kind in VIOLATION_KINDS:
        return status is ReviewStatus.REJECTED
    return not standing


def _contaminant(item: str | None) -> bool:
    return item is not None and is_kitchen_contaminant(item)
