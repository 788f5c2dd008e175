"""Statistics of disposals per site, per responsible entity and per day.

``compliance_rate`` = compliant disposals / disposals (see ``compliance`` for what is
compliant); ``backlog`` = flagged events not yet reviewed. ``kinds`` counts the events of each
kind (disposals included); ``kinds_standing`` the littering, overflow and mixed-collection events
that stand (not rejected); ``unresolved`` the littering and overflow events not yet resolved.
Days are local days in the configured time zone, fixed when the event is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from binwatch.collector.compliance import VIOLATION_KINDS
from binwatch.collector.db.tables import Entity, Event, EventFlag, ReviewStatus, Site
from binwatch.events.schema import EventKind, Flag

Grouping = Literal["site", "entity", "day"]
FLAG_KEYS = tuple(f.value for f in Flag)
KIND_KEYS = tuple(k.value for k in EventKind)
STANDING_KINDS = tuple(k for k in KIND_KEYS if k in VIOLATION_KINDS)
IS_DISPOSAL = Event.kind == EventKind.DISPOSAL.value
UNRESOLVED = Event.kind.in_([EventKind.LITTERING.value, EventKind.OVERFLOW.value]) & Event.resolved_at.is_(None)


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
    kinds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KIND_KEYS, 0))
    kinds_standing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STANDING_KINDS, 0))
    unresolved: int = 0

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
            count_where(IS_DISPOSAL),
            count_where(IS_DISPOSAL & Event.flagged.is_(True)),
            count_where(IS_DISPOSAL & Event.compliant.is_(True)),
            count_where(Event.review_status != ReviewStatus.UNREVIEWED.value),
            count_where(Event.flagged.is_(True) & (Event.review_status == ReviewStatus.UNREVIEWED.value)),
            count_where(UNRESOLVED),
            *(count_where(Event.kind == k) for k in KIND_KEYS),
            *(count_where((Event.kind == k) & Event.compliant.is_(False)) for k in STANDING_KINDS),
        )
        .group_by(key, label)
    )
    tallies: dict[str, Tally] = {}
    for k, lab, disposals, flagged, compliant, reviewed, backlog, unresolved, *by_kind in session.execute(counts):
        kinds, standing = by_kind[: len(KIND_KEYS)], by_kind[len(KIND_KEYS) :]
        tallies[str(k)] = Tally(
            str(k),
            str(lab),
            disposals,
            flagged,
            compliant,
            reviewed,
            backlog,
            kinds=dict(zip(KIND_KEYS, kinds, strict=True)),
            kinds_standing=dict(zip(STANDING_KINDS, standing, strict=True)),
            unresolved=unresolved,
        )

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
        for name in ("disposals", "flagged", "compliant", "reviewed", "backlog", "unresolved"):
            sums[name] += getattr(t, name)
        for counts in ("flags_reported", "flags_standing", "kinds", "kinds_standing"):
            into = getattr(result, counts)
            for key, n in getattr(t, counts).items():
                into[key] = into.get(key, 0) + n
    for name, n in sums.items():
        setattr(result, name, n)
    return result


def _sort_key(by: Grouping):
    return (lambda k: int(k)) if by == "entity" else (lambda k: k)
