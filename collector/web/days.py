"""The queue's date filter: which local days still have unreviewed events, as a month calendar.

A native date picker cannot mark days, and shows its dates in the browser's locale
(mm/dd/yyyy in an English Chrome); this calendar is plain HTML, written in ISO dates, and
each day with something left to review carries its count.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from binwatch.collector.api.defs.common import within_days


@dataclass(frozen=True)
class Day:
    date: dt.date
    unreviewed: int
    in_month: bool
    today: bool


@dataclass(frozen=True)
class Month:
    first: dt.date
    weeks: list[list[Day]]

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def previous(self) -> str:
        return (self.first - dt.timedelta(days=1)).strftime("%Y-%m")

    @property
    def following(self) -> str:
        return (self.first + dt.timedelta(days=32)).strftime("%Y-%m")


def parse_month(value: str) -> dt.date | None:
    """``YYYY-MM`` as the first of that month; None for anything else, and for a month whose calendar (with the
    weeks around it and the months before and after) a request may not name."""
    try:
        first = dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        return None
    return first if len(value) == 7 and within_days(first) else None


def month_of(unreviewed: dict[dt.date, int], shown: dt.date, today: dt.date) -> Month:
    """The weeks (Monday first, as in China) of ``shown``'s month, with each day's unreviewed count."""
    weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(shown.year, shown.month)
    return Month(
        shown.replace(day=1),
        [[Day(d, unreviewed.get(d, 0), d.month == shown.month, d == today) for d in week] for week in weeks],
    )
