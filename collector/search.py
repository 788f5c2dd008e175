"""Finding events: filters and a cursor over (started_at, id), newest first; an event's neighbours
in that order; and the review queue's counts of what is still unreviewed.

The cursor is the sort key of the last event of a page, so a page never repeats or skips
an event when new ones arrive meanwhile (a page-number offset would).

``severity`` splits flagged events in two: ``violation``, those reporting a violation of
Art. 16 (``VIOLATION_FLAGS``) or of a kind that is one by itself (littering, overflow, mixed
collection: ``VIOLATION_KINDS``), and ``review``, those flagged only to ask a supervisor to look
(``REVIEW_FLAGS``), which accuse no one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from binwatch.collector.compliance import VIOLATION_KINDS
from binwatch.collector.db.tables import Event, EventFlag, ReviewStatus, Site, to_utc
from binwatch.collector.errors import Invalid
from binwatch.events.schema import VIOLATION_FLAGS

Severity = Literal["violation", "review"]
SEVERITIES: tuple[Severity, ...] = ("violation", "review")


@dataclass(frozen=True)
class EventFilter:
    site_id: str | None = None
    entity_id: int | None = None
    kind: str | None = None
    bin_id: str | None = None
    device_id: str | None = None
    flag: str | None = None
    flagged: bool | None = None
    review_status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    severity: Severity | None = None
    day: dt.date | None = None  # the local day, as statistics count it


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_cursor: str | None


@dataclass(frozen=True)
class QueueCounts:
    """Unreviewed flagged events, each facet counted under every filter but its own."""

    total: int
    by_severity: dict[Severity, int]
    by_flag: dict[str, int]
    by_day: dict[dt.date, int]


def encode_cursor(event: Event) -> str:
    raw = json.dumps([event.started_at.isoformat(), event.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR = 200  # characters; ``encode_cursor`` writes about 100


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The sort key a cursor names. Whatever a client makes up instead is ``Invalid``: the key goes
    into a query, so both parts are checked for what they must be (a time, an event's UUID)."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        started, event_id = json.loads(raw)
        return to_utc(dt.datetime.fromisoformat(started), "cursor"), str(uuid.UUID(event_id))
    except (ValueError, TypeError, AttributeError, binascii.Error, Invalid):
        raise Invalid("bad cursor; pass next_cursor from the previous page unchanged") from None


def _reports(flags: list[str]) -> ColumnElement[bool]:
    """The event reported one of ``flags`` (aliased, so that it also holds inside a query over the flags)."""
    flag = aliased(EventFlag)
    return exists().where(flag.event_id == Event.id, flag.reported.is_(True), flag.flag.in_(flags))


def _violation() -> ColumnElement[bool]:
    """A reported violation flag, or a kind that is a violation by itself (littering, overflow,
    mixed collection: they carry no flags)."""
    return or_(Event.kind.in_(sorted(VIOLATION_KINDS)), _reports([f.value for f in VIOLATION_FLAGS]))


def _conditions(where: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        column == value
        for column, value in (
            (Event.site_id, where.site_id),
            (Event.kind, where.kind),
            (Event.bin_id, where.bin_id),
            (Event.device_id, where.device_id),
            (Event.flagged, where.flagged),
            (Event.review_status, where.review_status),
            (Event.day, where.day),
        )
        if value is not None
    ]
    if where.entity_id is not None:
        conditions.append(Event.site_id.in_(select(Site.id).where(Site.entity_id == where.entity_id)))
    if where.flag is not None:
        conditions.append(_reports([where.flag]))
    if where.severity == "violation":
        conditions.append(_violation())
    elif where.severity == "review":
        conditions.extend([Event.flagged.is_(True), ~_violation()])
    if where.since is not None:
        conditions.append(Event.started_at >= where.since)
    if where.until is not None:
        conditions.append(Event.started_at < where.until)
    return conditions


def find_events(session: Session, where: EventFilter, *, limit: int = 50, cursor: str | None = None) -> Page:
    query = select(Event).where(*_conditions(where))
    if cursor:
        started, event_id = decode_cursor(cursor)
        query = query.where(_older_than(started, event_id))
    rows = list(session.scalars(query.order_by(Event.started_at.desc(), Event.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def neighbours(session: Session, where: EventFilter, event: Event) -> tuple[Event | None, Event | None]:
    """The events just newer and just older than ``event`` among those ``where`` selects, in the
    queue's order (``event`` itself need not match: it may just have been reviewed out of it)."""
    conditions = _conditions(where)
    newer = session.scalars(
        select(Event)
        .where(*conditions, ~_older_than(event.started_at, event.id), Event.id != event.id)
        .order_by(Event.started_at, Event.id)
        .limit(1)
    ).first()
    older = session.scalars(
        select(Event)
        .where(*conditions, _older_than(event.started_at, event.id))
        .order_by(Event.started_at.desc(), Event.id.desc())
        .limit(1)
    ).first()
    return newer, older


def queue_counts(session: Session, where: EventFilter) -> QueueCounts:
    """What is left to review under ``where`` (its review status and flagged are ignored): per
    severity, per reported flag and per local day."""
    unreviewed = replace(where, flagged=True, review_status=ReviewStatus.UNREVIEWED.value)
    any_severity = _conditions(replace(unreviewed, severity=None))
    by_severity = session.execute(
        select(func.count(), func.count().filter(_violation())).select_from(Event).where(*any_severity)
    ).one()
    by_flag = session.execute(
        select(EventFlag.flag, func.count())
        .join(Event, Event.id == EventFlag.event_id)
        .where(*_conditions(replace(unreviewed, flag=None)), EventFlag.reported.is_(True))
        .group_by(EventFlag.flag)
    ).all()
    by_day = session.execute(
        select(Event.day, func.count())
        .where(*_conditions(replace(unreviewed, day=None)))
        .group_by(Event.day)
        .order_by(Event.day.desc())
    ).all()
    total = session.scalar(select(func.count()).select_from(Event).where(*_conditions(unreviewed)))
    everything, violations = by_severity
    return QueueCounts(
        total=total or 0,
        by_severity={"violation": violations, "review": everything - violations},
        by_flag={flag: n for flag, n in by_flag},
        by_day={day: n for day, n in by_day},
    )


def _older_than(started: dt.datetime, event_id: str) -> ColumnElement[bool]:
    return or_(Event.started_at < started, and_(Event.started_at == started, Event.id < event_id))
