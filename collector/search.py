"""Finding events: filters and a cursor over (started_at, id), newest first.

The cursor is the sort key of the last event of a page, so a page never repeats or skips
an event when new ones arrive meanwhile (a page-number offset would).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import Event, EventFlag, Site, to_utc
from binwatch.collector.errors import Invalid


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


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_cursor: str | None


def encode_cursor(event: Event) -> str:
    raw = json.dumps([event.started_at.isoformat(), event.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        started, event_id = json.loads(raw)
        started = to_utc(dt.datetime.fromisoformat(started), "cursor")
        if not isinstance(event_id, str):
            raise ValueError
        return started, event_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("bad cursor; pass next_cursor from the previous page unchanged") from None


def find_events(session: Session, where: EventFilter, *, limit: int = 50, cursor: str | None = None) -> Page:
    query = select(Event)
    if where.entity_id is not None:
        query = query.join(Site, Site.id == Event.site_id).where(Site.entity_id == where.entity_id)
    for column, value in (
        (Event.site_id, where.site_id),
        (Event.kind, where.kind),
        (Event.bin_id, where.bin_id),
        (Event.device_id, where.device_id),
        (Event.flagged, where.flagged),
        (Event.review_status, where.review_status),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.flag is not None:
        query = query.where(
            exists().where(EventFlag.event_id == Event.id, EventFlag.flag == where.flag, EventFlag.reported.is_(True))
        )
    if where.since is not None:
        query = query.where(Event.started_at >= where.since)
    if where.until is not None:
        query = query.where(Event.started_at < where.until)
    if cursor:
        started, event_id = decode_cursor(cursor)
        query = query.where(or_(Event.started_at < started, and_(Event.started_at == started, Event.id < event_id)))
    rows = list(session.scalars(query.order_by(Event.started_at.desc(), Event.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)
