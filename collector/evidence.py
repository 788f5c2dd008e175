"""Evidence files of events: checked against what the event declared, then kept in the blob store.

The blob is written (and synced) before the database records it as uploaded, and outside
the write transaction, so a large clip never holds up the ingest of other events.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from binwatch.collector.auth import DeviceIdentity
from binwatch.collector.blobs import BlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Event as EventRow
from binwatch.collector.db.tables import EvidenceFile, utcnow
from binwatch.collector.errors import Forbidden, Gone, Invalid, NotFound, UnsupportedMedia
from binwatch.collector.jpeg import is_jpeg
from binwatch.collector.spool import Spooled
from binwatch.events.schema import EVIDENCE_MEDIA_TYPES, EvidenceKind

SUFFIXES = {EvidenceKind.SNAPSHOT: ".jpg", EvidenceKind.CROP: ".jpg", EvidenceKind.CLIP: ".mp4"}


def download_name(event: EventRow, kind: EvidenceKind | str, zone: ZoneInfo) -> str:
    """What an exported file is saved as: site, bin, local start time, event and kind, so that files
    of many events stay apart and sort by time (``site-1_k1_20260105-090102_1f2e3d4c_clip.mp4``)."""
    kind = EvidenceKind(kind)
    local = event.started_at.astimezone(zone).strftime("%Y%m%d-%H%M%S")
    return f"{event.site_id}_{event.bin_id}_{local}_{event.id[:8]}_{kind.value}{SUFFIXES[kind]}"


def evidence_key(event_id: str, kind: EvidenceKind | str) -> str:
    return f"evidence/{event_id[:2]}/{event_id}/{EvidenceKind(kind).value}"


def media_type(kind: EvidenceKind | str) -> str:
    return EVIDENCE_MEDIA_TYPES[EvidenceKind(kind)]


def declared_evidence(session: Session, device: DeviceIdentity, event_id: str, kind: EvidenceKind) -> EvidenceFile:
    event = session.get(EventRow, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}; post the event before its evidence")
    if event.device_id != device.id:
        raise Forbidden(f"event {event_id} belongs to another device")
    evidence = session.get(EvidenceFile, (event_id, kind.value))
    if evidence is None:
        raise NotFound(f"event {event_id} declares no {kind.value} evidence")
    return evidence


def verify_upload(evidence: EvidenceFile, upload: Spooled) -> None:
    if upload.size != evidence.size:
        raise Invalid(f"{evidence.kind}: {upload.size} bytes received, the event declares {evidence.size}")
    if upload.sha256 != evidence.sha256:
        raise Invalid(f"{evidence.kind}: SHA-256 {upload.sha256} does not match the declared {evidence.sha256}")
    if media_type(evidence.kind) == "image/jpeg" and not is_jpeg(upload.head):
        raise UnsupportedMedia(f"{evidence.kind}: not a JPEG file")


def find_declared(db: Database, device: DeviceIdentity, event_id: str, kind: EvidenceKind) -> EvidenceFile:
    """What the event declared for this file, looked up before a byte of the upload is read."""
    with db.read() as session:
        evidence = declared_evidence(session, device, event_id, kind)
        session.expunge(evidence)
        return evidence


def store_evidence(db: Database, store: BlobStore, evidence: EvidenceFile, upload: Spooled) -> bool:
    """Verify and keep one evidence file; True when it is new, False when this file was already here."""
    verify_upload(evidence, upload)
    key = evidence_key(evidence.event_id, evidence.kind)
    if evidence.expired_at is not None:
        return False  # stored once and deleted by retention: a late copy is not kept again
    if evidence.uploaded_at is not None and store.size(key) == upload.size:
        return False
    store.put(key, upload.rewind(), upload.sha256)
    with db.write() as session:
        row = session.get_one(EvidenceFile, (evidence.event_id, evidence.kind))
        created = row.uploaded_at is None
        row.uploaded_at = row.uploaded_at or utcnow()
    return created


def uploaded_evidence(session: Session, event_id: str, kind: EvidenceKind | str) -> EvidenceFile:
    evidence = session.get(EvidenceFile, (event_id, EvidenceKind(kind).value))
    if evidence is None or evidence.uploaded_at is None:
        raise NotFound(f"event {event_id} has no uploaded {EvidenceKind(kind).value}")
    if evidence.expired_at is not None:
        raise Gone(
            f"the {evidence.kind} of event {event_id} was deleted on {evidence.expired_at:%Y-%m-%d}, "
            "at the end of its retention period"
        )
    return evidence
