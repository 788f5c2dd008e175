"""The flag rules of Art. 16, stated once.

``rule_flags`` says which flags a disposal deserves when its item is known (the tests'
scenes use it for their truth; ``edge/simulator/truth.py`` states the rules again on purpose,
so the simulator's ground truth cannot inherit a mistake from the code it measures).
``decide`` applies the same rules to what the camera saw, flagging only where the consensus
is confident enough. An Art. 16(3) contaminant in the kitchen bin is an item of another
category in that bin, so it is both ``mixed_disposal`` and ``kitchen_contamination``.
"""

from __future__ import annotations

from datetime import datetime, time

from binwatch.datasets import taxonomy
from binwatch.edge.config import ScheduleConfig, ThresholdConfig
from binwatch.edge.consensus import Consensus
from binwatch.events.schema import Flag

KITCHEN = "kitchen"


def within_hours(at: datetime, schedule: ScheduleConfig) -> bool:
    """Whether ``at`` (aware) falls in an allowed window; no windows means any time.
    A window whose end is before its start runs over midnight."""
    windows = schedule.windows()
    if not windows:
        return True
    local = at.astimezone(schedule.zone).time()
    return any(_inside(local, start, end) for start, end in windows)


def _inside(t: time, start: time, end: time) -> bool:
    return start <= t < end if start < end else (t >= start or t < end)


def rule_flags(bin_category: str, item: str | None, at: datetime, schedule: ScheduleConfig) -> list[Flag]:
    """The flags a disposal of ``item`` (``None``: unknown) into a ``bin_category`` bin at ``at`` deserves."""
    flags = []
    if item is not None and taxonomy.category_of(item) != bin_category:
        flags.append(Flag.MIXED_DISPOSAL)
    if item is not None and bin_category == KITCHEN and taxonomy.is_kitchen_contaminant(item):
        flags.append(Flag.KITCHEN_CONTAMINATION)
    if not within_hours(at, schedule):
        flags.append(Flag.OFF_HOURS)
    return flags


def decide(
    bin_category: str, consensus: Consensus | None, at: datetime, thresholds: ThresholdConfig, schedule: ScheduleConfig
) -> list[Flag]:
    """The flags for what the camera saw: a rule fires only on a confident, agreeing consensus."""
    flags = []
    if consensus is not None:
        if (
            consensus.top.category != bin_category
            and consensus.probability_not(bin_category) >= thresholds.mixed_confidence
            and consensus.category_agreement >= thresholds.consensus_agreement
        ):
            flags.append(Flag.MIXED_DISPOSAL)
        if (
            bin_category == KITCHEN
            and consensus.contaminant_probability >= thresholds.contamination_confidence
            and consensus.contaminant_agreement >= thresholds.consensus_agreement
        ):
            flags.append(Flag.KITCHEN_CONTAMINATION)
    if not within_hours(at, schedule):
        flags.append(Flag.OFF_HOURS)
    return flags
