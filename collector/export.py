"""The retraining export: reviewed crops with their verified labels, in the shared data set's format.

A folder (or a zip of it) with ``manifest.csv`` in the columns of waste-v1, the crops under
``images/review/<label>/<event id>.jpg`` and ``events.jsonl`` with each event's metadata, so
``binwatch train`` reads it like any other data set. Only confirmed and corrected events with
an uploaded crop are exported; a rejected flag says what the item is not, not what it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from binwatch.collector.blobs import BlobStore
from binwatch.collector.db.tables import Event, EvidenceFile, ReviewStatus, User
from binwatch.collector.evidence import evidence_key
from binwatch.collector.jpeg import jpeg_size
from binwatch.datasets.manifest import MANIFEST_COLUMNS
from binwatch.events.schema import EvidenceKind

SOURCE = "review"


@dataclass(frozen=True)
class Sample:
    path: str
    data: bytes
    row: dict
    meta: dict


@dataclass(frozen=True)
class ExportSummary:
    exported: int
    skipped: int


def reviewed_samples(
    session: Session,
    store: BlobStore,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    site_id: str | None = None,
) -> Iterator[Sample | None]:
    """Each exportable event as a ``Sample``; None for one whose crop is unreadable (counted as skipped)."""
    query = (
        select(Event, EvidenceFile, User.username)
        .join(EvidenceFile, (EvidenceFile.event_id == Event.id) & (EvidenceFile.kind == EvidenceKind.CROP.value))
        .outerjoin(User, User.id == Event.reviewed_by)
        .where(
            Event.review_status.in_([ReviewStatus.CONFIRMED.value, ReviewStatus.CORRECTED.value]),
            Event.label_category.is_not(None),
            EvidenceFile.uploaded_at.is_not(None),
            EvidenceFile.expired_at.is_(None),  # deleted by retention
        )
        .order_by(Event.started_at, Event.id)
    )
    if since is not None:
        query = query.where(Event.day >= since)
    if until is not None:
        query = query.where(Event.day <= until)
    if site_id is not None:
        query = query.where(Event.site_id == site_id)
    for event, crop, reviewer in session.execute(query):
        data = b"".join(store.read(evidence_key(event.id, EvidenceKind.CROP)))
        size = jpeg_size(data)
        if size is None or len(data) != crop.size:
            yield None
            continue
        path = f"images/{SOURCE}/{event.label_item or event.label_category}/{event.id}.jpg"
        row = {
            "path": path,
            "category": event.label_category,
            "item": event.label_item or "",
            "source": SOURCE,
            "source_class": event.site_id,
            "width": size[0],
            "height": size[1],
            "sha256": crop.sha256,
            "orig_path": f"{event.id}/{crop.kind}/{crop.name}",
            "orig_sha256": crop.sha256,
            "group": f"review-{event.id}",
        }
        meta = {
            "event_id": event.id,
            "path": path,
            "site_id": event.site_id,
            "device_id": event.device_id,
            "bin_id": event.bin_id,
            "bin_category": event.bin_category,
            "started_at": event.started_at.isoformat(),
            "model_version": event.model_version,
            "predicted_item": event.pred_item,
            "predicted_category": event.pred_category,
            "predicted_item_score": event.pred_item_score,
            "review_status": event.review_status,
            "item": event.label_item,
            "category": event.label_category,
            "reviewer": reviewer,
            "reviewed_at": event.reviewed_at.isoformat() if event.reviewed_at else None,
            "note": event.review_note,
        }
        yield Sample(path, data, row, meta)


def _write(samples: Iterator[Sample | None], put) -> ExportSummary:
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    meta_lines, exported, skipped = [], 0, 0
    for sample in samples:
        if sample is None:
            skipped += 1
            continue
        put(sample.path, sample.data)
        writer.writerow(sample.row)
        meta_lines.append(json.dumps(sample.meta, ensure_ascii=False))
        exported += 1
    put("manifest.csv", manifest.getvalue().encode("utf-8"))
    put("events.jsonl", "".join(line + "\n" for line in meta_lines).encode("utf-8"))
    return ExportSummary(exported, skipped)


def export_folder(samples: Iterator[Sample | None], out: Path) -> ExportSummary:
    out.mkdir(parents=True, exist_ok=True)

    def put(path: str, data: bytes) -> None:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    return _write(samples, put)


def export_zip(samples: Iterator[Sample | None], target: io.BufferedIOBase | Path) -> ExportSummary:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        return _write(samples, archive.writestr)
