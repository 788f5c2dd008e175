"""Statistics of disposals per site, per responsible entity and per day.

``compliance_rate`` = compliant disposals / disposals (see ``compliance`` for what is
compliant); ``backlog`` = flagged disposals not yet reviewed. Days are local days in the
configured time zone, fixed when the event is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import Entity, Event, EventFlag, ReviewStatus, Site
from binwatch.events.schema import Flag

Grouping = Literal["site", "entity", "day"]
FLAG_KEYS = tuple(f.value for f in Flag)


@dataclass
class Tally:
    key: str
    label: str
    disposals: int = 0
    flagged: int = 0
    compliant: int = 0
    reviewed: int = 0
    backlog: int = 0
    flags_reported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_KEYS, 0))
    flags_standing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_KEYS, 0))

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.disposals if self.disposals else None


def count_where(condition):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 over no rows: portable across SQLite and PostgreSQL."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _filtered(query, since: dt.date | None, until: dt.date | None, site_id: str | None, entity_id: int | None):
    if since is not None:
        query = query.where(Event.day >= since)
    if until is not None:
        query = query.where(Event.day <= until)
    if site_id is not None:
        query = query.where(Event.site_id == site_id)
    if entity_id is not None:
        query = query.where(Site.entity_id == entity_id)
    return query


def tally(
    session: Session,
    by: Grouping,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    site_id: str | None = None,
    entity_id: int | None = None,
) -> list[Tally]:
    """One ``Tally`` per site, entity or day that has events in the range, in key order."""
    key, label = {
        "site": (Event.site_id, Site.name),
        "entity": (Site.entity_id, Entity.name),
        "day": (Event.day, Event.day),
    }[by]
    base = (
        select(key, label)
        .select_from(Event)
        .join(Site, Site.id == Event.site_id)
        .join(Entity, Entity.id == Site.entity_id)
    )
    counts = (
        _filtered(base, since, until, site_id, entity_id)
        .add_columns(
            func.count(),
            count_where(Event.flagged.is_(True)),
            count_where(Event.compliant.is_(True)),
            count_where(Event.review_status != ReviewStatus.UNREVIEWED.value),
            count_where(Event.flagged.is_(True) & (Event.review_status == ReviewStatus.UNREVIEWED.value)),
        )
        .group_by(key, label)
    )
    tallies: dict[str, Tally] = {}
    for k, lab, disposals, flagged, compliant, reviewed, backlog in session.execute(counts):
        tallies[str(k)] = Tally(str(k), str(lab), disposals, flagged, compliant, reviewed, backlog)

    flags = _filtered(base.join(EventFlag, EventFlag.event_id == Event.id), since, until, site_id, entity_id)
    flags = flags.add_columns(
        EventFlag.flag, count_where(EventFlag.reported.is_(True)), count_where(EventFlag.standing.is_(True))
    ).group_by(key, label, EventFlag.flag)
    for k, _lab, flag, reported, standing in session.execute(flags):
        t = tallies[str(k)]
        t.flags_reported[flag] = t.flags_reported.get(flag, 0) + reported
        t.flags_standing[flag] = t.flags_standing.get(flag, 0) + standing
    return [tallies[k] for k in sorted(tallies, key=_sort_key(by))]


def total(tallies: list[Tally]) -> Tally:
    result = Tally("total", "total")
    sums: defaultdict[str, int] = defaultdict(int)
    for t in tallies:
        for name in ("disposals", "flagged", "compliant", "reviewed", "backlog"):
            sums[name] += getattr(t, name)
        for flag, n in t.flags_reported.items():
            result.flags_reported[flag] = result.flags_reported.get(flag, 0) + n
        for flag, n in t.flags_standing.items():
            result.flags_standing[flag] = result.flags_standing.get(flag, 0) + n
    for name, n in sums.items():
        setattr(result, name, n)
    return result


def _sort_key(by: Grouping):
    return (lambda k: int(k)) if by == "entity" else (lambda k: k)
