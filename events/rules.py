"""The item rules of Art. 16, stated once for the edge box and the collector.

Art. 16 asks for each item in the bin of its category, and for kitchen waste without disposable
tableware, packaging bags and similar contaminants (Art. 16(3)). A contaminant in the kitchen bin
is an item of another category there, so it breaks both rules. The edge applies this to what its
camera is confident of, the collector to a supervisor's corrected label: the rule is the same.
"""

from __future__ import annotations

from binwatch.events.schema import Flag

KITCHEN = "kitchen"


def item_flags(bin_category: str, category: str | None, contaminant: bool) -> list[Flag]:
    """The Art. 16 flags an item deserves in a ``bin_category`` bin.

    ``category`` is the item's Art. 12 category (``None``: not known, so no ``mixed_disposal``);
    ``contaminant`` whether it is an Art. 16(3) kitchen-bin contaminant.
    """
    flags = []
    if category is not None and category != bin_category:
        flags.append(Flag.MIXED_DISPOSAL)
    if contaminant and bin_category == KITCHEN:
        flags.append(Flag.KITCHEN_CONTAMINATION)
    return flags
