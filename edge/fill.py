"""When a bin's fill level makes news: an ``overflow`` once per filling, re-armed by an emptying.

The level is ``contents.Contents.fill_level`` (the share of the opening its contents cover). A
level that hovers about the threshold must not raise an overflow at every measurement, so once
raised the alarm stays quiet until the bin is emptied, or until the level has fallen clearly
below the threshold (``REARM_MARGIN``: contents that settled, a camera that saw wrong).
"""

from __future__ import annotations

REARM_MARGIN = 0.15  # below the threshold by this much, the alarm is armed again


class OverflowAlarm:
    def __init__(self, threshold: float):
        self.threshold = threshold
        self.raised = False

    def reached(self, level: float | None) -> bool:
        """Whether ``level`` is a new overflow (true once per filling)."""
        if level is None:
            return False
        if self.raised and level < self.threshold - REARM_MARGIN:
            self.raised = False
        if not self.raised and level >= self.threshold:
            self.raised = True
            return True
        return False

    def emptied(self) -> None:
        self.raised = False
