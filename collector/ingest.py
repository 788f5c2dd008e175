"""Taking in what edge boxes send: events (idempotent on their UUID) and heartbeats.

An event is acknowledged only after its transaction has committed: ``ingest`` returns
after the commit, and the route answers after ``ingest`` returns. This path runs for every
disposal at every drop-off point, so it uses SQLAlchemy Core statements compiled once.

Events of the other kinds resolve one another: a ``litter_cleared`` event closes the littering
event it names, an ``emptying`` event closes the overflow events of its bin before it. Either
may arrive first (a box retries in its own order), so each side looks for the other.
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
from binwatch.collector.compliance import is_compliant, standing_flags
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Bin, Device, EventFlag, EvidenceFile, ReviewStatus, ZoneKind, to_utc, utcnow
from binwatch.collector.db.tables import Event as EventRow
from binwatch.collector.errors import Conflict, Forbidden, Invalid, TooEarly
from binwatch.collector.names import CONTROL
from binwatch.collector.platform.messages import record_event
from binwatch.collector.settings import CLOCK_SKEW_S
from binwatch.events.platform import EventState
from binwatch.events.schema import Event, EventKind, EvidenceKind, Heartbeat

_CONTROL = re.compile(f"[{CONTROL}]")
# No device time before this: a box whose clock was reset (to 1970, or an RTC's 2000) dates its events
# there, and they would count on days long gone. binwatch enforces the Zhumadian regulation of 2024.
EARLIEST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_MAX_INT = 2**63 - 1
_STORED = select(EventRow.body_sha256, EventRow.body, EventRow.received_at).where(EventRow.id == bindparam("event_id"))
_MISSING = (
    select(EvidenceFile.kind)
    .where(EvidenceFile.event_id == bindparam("event_id"), EvidenceFile.uploaded_at.is_(None))
    .order_by(EvidenceFile.kind)
)
_INSERT_EVENT = insert(EventRow)
_ZONE_KINDS = {
    EventKind.LITTERING: ZoneKind.GROUND,
    EventKind.LITTER_CLEARED: ZoneKind.GROUND,
    EventKind.MIXED_COLLECTION: ZoneKind.COLLECTION,
}
_INSERT_FLAG = insert(EventFlag)
_INSERT_EVIDENCE = insert(EvidenceFile)


@dataclass(frozen=True)
class Ingested:
    event_id: uuid.UUID
    received_at: dt.datetime
    created: bool
    evidence_missing: list[EvidenceKind]


def canonical_body(event: Event) -> tuple[str, str]:
    """The event as the collector stores it, and its SHA-256: equal events give equal bodies. The same times
    written with another UTC offset (a client that sends ``+08:00`` where the first try sent ``Z``) give
    another body for the same event, so a body that differs is compared as an event before it is refused."""
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
    zones: Mapping[str, str] | None = None,
) -> Ingested:
    """Store ``event`` in its own committed transaction.

    Two copies of one new event arriving at once both pass the existence check; the loser's
    insert fails on the primary key, and its second attempt finds the winner's row.
    """
    check_event(device, event, bins, max_evidence_bytes, zones or {})
    check_time(event.started_at, "started_at", max_clock_skew_s)
    check_time(event.ended_at, "ended_at", max_clock_skew_s)
    try:
        with db.write_engine.begin() as connection:
            return ingest_event(connection, device, event, zone=zone)
    except IntegrityError:
        with db.write_engine.begin() as connection:
            return ingest_event(connection, device, event, zone=zone)


def check_event(
    device: DeviceIdentity,
    event: Event,
    bins: Mapping[str, str],
    max_evidence_bytes: int,
    zones: Mapping[str, str] | None = None,
) -> None:
    """The rules an event must meet beyond its schema: its own device and site, a bin or zone of the site,
    sane values. A site that lists no bins (no zones of a kind) accepts any, so a new site can report
    before its plan is entered."""
    if event.device_id != device.id:
        raise Forbidden(f"this token belongs to device {device.id}, not {event.device_id}")
    if event.site_id != device.site_id:
        raise Invalid(f"device {device.id} is registered at site {device.site_id}, not {event.site_id}")
    if event.zone_id is not None:
        _check_zone(device.site_id, event.kind, event.zone_id, zones or {})
    if event.bin_id is not None and bins:
        if event.bin_id not in bins:
            raise Invalid(f"site {device.site_id} has no bin {event.bin_id} (bins: {', '.join(sorted(bins))})")
        if bins[event.bin_id] != event.bin_category:
            raise Invalid(f"bin {event.bin_id} is a {bins[event.bin_id]} bin, the event says {event.bin_category}")
    _printable(event.model_version, "model_version")
    for evidence in event.evidence:
        if evidence.size > max_evidence_bytes:
            raise Invalid(f"{evidence.kind.value} declares {evidence.size} bytes, over the limit {max_evidence_bytes}")


def _check_zone(site_id: str, kind: EventKind, zone_id: str, zones: Mapping[str, str]) -> None:
    wanted = _ZONE_KINDS[kind].value
    of_kind = sorted(z for z, k in zones.items() if k == wanted)
    if of_kind and zone_id not in of_kind:
        raise Invalid(f"site {site_id} has no {wanted} zone {zone_id} ({wanted} zones: {', '.join(of_kind)})")


def ingest_event(connection: Connection, device: DeviceIdentity, event: Event, *, zone: ZoneInfo) -> Ingested:
    """Insert a checked event; the same event again is a no-op, another body under its id a conflict."""
    body, digest = canonical_body(event)
    event_id = str(event.event_id)
    stored = connection.execute(_STORED, {"event_id": event_id}).first()
    if stored is not None:
        if stored.body_sha256 != digest and Event.model_validate_json(stored.body) != event:
            raise Conflict(f"event {event_id} was already received with a different body")
        missing = connection.execute(_MISSING, {"event_id": event_id}).scalars().all()
        return Ingested(event.event_id, stored.received_at, False, [EvidenceKind(kind) for kind in missing])

    now = utcnow()
    started = to_utc(event.started_at, "started_at")
    prediction = event.prediction
    flags = [flag.value for flag in event.flags]
    standing = standing_flags(flags, ReviewStatus.UNREVIEWED, event.bin_category, None, None)
    resolved = _resolution(connection, event, event_id)
    compliant = is_compliant(event.kind.value, ReviewStatus.UNREVIEWED, standing)
    connection.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "kind": event.kind.value,
            "device_id": device.id,
            "site_id": event.site_id,
            "bin_id": event.bin_id,
            "bin_category": event.bin_category,
            "zone_id": event.zone_id,
            "fill_level": event.fill_level,
            **_taken_away(connection, event),
            "resolves": str(event.resolves) if event.resolves else None,
            "categories": list(event.categories) if event.categories is not None else None,
            "resolved_at": resolved[0] if resolved else None,
            "resolved_by": resolved[1] if resolved else None,
            "started_at": started,
            "ended_at": to_utc(event.ended_at, "ended_at"),
            "day": started.astimezone(zone).date(),
            "received_at": now,
            "model_version": event.model_version,
            "pred_item": prediction.item if prediction else None,
            "pred_item_score": prediction.item_score if prediction else None,
            "pred_category": prediction.category if prediction else None,
            "pred_category_score": prediction.category_score if prediction else None,
            "flagged": event.flagged,
            "compliant": compliant,
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

    def state() -> EventState:
        return EventState.model_validate(
            {
                "event": event,
                "received_at": now,
                "review_status": ReviewStatus.UNREVIEWED.value,
                "standing_flags": sorted(standing),
                "compliant": compliant,
                "resolved_at": resolved[0] if resolved else None,
                "resolved_by": resolved[1] if resolved else None,
            }
        )

    record_event(connection, event_id, "new", state)
    for closed in _resolve_others(connection, event, event_id, started):
        record_event(connection, closed, "resolved")
    return Ingested(event.event_id, now, True, sorted(e.kind for e in event.evidence))


def _taken_away(connection: Connection, event: Event) -> dict:
    """What an emptying took away (the fill level before it × the bin's capacity in litres) and where to (the
    bin's destination), as the site records them now: changing a bin later does not rewrite the past."""
    if event.kind is not EventKind.EMPTYING:
        return {"quantity_l": None, "destination": None}
    row = connection.execute(
        select(Bin.capacity_l, Bin.destination).where(Bin.site_id == event.site_id, Bin.id == event.bin_id)
    ).one_or_none()
    capacity, destination = row if row is not None else (None, None)
    level = event.fill_level
    quantity = round(level * capacity, 1) if capacity is not None and level is not None else None
    return {"quantity_l": quantity, "destination": destination}


def _resolution(connection: Connection, event: Event, event_id: str) -> tuple[dt.datetime, str] | None:
    """For a littering or overflow event arriving after what resolved it: when, and by which event."""
    if event.kind is EventKind.LITTERING:
        query = select(EventRow.started_at, EventRow.id).where(
            EventRow.resolves == event_id, EventRow.kind == EventKind.LITTER_CLEARED.value
        )
    elif event.kind is EventKind.OVERFLOW:
        query = select(EventRow.started_at, EventRow.id).where(
            EventRow.site_id == event.site_id,
            EventRow.bin_id == event.bin_id,
            EventRow.kind == EventKind.EMPTYING.value,
            EventRow.started_at >= to_utc(event.started_at, "started_at"),
        )
    else:
        return None
    found = connection.execute(query.order_by(EventRow.started_at).limit(1)).first()
    return (found.started_at, found.id) if found else None


def _resolve_others(connection: Connection, event: Event, event_id: str, started: dt.datetime) -> list[str]:
    """A litter_cleared event closes its littering event; an emptying closes the earlier overflows of its bin."""
    if event.kind is EventKind.LITTER_CLEARED:
        target = connection.execute(
            select(EventRow.kind, EventRow.site_id).where(EventRow.id == str(event.resolves))
        ).first()
        if target is None:
            return []  # the littering event has not arrived yet; it will find this one
        if (target.kind, target.site_id) != (EventKind.LITTERING.value, event.site_id):
            raise Invalid(f"event {event.resolves} is not a littering event of site {event.site_id}")
        where = [EventRow.id == str(event.resolves)]
    elif event.kind is EventKind.EMPTYING:
        where = [
            EventRow.site_id == event.site_id,
            EventRow.bin_id == event.bin_id,
            EventRow.kind == EventKind.OVERFLOW.value,
            EventRow.started_at <= started,
        ]
    else:
        return []
    open_ones = list(connection.execute(select(EventRow.id).where(*where, EventRow.resolved_at.is_(None))).scalars())
    if open_ones:
        connection.execute(
            update(EventRow).where(EventRow.id.in_(open_ones)).values(resolved_at=started, resolved_by=event_id)
        )
    return open_ones


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
