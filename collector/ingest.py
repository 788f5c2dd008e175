"""Taking in what edge boxes send: events (idempotent on their UUID) and heartbeats.

An event is acknowledged only after its transaction has committed: ``ingest`` returns
after the commit, and the route answers after ``ingest`` returns. This path runs for every
disposal at every drop-off point, so it uses SQLAlchemy Core statements compiled once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from binwatch.collector.auth import DeviceIdentity
from binwatch.collector.compliance import standing_flags
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Device, EventFlag, EvidenceFile, ReviewStatus, to_utc, utcnow
from binwatch.collector.db.tables import Event as EventRow
from binwatch.collector.errors import Conflict, Forbidden, Invalid, TooEarly
from binwatch.collector.settings import CLOCK_SKEW_S
from binwatch.events.schema import Event, EventKind, EvidenceKind, Heartbeat

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# No device time before this: a box whose clock was reset (to 1970, or an RTC's 2000) dates its events
# there, and they would count on days long gone. binwatch enforces the Zhumadian regulation of 2024.
EARLIEST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_MAX_INT = 2**63 - 1
_STORED = select(EventRow.body_sha256, EventRow.received_at).where(EventRow.id == bindparam("event_id"))
_MISSING = (
    select(EvidenceFile.kind)
    .where(EvidenceFile.event_id == bindparam("event_id"), EvidenceFile.uploaded_at.is_(None))
    .order_by(EvidenceFile.kind)
)
_INSERT_EVENT = insert(EventRow)
_INSERT_FLAG = insert(EventFlag)
_INSERT_EVIDENCE = insert(EvidenceFile)


@dataclass(frozen=True)
class Ingested:
    event_id: uuid.UUID
    received_at: dt.datetime
    created: bool
    evidence_missing: list[EvidenceKind]


def canonical_body(event: Event) -> tuple[str, str]:
    """The event as the collector stores it, and its SHA-256: equal events give equal bodies."""
    body = event.model_dump_json()
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()


def ingest(
    db: Database,
    device: DeviceIdentity,
    event: Event,
    *,
    bins: Mapping[str, str],
    zone: ZoneInfo,
    max_evidence_bytes: int,
    max_clock_skew_s: float = CLOCK_SKEW_S,
) -> Ingested:
    """Store ``event`` in its own committed transaction.

    Two copies of one new event arriving at once both pass the existence check; the loser's
    insert fails on the primary key, and its second attempt finds the winner's row.
    """
    check_event(device, event, bins, max_evidence_bytes)
    check_time(event.started_at, "started_at", max_clock_skew_s)
    check_time(event.ended_at, "ended_at", max_clock_skew_s)
    try:
        with db.write_engine.begin() as connection:
            return ingest_event(connection, device, event, zone=zone)
    except IntegrityError:
        with db.write_engine.begin() as connection:
            return ingest_event(connection, device, event, zone=zone)


def check_event(device: DeviceIdentity, event: Event, bins: Mapping[str, str], max_evidence_bytes: int) -> None:
    """The rules an event must meet beyond its schema: its own device and site, a bin of the site, sane values."""
    if event.device_id != device.id:
        raise Forbidden(f"this token belongs to device {device.id}, not {event.device_id}")
    if event.site_id != device.site_id:
        raise Invalid(f"device {device.id} is registered at site {device.site_id}, not {event.site_id}")
    if event.kind is not EventKind.DISPOSAL or event.bin_id is None:
        raise Invalid(f"this collector stores disposals; a {event.kind.value} event cannot be stored yet")
    if bins:
        if event.bin_id not in bins:
            raise Invalid(f"site {device.site_id} has no bin {event.bin_id} (bins: {', '.join(sorted(bins))})")
        if bins[event.bin_id] != event.bin_category:
            raise Invalid(f"bin {event.bin_id} is a {bins[event.bin_id]} bin, the event says {event.bin_category}")
    _printable(event.model_version, "model_version")
    for evidence in event.evidence:
        if evidence.size > max_evidence_bytes:
            raise Invalid(f"{evidence.kind.value} declares {evidence.size} bytes, over the limit {max_evidence_bytes}")


def ingest_event(connection: Connection, device: DeviceIdentity, event: Event, *, zone: ZoneInfo) -> Ingested:
    """Insert a checked event; the same event again is a no-op, another body under its id a conflict."""
    body, digest = canonical_body(event)
    event_id = str(event.event_id)
    stored = connection.execute(_STORED, {"event_id": event_id}).first()
    if stored is not None:
        if stored.body_sha256 != digest:
            raise Conflict(f"event {event_id} was already received with a different body")
        missing = connection.execute(_MISSING, {"event_id": event_id}).scalars().all()
        return Ingested(event.event_id, stored.received_at, False, [EvidenceKind(kind) for kind in missing])

    now = utcnow()
    started = to_utc(event.started_at, "started_at")
    prediction = event.prediction
    flags = [flag.value for flag in event.flags]
    standing = standing_flags(flags, ReviewStatus.UNREVIEWED, event.bin_category, None, None)
    connection.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "device_id": device.id,
            "site_id": event.site_id,
            "bin_id": event.bin_id,
            "bin_category": event.bin_category,
            "started_at": started,
            "ended_at": to_utc(event.ended_at, "ended_at"),
            "day": started.astimezone(zone).date(),
            "received_at": now,
            "model_version": event.model_version,
            "pred_item": prediction.item if prediction else None,
            "pred_item_score": prediction.item_score if prediction else None,
            "pred_category": prediction.category if prediction else None,
            "pred_category_score": prediction.category_score if prediction else None,
            "flagged": bool(flags),
            "compliant": not standing,
            "review_status": ReviewStatus.UNREVIEWED.value,
            "review_note": "",
            "body": body,
            "body_sha256": digest,
        },
    )
    if flags:
        connection.execute(
            _INSERT_FLAG,
            [{"event_id": event_id, "flag": f, "reported": True, "standing": f in standing} for f in flags],
        )
    if event.evidence:
        connection.execute(
            _INSERT_EVIDENCE,
            [
                {"event_id": event_id, "kind": e.kind.value, "name": e.name, "sha256": e.sha256, "size": e.size}
                for e in event.evidence
            ],
        )
    return Ingested(event.event_id, now, True, sorted(e.kind for e in event.evidence))


def check_time(moment: dt.datetime, what: str, max_clock_skew_s: float) -> None:
    """A device's time lies between ``EARLIEST`` and the collector's clock plus ``max_clock_skew_s``.

    A later one is refused with ``Retry-After``: a box whose clock runs a little ahead gets its
    event in once the collector's clock has caught up, instead of losing it. Future events would
    otherwise count in the statistics and the ledger of days that have not happened yet.
    """
    moment = to_utc(moment, what)
    ahead = (moment - utcnow()).total_seconds()
    if ahead > max_clock_skew_s:
        raise TooEarly(
            f"{what} {moment.isoformat()} is {ahead:.0f} s ahead of the collector's clock, more than the "
            f"{max_clock_skew_s:.0f} s allowed: check the device's clock",
            retry_after_s=ahead - max_clock_skew_s,
        )
    if moment < EARLIEST:
        raise Invalid(f"{what} {moment.isoformat()} is before {EARLIEST.date()}: the device's clock is wrong")


def record_heartbeat(
    session: Session, device: DeviceIdentity, heartbeat: Heartbeat, max_clock_skew_s: float = CLOCK_SKEW_S
) -> dt.datetime:
    """Keep the newest heartbeat on the device; it is what marks a device online."""
    if heartbeat.device_id != device.id:
        raise Forbidden(f"this token belongs to device {device.id}, not {heartbeat.device_id}")
    if heartbeat.site_id != device.site_id:
        raise Invalid(f"device {device.id} is registered at site {device.site_id}, not {heartbeat.site_id}")
    check_time(heartbeat.sent_at, "sent_at", max_clock_skew_s)
    _printable(heartbeat.model_version, "model_version")
    for key in heartbeat.stage_ms:
        _printable(key, "stage_ms key")
    numbers = [heartbeat.fps, heartbeat.uptime_s, *heartbeat.stage_ms.values()]
    if not all(math.isfinite(x) for x in numbers) or heartbeat.outbox_depth > _MAX_INT:
        raise Invalid("heartbeat numbers must be finite and within 64 bits")
    now = utcnow()
    session.execute(
        update(Device)
        .where(Device.id == device.id)
        .values(last_seen_at=now, last_heartbeat={**heartbeat.model_dump(mode="json"), "received_at": now.isoformat()})
    )
    return now


def _printable(value: str, what: str) -> None:
    if _CONTROL.search(value):
        raise Invalid(f"{what} contains control characters")
