"""The Art. 15(5) ledger: one row per drop-off point and day, for the responsible entity to keep and report.

Written as CSV in UTF-8 with a byte-order mark, so that spreadsheet programs show the
Chinese names of sites and entities correctly. Names and addresses are typed by people; a
cell that starts like a formula is written with a leading apostrophe, which spreadsheet
programs show as text instead of running it (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import Entity, Event, EventFlag, ReviewStatus, Site
from binwatch.collector.entity_types import ENTITY_TYPE_LABELS, EntityType
from binwatch.collector.stats import count_where
from binwatch.datasets.taxonomy import CATEGORY_KEYS
from binwatch.events.schema import Flag

FLAG_KEYS = tuple(f.value for f in Flag)
COLUMNS = (
    "date",
    "site_id",
    "site_name",
    "site_address",
    "entity_type",
    "entity_type_zh",
    "entity_name",
    "disposals",
    *(f"disposals_{c}" for c in CATEGORY_KEYS),
    "flagged",
    *(f"standing_{f}" for f in FLAG_KEYS),
    "compliant",
    "compliance_rate",
    "reviewed",
    "backlog",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def ledger_rows(
    session: Session,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    site_id: str | None = None,
    entity_id: int | None = None,
) -> list[dict]:
    query = (
        select(
            Event.day,
            Site.id,
            Site.name,
            Site.address,
            Entity.type,
            Entity.name,
            func.count(),
            *(count_where(Event.bin_category == c) for c in CATEGORY_KEYS),
            count_where(Event.flagged.is_(True)),
            count_where(Event.compliant.is_(True)),
            count_where(Event.review_status != ReviewStatus.UNREVIEWED.value),
            count_where(Event.flagged.is_(True) & (Event.review_status == ReviewStatus.UNREVIEWED.value)),
        )
        .join(Site, Site.id == Event.site_id)
        .join(Entity, Entity.id == Site.entity_id)
        .group_by(Event.day, Site.id, Site.name, Site.address, Entity.type, Entity.name)
        .order_by(Event.day, Site.id)
    )
    flags = (
        select(Event.day, Event.site_id, EventFlag.flag, func.count())
        .join(EventFlag, EventFlag.event_id == Event.id)
        .where(EventFlag.standing.is_(True))
        .group_by(Event.day, Event.site_id, EventFlag.flag)
    )
    conditions = []
    if since is not None:
        conditions.append(Event.day >= since)
    if until is not None:
        conditions.append(Event.day <= until)
    if site_id is not None:
        conditions.append(Event.site_id == site_id)
    if entity_id is not None:
        conditions.append(Event.site_id.in_(select(Site.id).where(Site.entity_id == entity_id)))
    query, flags = query.where(*conditions), flags.where(*conditions)
    standing = {(day, site, flag): n for day, site, flag, n in session.execute(flags)}

    rows = []
    for day, sid, name, address, etype, ename, disposals, *rest in session.execute(query):
        by_category, (flagged, compliant, reviewed, backlog) = rest[: len(CATEGORY_KEYS)], rest[len(CATEGORY_KEYS) :]
        row = {
            "date": day.isoformat(),
            "site_id": sid,
            "site_name": name,
            "site_address": address,
            "entity_type": etype,
            "entity_type_zh": ENTITY_TYPE_LABELS[EntityType(etype)][0],
            "entity_name": ename,
            "disposals": disposals,
            **{f"disposals_{c}": n for c, n in zip(CATEGORY_KEYS, by_category, strict=True)},
            "flagged": flagged,
            **{f"standing_{f}": standing.get((day, sid, f), 0) for f in FLAG_KEYS},
            "compliant": compliant,
            "compliance_rate": f"{compliant / disposals:.4f}",
            "reviewed": reviewed,
            "backlog": backlog,
        }
        rows.append(row)
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
