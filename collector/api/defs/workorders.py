"""Bodies of the work orders (rectification orders to responsible entities)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import Body
from pydantic import BaseModel, Field

from binwatch.collector.api.defs.common import Request
from binwatch.collector.db.tables import WorkOrder, WorkOrderStep
from binwatch.collector.names import Note
from binwatch.collector.workorders import is_overdue
from binwatch.events.schema import Moment

WorkOrderStateName = Literal["open", "acknowledged", "closed", "cancelled"]


class WorkOrderIn(Request):
    event_id: uuid.UUID = Field(
        description="a confirmed violation: a disposal whose flags stand after review, or a "
        "confirmed littering, overflow or mixed-collection event"
    )
    note: Note = Field("", description="what the responsible entity is asked to do")
    due_at: Moment | None = Field(None, description="ISO 8601 with zone; default: now + WORK_ORDER_DUE_H")


class StepIn(Request):
    note: Note = ""


# A step without a note may be posted without a body (a reopening's note is required by the rules, which say so).
StepBody = Annotated[StepIn, Body(default_factory=StepIn)]


class PhotoOut(BaseModel):
    sha256: str
    size: int
    url: str


class WorkOrderStepOut(BaseModel):
    id: int
    action: Literal["create", "acknowledge", "close", "reopen", "cancel"]
    user: str | None = Field(description="null: the collector raised the order itself")
    note: str
    before: dict | None
    after: dict
    created_at: dt.datetime

    @classmethod
    def of(cls, step: WorkOrderStep) -> WorkOrderStepOut:
        return cls.model_validate(
            {
                "id": step.id,
                "action": step.action,
                "user": step.user.username if step.user else None,
                "note": step.note,
                "before": step.before,
                "after": step.after,
                "created_at": step.created_at,
            }
        )


class WorkOrderOut(BaseModel):
    order_id: int
    site_id: str
    site_name: str
    entity_id: int
    event_id: uuid.UUID | None
    reasons: list[str] = Field(description="the standing violations: flags of a disposal, or the event's kind")
    state: WorkOrderStateName
    note: str
    due_at: dt.datetime
    overdue: bool = Field(description="open or acknowledged, and past its due time")
    created_at: dt.datetime
    created_by: str | None = Field(description="null: raised automatically (littering or overflow left unresolved)")
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_note: str
    photo: PhotoOut | None = Field(description="the JPEG the order was closed with")

    @classmethod
    def fields_of(cls, order: WorkOrder, now: dt.datetime, photo_url) -> dict:
        photo = None
        if order.photo_sha256 is not None and order.photo_size is not None:
            photo = PhotoOut(sha256=order.photo_sha256, size=order.photo_size, url=photo_url(order.id))
        return {
            "order_id": order.id,
            "site_id": order.site_id,
            "site_name": order.site.name,
            "entity_id": order.entity_id,
            "event_id": order.event_id,
            "reasons": order.reasons,
            "state": order.state,
            "note": order.note,
            "due_at": order.due_at,
            "overdue": is_overdue(order, now),
            "created_at": order.created_at,
            "created_by": order.creator.username if order.creator else None,
            "acknowledged_at": order.acknowledged_at,
            "closed_at": order.closed_at,
            "close_note": order.close_note,
            "photo": photo,
        }

    @classmethod
    def of(cls, order: WorkOrder, now: dt.datetime, photo_url) -> WorkOrderOut:
        return cls.model_validate(cls.fields_of(order, now, photo_url))


class WorkOrderDetail(WorkOrderOut):
    steps: list[WorkOrderStepOut] = Field(description="the audit log: every step with the state before and after")

    @classmethod
    def of_order(cls, order: WorkOrder, steps: list[WorkOrderStep], now: dt.datetime, photo_url) -> WorkOrderDetail:
        return cls.model_validate(
            {**WorkOrderOut.fields_of(order, now, photo_url), "steps": [WorkOrderStepOut.of(s) for s in steps]}
        )


class WorkOrderPage(BaseModel):
    orders: list[WorkOrderOut]
    next_cursor: int | None = Field(description="pass as `cursor` for the next page; null on the last page")
