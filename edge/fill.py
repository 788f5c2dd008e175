"""When a bin's fill level makes news: an ``overflow`` once per filling, re-armed by an emptying.

The level is ``contents.Contents.fill_level`` (the share of the opening its contents cover). That
says the bag is hidden, not that the bin is full: a bin filled to a few centimetres below the rim
hides its bag as well as an overflowing one. What a camera sees of height is the rim: contents
heaped above it hide it (``Contents.rim_hidden``, the share of the rim whose look changed since
it was seen clear). An overflow needs both: the level past the threshold and at least
``RIM_SHARE`` of the rim hidden. A level that hovers about the threshold must not raise an
overflow at every measurement, so once raised the alarm stays quiet until the bin is emptied, or
until the level has fallen clearly below the threshold (``REARM_MARGIN``: contents that
settled, a camera that saw wrong).
"""

from __future__ import annotations

REARM_MARGIN = 0.15  # below the threshold by this much, the alarm is armed again
RIM_SHARE = 0.35  # contents hide at least this share of the rim: heaped above it


class OverflowAlarm:
    def __init__(self, threshold: float):
        self.threshold = threshold
        self.raised = False

    def reached(self, level: float | None, rim_hidden: float) -> bool:
        """Whether ``level`` with ``rim_hidden`` of the rim hidden is a new overflow (true once per filling)."""
        if level is None:
            return False
        if self.raised and level < self.threshold - REARM_MARGIN:
            self.raised = False
        if not self.raised and level >= self.threshold and rim_hidden >= RIM_SHARE:
            self.raised = True
            return True
        return False

    def emptied(self) -> None:
        self.raised = False
