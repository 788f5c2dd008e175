"""Evidence retention: the files of events that no longer need them are deleted; the events stay.

| the event | its evidence files are deleted |
|---|---|
| not flagged, not reviewed | `EVIDENCE_RETENTION_DAYS` after they arrived |
| flagged (a violation or a review flag), not reviewed | never: kept until it is reviewed |
| reviewed and compliant (rejected, or corrected to no violation) | `EVIDENCE_RETENTION_DAYS` after the review |
| reviewed and a violation stands (confirmed, or corrected to one) | `VIOLATION_RETENTION_DAYS` after the review |
| any of the above with a work order still open or acknowledged | never while the order is: it is the order's evidence |

No file goes before `EVIDENCE_RETENTION_DAYS` after it arrived. Only files go: the event, its
flags, its reviews and the evidence row (name, size, SHA-256, now with ``expired_at``) stay,
so statistics and the ledger never lose a row, and the event page says the evidence expired.

A sweep works in batches of the oldest due files. Each batch locks its rows (on PostgreSQL
``FOR UPDATE SKIP LOCKED``, so sweepers on several workers share the work instead of
queueing), deletes the files, marks the rows and commits. A review that arrives meanwhile
waits for the batch, then finds the files expired. If the process dies in a batch, the rows
stay unmarked and the next sweep deletes them again (deleting an absent blob is no error).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Select, and_, exists, func, or_, select

from binwatch.collector.blobs import BlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import OPEN_ORDER_STATES, Event, EvidenceFile, ReviewStatus, WorkOrder, utcnow
from binwatch.collector.evidence import evidence_key
from binwatch.collector.settings import Settings

BATCH = 200
log = logging.getLogger("collector")


@dataclass(frozen=True)
class Swept:
    files: int
    bytes: int


def due(settings: Settings, now: dt.datetime) -> Select[EvidenceFile]:
    """The stored evidence files whose retention has ended at ``now``, oldest first."""
    compliant_until = now - dt.timedelta(days=settings.evidence_retention_days)
    violation_until = now - dt.timedelta(days=settings.violation_retention_days)
    reviewed = Event.review_status != ReviewStatus.UNREVIEWED.value
    return (
        select(EvidenceFile)
        .join(Event, Event.id == EvidenceFile.event_id)
        .where(
            # the terms of the partial index ix_evidence_live, so that only live files are scanned
            EvidenceFile.uploaded_at.is_not(None),
            EvidenceFile.expired_at.is_(None),
            EvidenceFile.uploaded_at < compliant_until,
            or_(
                and_(~reviewed, Event.flagged.is_(False)),
                and_(reviewed, Event.compliant.is_(True), Event.reviewed_at < compliant_until),
                and_(reviewed, Event.compliant.is_(False), Event.reviewed_at < violation_until),
            ),
            ~exists().where(WorkOrder.event_id == Event.id, WorkOrder.state.in_(OPEN_ORDER_STATES)),
        )
        .order_by(EvidenceFile.uploaded_at)
    )


def count_due(db: Database, settings: Settings, now: dt.datetime | None = None) -> Swept:
    """What a sweep at ``now`` would delete."""
    files = due(settings, now or utcnow()).subquery()
    with db.read() as session:
        count, size = session.execute(select(func.count(), func.coalesce(func.sum(files.c.size), 0))).one()
    return Swept(count, size)


def sweep(db: Database, store: BlobStore, settings: Settings, now: dt.datetime | None = None) -> Swept:
    """Delete every evidence file due at ``now`` and mark its row expired."""
    now = now or utcnow()
    files = size = 0
    while True:
        with db.write() as session:
            batch = session.scalars(due(settings, now).limit(BATCH).with_for_update(skip_locked=True)).all()
            for evidence in batch:
                store.delete(evidence_key(evidence.event_id, evidence.kind))
                evidence.expired_at = now
                size += evidence.size
            files += len(batch)
        if len(batch) < BATCH:
            return Swept(files, size)


async def sweep_every(interval_s: float, db: Database, store: BlobStore, settings: Settings) -> None:
    """Sweep every ``interval_s`` (± 10 %, so that workers started together drift apart) until cancelled."""
    while True:
        await asyncio.sleep(interval_s * random.uniform(0.9, 1.1))
        try:
            swept = await run_in_threadpool(sweep, db, store, settings)
        except Exception:
            log.exception("the evidence retention sweep failed; the next one tries again")
        else:
            if swept.files:
                log.info("retention: deleted %d evidence files (%d bytes)", swept.files, swept.bytes)
