"""The Art. 15(5) ledger, for the responsible entity to keep and report.

Three kinds of row, told apart by ``record``: ``day``, one per drop-off point and local day (disposals,
flags, compliance, and the events around the bins); ``emptying``, one per bin emptied, with the fill level
before it and the quantity estimated from it (fill level × the bin's capacity in litres, as the site
records it at the time; empty when the capacity is not known); ``work_order``, one per step of a
rectification order. Written as CSV in UTF-8 with a byte-order mark, so that spreadsheet programs show the
Chinese names of sites and entities correctly. Names and addresses are typed by people; a cell that
starts like a formula is written with a leading apostrophe, which spreadsheet programs show as text
instead of running it (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import Entity, Event, EventFlag, ReviewStatus, Site, User, WorkOrder, WorkOrderStep
from binwatch.collector.entity_types import ENTITY_TYPE_LABELS, EntityType
from binwatch.collector.stats import IS_DISPOSAL, count_where
from binwatch.datasets.taxonomy import CATEGORY_KEYS
from binwatch.events.schema import EventKind, Flag

FLAG_KEYS = tuple(f.value for f in Flag)
RECORDS = ("day", "emptying", "work_order")
AROUND_THE_BINS = (EventKind.LITTERING.value, EventKind.OVERFLOW.value, EventKind.MIXED_COLLECTION.value)
# The columns of version 1 first, in their places; then the record kind and the columns of the new rows.
COLUMNS = (
    "date",
    "site_id",
    "site_name",
    "site_address",
    "entity_type",
    "entity_type_zh",
    "entity_name",
    # day
    "disposals",
    *(f"disposals_{c}" for c in CATEGORY_KEYS),
    "flagged",
    *(f"standing_{f}" for f in FLAG_KEYS),
    "compliant",
    "compliance_rate",
    "reviewed",
    "backlog",
    "record",
    "time",
    *AROUND_THE_BINS,
    "emptyings",
    *(f"collected_l_{c}" for c in CATEGORY_KEYS),
    # emptying
    "event_id",
    "bin_id",
    "bin_category",
    "fill_level",
    "quantity_l",
    # work_order
    "work_order_id",
    "work_order_step",
    "work_order_state",
    "work_order_reasons",
    "due_at",
    "user",
    "note",
    # emptying, added after the work-order columns so that none of theirs moves
    "destination",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def ledger_rows(
    session: Session,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    site_id: str | None = None,
    entity_id: int | None = None,
    zone: ZoneInfo | None = None,
) -> list[dict]:
    """The rows of the local days ``since`` to ``until`` (inclusive) in ``zone`` (default UTC), in order of
    day, site, record and time."""
    zone = zone or ZoneInfo("UTC")
    sites = {}
    site_query = select(Site.id, Site.name, Site.address, Entity.type, Entity.name).join(
        Entity, Entity.id == Site.entity_id
    )
    for sid, name, address, etype, ename in session.execute(site_query):
        sites[sid] = {
            "site_id": sid,
            "site_name": name,
            "site_address": address,
            "entity_type": etype,
            "entity_type_zh": ENTITY_TYPE_LABELS[EntityType(etype)][0],
            "entity_name": ename,
        }
    where = []
    if since is not None:
        where.append(Event.day >= since)
    if until is not None:
        where.append(Event.day <= until)
    in_sites = []
    if site_id is not None:
        in_sites.append(Event.site_id == site_id)
    if entity_id is not None:
        in_sites.append(Event.site_id.in_(select(Site.id).where(Site.entity_id == entity_id)))
    rows = _day_rows(session, [*where, *in_sites], sites)
    rows += _emptying_rows(session, [*where, *in_sites], sites, zone)
    rows += _order_rows(session, since, until, site_id, entity_id, sites, zone)
    rows.sort(key=lambda r: (r["date"], r["site_id"], RECORDS.index(r["record"]), r.get("time", "")))
    return rows


def _day_rows(session: Session, where: list, sites: dict) -> list[dict]:
    is_emptying = Event.kind == EventKind.EMPTYING.value
    query = (
        select(
            Event.day,
            Event.site_id,
            count_where(IS_DISPOSAL),
            *(count_where(IS_DISPOSAL & (Event.bin_category == c)) for c in CATEGORY_KEYS),
            count_where(IS_DISPOSAL & Event.flagged.is_(True)),
            count_where(IS_DISPOSAL & Event.compliant.is_(True)),
            count_where(Event.review_status != ReviewStatus.UNREVIEWED.value),
            count_where(Event.flagged.is_(True) & (Event.review_status == ReviewStatus.UNREVIEWED.value)),
            *(count_where((Event.kind == k) & Event.compliant.is_(False)) for k in AROUND_THE_BINS),
            count_where(is_emptying),
            *(
                func.coalesce(
                    func.sum(case((is_emptying & (Event.bin_category == c), Event.quantity_l), else_=0.0)), 0.0
                )
                for c in CATEGORY_KEYS
            ),
        )
        .where(*where)
        .group_by(Event.day, Event.site_id)
    )
    flags = (
        select(Event.day, Event.site_id, EventFlag.flag, func.count())
        .join(EventFlag, EventFlag.event_id == Event.id)
        .where(EventFlag.standing.is_(True), *where)
        .group_by(Event.day, Event.site_id, EventFlag.flag)
    )
    standing = {(day, site, flag): n for day, site, flag, n in session.execute(flags)}
    n_cat = len(CATEGORY_KEYS)
    rows = []
    for day, sid, disposals, *rest in session.execute(query):
        by_category, rest = rest[:n_cat], rest[n_cat:]
        flagged, compliant, reviewed, backlog, *rest = rest
        around, rest = rest[: len(AROUND_THE_BINS)], rest[len(AROUND_THE_BINS) :]
        emptyings, *collected = rest
        rows.append(
            {
                "record": "day",
                "date": day.isoformat(),
                **sites[sid],
                "disposals": disposals,
                **{f"disposals_{c}": n for c, n in zip(CATEGORY_KEYS, by_category, strict=True)},
                "flagged": flagged,
                **{f"standing_{f}": standing.get((day, sid, f), 0) for f in FLAG_KEYS},
                "compliant": compliant,
                "compliance_rate": f"{compliant / disposals:.4f}" if disposals else "",
                "reviewed": reviewed,
                "backlog": backlog,
                **dict(zip(AROUND_THE_BINS, around, strict=True)),
                "emptyings": emptyings,
                **{f"collected_l_{c}": f"{q:.1f}" for c, q in zip(CATEGORY_KEYS, collected, strict=True)},
            }
        )
    return rows


def _emptying_rows(session: Session, where: list, sites: dict, zone: ZoneInfo) -> list[dict]:
    query = select(Event).where(Event.kind == EventKind.EMPTYING.value, *where)
    return [
        {
            "record": "emptying",
            "date": e.day.isoformat(),
            "time": e.started_at.astimezone(zone).strftime("%H:%M:%S"),
            **sites[e.site_id],
            "event_id": e.id,
            "bin_id": e.bin_id,
            "bin_category": e.bin_category,
            "fill_level": f"{e.fill_level:.2f}" if e.fill_level is not None else "",
            "quantity_l": f"{e.quantity_l:.1f}" if e.quantity_l is not None else "",
            "destination": e.destination or "",
        }
        for e in session.scalars(query)
    ]


def _order_rows(
    session: Session,
    since: dt.date | None,
    until: dt.date | None,
    site_id: str | None,
    entity_id: int | None,
    sites: dict,
    zone: ZoneInfo,
) -> list[dict]:
    query = (
        select(WorkOrderStep, WorkOrder, User.username)
        .join(WorkOrder, WorkOrder.id == WorkOrderStep.order_id)
        .outerjoin(User, User.id == WorkOrderStep.user_id)
    )
    if since is not None:
        query = query.where(WorkOrderStep.created_at >= dt.datetime.combine(since, dt.time(), zone))
    if until is not None:
        query = query.where(
            WorkOrderStep.created_at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone)
        )
    if site_id is not None:
        query = query.where(WorkOrder.site_id == site_id)
    if entity_id is not None:
        query = query.where(WorkOrder.site_id.in_(select(Site.id).where(Site.entity_id == entity_id)))
    rows = []
    for step, order, username in session.execute(query):
        at = step.created_at.astimezone(zone)
        rows.append(
            {
                "record": "work_order",
                "date": at.date().isoformat(),
                "time": at.strftime("%H:%M:%S"),
                **sites[order.site_id],
                "event_id": order.event_id or "",
                "work_order_id": order.id,
                "work_order_step": step.action,
                "work_order_state": step.after["state"],
                "work_order_reasons": " ".join(order.reasons),
                "due_at": order.due_at.astimezone(zone).isoformat(timespec="minutes"),
                "user": username or "",
                "note": step.note,
            }
        )
    return rows


def ledger_csv(rows: list[dict]) -> Iterator[str]:
    """The CSV text in pieces, starting with the byte-order mark and the header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: as_text(value) for key, value in row.items()})
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_text(value: object) -> object:
    """A text cell that a spreadsheet would take for a formula, made plain text; other cells as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
