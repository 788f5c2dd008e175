"""Bodies of ingest, event queries and reviews."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import Body
from pydantic import BaseModel, Field

from binwatch.collector.api.defs.common import Request
from binwatch.collector.db.tables import Event, EvidenceFile, Review, ReviewActionName
from binwatch.collector.names import Note
from binwatch.collector.search import QueueCounts
from binwatch.events.schema import CategoryKey, EventKind, EvidenceKind, Flag

MAX_BATCH = 200  # events in one review request: a queue page holds at most 100


class EventAck(BaseModel):
    event_id: uuid.UUID
    received_at: dt.datetime
    duplicate: bool = Field(description="true when this event had already been received (nothing was changed)")
    evidence_missing: list[EvidenceKind] = Field(description="declared evidence not uploaded yet")


class EvidenceAck(BaseModel):
    event_id: uuid.UUID
    kind: EvidenceKind
    sha256: str
    size: int
    created: bool = Field(description="false when this file had already been stored")


class HeartbeatAck(BaseModel):
    device_id: str
    received_at: dt.datetime


class PredictionOut(BaseModel):
    item: str
    item_score: float
    category: str
    category_score: float

    @classmethod
    def of(cls, event: Event) -> PredictionOut | None:
        """None for an event without a prediction: ingest writes the four columns all or none."""
        item, item_score = event.pred_item, event.pred_item_score
        category, category_score = event.pred_category, event.pred_category_score
        if item is None or item_score is None or category is None or category_score is None:
            return None
        return cls(item=item, item_score=item_score, category=category, category_score=category_score)


class EvidenceOut(BaseModel):
    kind: EvidenceKind
    name: str
    sha256: str
    size: int
    uploaded: bool
    expired_at: dt.datetime | None = Field(
        description="when retention deleted the file (the event stays); null while it is kept"
    )
    url: str | None = Field(description="download address (bearer login token), once uploaded and until expired")

    @classmethod
    def of(cls, evidence: EvidenceFile, evidence_url) -> EvidenceOut:
        return cls(
            kind=EvidenceKind(evidence.kind),
            name=evidence.name,
            sha256=evidence.sha256,
            size=evidence.size,
            uploaded=evidence.uploaded_at is not None,
            expired_at=evidence.expired_at,
            url=evidence_url(evidence.kind) if evidence.available else None,
        )


class EventSummary(BaseModel):
    event_id: uuid.UUID
    kind: EventKind
    device_id: str
    site_id: str
    bin_id: str | None = Field(description="null for littering, litter_cleared and mixed_collection")
    bin_category: CategoryKey | None
    zone_id: str | None = Field(description="ground zone (littering, litter_cleared) or collection zone")
    fill_level: float | None = Field(description="overflow: share of the bin in use; emptying: before emptying")
    quantity_l: float | None = Field(description="emptying: fill level × the bin's capacity in litres, when known")
    destination: str | None = Field(description="emptying: who took the contents away, as the bin records it")
    categories: list[CategoryKey] | None = Field(description="mixed_collection: the categories emptied together")
    resolves: uuid.UUID | None = Field(description="litter_cleared: the littering event it ends")
    resolved_at: dt.datetime | None = Field(
        description="littering: when the ground was seen clear again; overflow: when the bin was emptied"
    )
    resolved_by: uuid.UUID | None = Field(description="the litter_cleared or emptying event that resolved it")
    started_at: dt.datetime
    ended_at: dt.datetime
    received_at: dt.datetime
    model_version: str
    prediction: PredictionOut | None
    flags: list[Flag] = Field(description="flags the edge box reported")
    standing_flags: list[Flag] = Field(description="flags that stand after review")
    compliant: bool
    review_status: Literal["unreviewed", "confirmed", "rejected", "corrected"]
    label_item: str | None
    label_category: CategoryKey | None

    @classmethod
    def fields_of(cls, event: Event) -> dict:
        return {
            "event_id": event.id,
            "kind": event.kind,
            "device_id": event.device_id,
            "site_id": event.site_id,
            "bin_id": event.bin_id,
            "bin_category": event.bin_category,
            "zone_id": event.zone_id,
            "fill_level": event.fill_level,
            "quantity_l": event.quantity_l,
            "destination": event.destination,
            "categories": event.categories,
            "resolves": event.resolves,
            "resolved_at": event.resolved_at,
            "resolved_by": event.resolved_by,
            "started_at": event.started_at,
            "ended_at": event.ended_at,
            "received_at": event.received_at,
            "model_version": event.model_version,
            "prediction": PredictionOut.of(event),
            "flags": [f.flag for f in event.flags if f.reported],
            "standing_flags": [f.flag for f in event.flags if f.standing],
            "compliant": event.compliant,
            "review_status": event.review_status,
            "label_item": event.label_item,
            "label_category": event.label_category,
        }

    @classmethod
    def of(cls, event: Event) -> EventSummary:
        return cls(**cls.fields_of(event))


class ReviewOut(BaseModel):
    id: int
    event_id: uuid.UUID
    action: ReviewActionName
    user: str | None
    note: str
    before: dict
    after: dict
    created_at: dt.datetime
    undoes_id: int | None
    undone: bool

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls(
            id=review.id,
            event_id=uuid.UUID(review.event_id),
            action=review.action,
            user=review.user.username if review.user else None,
            note=review.note,
            before=review.before,
            after=review.after,
            created_at=review.created_at,
            undoes_id=review.undoes_id,
            undone=review.undone,
        )


class EventDetail(EventSummary):
    review_note: str
    reviewed_at: dt.datetime | None
    reviewed_by: int | None
    evidence: list[EvidenceOut]
    history: list[ReviewOut]

    @classmethod
    def of_event(cls, event: Event, history: list[Review], evidence_url) -> EventDetail:
        """``evidence_url(kind)`` gives the download address of an uploaded file."""
        return cls(
            **EventSummary.fields_of(event),
            review_note=event.review_note,
            reviewed_at=event.reviewed_at,
            reviewed_by=event.reviewed_by,
            evidence=[EvidenceOut.of(e, evidence_url) for e in event.evidence],
            history=[ReviewOut.of(r) for r in history],
        )


class EventPage(BaseModel):
    events: list[EventSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class ReviewRequest(Request):
    action: Literal["confirm", "reject", "correct"]
    item: str | None = Field(None, max_length=64, description="corrected item (taxonomy key); sets the category")
    category: CategoryKey | None = Field(None, description="corrected category, when the item is unknown")
    note: Note = ""


class UndoRequest(Request):
    note: Note = ""


# The note is optional, and so is the body that holds it: ``curl -X POST …/undo`` was "body: Field required".
UndoBody = Annotated[UndoRequest, Body(default_factory=UndoRequest)]


class ReviewManyRequest(Request):
    event_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH, description="each named once")
    action: Literal["confirm", "reject", "correct", "undo"] = Field(
        description="the same verdict for every event, or undo: the newest review of each"
    )
    item: str | None = Field(None, max_length=64, description="corrected item (taxonomy key); sets the category")
    category: CategoryKey | None = Field(None, description="corrected category, when the item is unknown")
    note: Note = ""


class QueueCountsOut(BaseModel):
    total: int = Field(description="unreviewed flagged events under all the filters")
    by_severity: dict[Literal["violation", "review"], int] = Field(description="under every filter but severity")
    by_flag: dict[Flag, int] = Field(description="per reported flag, under every filter but flag")
    by_day: dict[dt.date, int] = Field(description="per local day, newest first, under every filter but day")

    @classmethod
    def of(cls, counts: QueueCounts) -> QueueCountsOut:
        return cls(
            total=counts.total,
            by_severity=counts.by_severity,
            by_flag={Flag(flag): n for flag, n in counts.by_flag.items()},
            by_day=counts.by_day,
        )
