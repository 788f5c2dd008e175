"""What edge boxes post: events, their evidence files, heartbeats (device token)."""

from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from binwatch.collector.api.defs.common import errors
from binwatch.collector.api.defs.events import EventAck, EvidenceAck, HeartbeatAck
from binwatch.collector.api.deps import DatabaseDep, DeviceDep, LookupsDep, SettingsDep, StoreDep
from binwatch.collector.errors import Invalid, TooLarge, UnsupportedMedia
from binwatch.collector.evidence import find_declared, store_evidence
from binwatch.collector.ingest import ingest, record_heartbeat
from binwatch.collector.spool import spool_stream
from binwatch.events.schema import Event, EvidenceKind, Heartbeat

router = APIRouter(tags=["ingest"])


@router.post(
    "/events",
    response_model=EventAck,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": EventAck, "description": "already received: the stored result"},
        **errors(401, 403, 409, 413, 422),
    },
)
async def post_event(
    event: Event, response: Response, device: DeviceDep, db: DatabaseDep, lookups: LookupsDep, settings: SettingsDep
) -> EventAck:
    """Store one event; idempotent on ``event_id`` (the same body again gives 200 and changes nothing).

    The answer comes after the event's transaction has committed.
    """
    bins = lookups.cached_bins(device.site_id)
    if bins is None:
        bins = await run_in_threadpool(lookups.bins, device.site_id)
    zones = None
    if event.zone_id is not None:
        zones = lookups.cached_zones(device.site_id)
        if zones is None:
            zones = await run_in_threadpool(lookups.zones, device.site_id)
    result = await db.run_write(
        partial(
            ingest,
            db,
            device,
            event,
            bins=bins,
            zones=zones,
            zone=settings.zone,
            max_evidence_bytes=settings.max_evidence_bytes,
            max_clock_skew_s=settings.max_clock_skew_s,
        )
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return EventAck(
        event_id=result.event_id,
        received_at=result.received_at,
        duplicate=not result.created,
        evidence_missing=result.evidence_missing,
    )


@router.put(
    "/events/{event_id}/evidence/{kind}",
    response_model=EvidenceAck,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": EvidenceAck, "description": "this file was already stored"},
        **errors(401, 403, 404, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_evidence(
    event_id: uuid.UUID,
    kind: EvidenceKind,
    request: Request,
    response: Response,
    device: DeviceDep,
    db: DatabaseDep,
    store: StoreDep,
) -> EvidenceAck:
    """Upload one declared evidence file as the raw request body; its size and SHA-256 must match the event."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        # ``curl -F`` or ``requests.put(files=...)``: the form's boundaries would fail the size check, which
        # would blame the file.
        raise UnsupportedMedia(
            f"{kind.value}: send the file itself as the request body (curl -T FILE, or --data-binary @FILE), "
            "not a multipart form"
        )
    evidence = await run_in_threadpool(find_declared, db, device, str(event_id), kind)
    try:
        upload = await spool_stream(request.stream(), evidence.size)
    except TooLarge:
        raise Invalid(f"{kind.value}: more than the {evidence.size} bytes the event declares") from None
    try:
        created = await run_in_threadpool(store_evidence, db, store, evidence, upload)
    finally:
        upload.close()
    if not created:
        response.status_code = status.HTTP_200_OK
    return EvidenceAck(event_id=event_id, kind=kind, sha256=upload.sha256, size=upload.size, created=created)


@router.post("/heartbeats", response_model=HeartbeatAck, responses=errors(401, 403, 413, 422))
def post_heartbeat(heartbeat: Heartbeat, device: DeviceDep, db: DatabaseDep, settings: SettingsDep) -> HeartbeatAck:
    with db.write() as session:
        received = record_heartbeat(session, device, heartbeat, settings.max_clock_skew_s)
    return HeartbeatAck(device_id=device.id, received_at=received)
