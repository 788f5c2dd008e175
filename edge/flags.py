"""The flag rules of Art. 16, stated once.

The item rules themselves are ``events.rules.item_flags``, shared with the collector. Here:
``rule_flags`` says which flags a disposal deserves when its item is known (the tests' scenes
use it for their truth; ``edge/simulator/truth.py`` states the rules again on purpose, so the
simulator's ground truth cannot inherit a mistake from the code it measures), and ``decide``
applies the rules to what the camera saw, passing on only what the consensus is confident of.
Below the model's calibrated abstain threshold it accuses no one: a violation the rules would
see in the top prediction becomes ``uncertain``, for a supervisor to judge; so does one seen in a
grey picture (a camera's infrared night mode, ``light.in_colour``). Both add
``off_hours`` from the site's schedule.
"""

from __future__ import annotations

from datetime import datetime, time

from binwatch.datasets import taxonomy
from binwatch.edge.config import ScheduleConfig, ThresholdConfig
from binwatch.edge.consensus import Consensus
from binwatch.events.rules import item_flags
from binwatch.events.schema import Flag
from binwatch.inference.calibration import abstains


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
    category = taxonomy.category_of(item) if item is not None else None
    flags = item_flags(bin_category, category, item is not None and taxonomy.is_kitchen_contaminant(item))
    if not within_hours(at, schedule):
        flags.append(Flag.OFF_HOURS)
    return flags


def decide(
    bin_category: str,
    consensus: Consensus | None,
    at: datetime,
    thresholds: ThresholdConfig,
    schedule: ScheduleConfig,
    colour: bool = True,
) -> list[Flag]:
    """The flags for what the camera saw: a rule sees only what an agreeing consensus is confident of,
    and below the abstain threshold (the site's, else the model's), or without ``colour``, a suspected
    violation is ``uncertain``."""
    flags = []
    if consensus is not None:
        contaminant_likely = consensus.contaminant_probability >= thresholds.contamination_confidence
        abstain_below = thresholds.abstain_confidence
        if abstain_below is None:
            abstain_below = consensus.abstain_below
        if abstains(consensus.top.category_score, abstain_below) or not colour:
            suspected = item_flags(bin_category, consensus.top.category, contaminant_likely)
            flags = [Flag.UNCERTAIN] if suspected else []
        else:
            agreed = consensus.category_agreement >= thresholds.consensus_agreement
            confident_other = agreed and consensus.probability_not(bin_category) >= thresholds.mixed_confidence
            contaminant = contaminant_likely and consensus.contaminant_agreement >= thresholds.consensus_agreement
            flags = item_flags(bin_category, consensus.top.category if confident_other else None, contaminant)
    if not within_hours(at, schedule):
        flags.append(Flag.OFF_HOURS)
    return flags
