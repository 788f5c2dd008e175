"""What the collector publishes to a city's management platform (Art. 25): one message per change.

Every stored event, every review and every step of a work order becomes one ``PlatformMessage``,
sent as the same JSON to the MQTT topic ``<prefix>/<site_id>/<type>s`` (``binwatch/site-1/events``,
``…/reviews``, ``…/work_orders``) and to each configured webhook. ``message_id`` is unique per
change and identical on every retry, so a receiver that keeps the ids it has seen gets each change
exactly once. ``platform-message.schema.json`` beside this file is generated from these models
(``python -m binwatch.events.platform``) and a test fails when the two differ.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from binwatch.events.schema import Event, Flag, Identifier

PLATFORM_FORMAT: Final = "binwatch-platform/1"
SCHEMA_FILE: Final = Path(__file__).with_name("platform-message.schema.json")
ONLINE, OFFLINE = "online", "offline"  # the retained payloads of the availability topic

ReviewStatusName = Literal["unreviewed", "confirmed", "rejected", "corrected"]
WorkOrderStateName = Literal["open", "acknowledged", "closed", "cancelled"]
WorkOrderAction = Literal["create", "acknowledge", "close", "reopen", "cancel"]
MessageType = Literal["event", "review", "work_order"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventState(_Payload):
    """An event as the box sent it, and what the collector has made of it since."""

    event: Event = Field(description="the event exactly as the edge box sent it (events/schema.py)")
    received_at: AwareDatetime
    review_status: ReviewStatusName
    standing_flags: list[Flag] = Field(description="the violations of a disposal that stand after review")
    compliant: bool = Field(
        description="a disposal: no flag stands; littering, overflow, mixed collection: false unless rejected"
    )
    resolved_at: AwareDatetime | None = Field(
        description="littering: when the ground was seen clear again; overflow: when the bin was emptied"
    )
    resolved_by: uuid.UUID | None = Field(description="the litter_cleared or emptying event that resolved it")


class ReviewRecord(_Payload):
    """One entry of an event's audit log."""

    review_id: int
    action: Literal["confirm", "reject", "correct", "undo"]
    user: str | None
    note: str
    created_at: AwareDatetime
    undoes_id: int | None = Field(description="for an undo: the review it takes back")
    before: dict[str, Any]
    after: dict[str, Any]


class WorkOrderState(_Payload):
    """A rectification order (整改工单) to the drop-off point's responsible entity (Art. 14)."""

    order_id: int
    site_id: Identifier
    entity_id: int
    event_id: uuid.UUID | None = Field(description="the event the order was raised for")
    reasons: list[str] = Field(description="the violations (flags or event kinds) it asks to put right")
    state: WorkOrderStateName
    note: str = Field(description="what the supervisor asks for")
    due_at: AwareDatetime
    overdue: bool = Field(description="not closed or cancelled, and past its due time when the message was made")
    created_at: AwareDatetime
    created_by: str | None = Field(description="the supervisor; null when raised automatically")
    acknowledged_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    close_note: str
    photo_sha256: str | None = Field(description="SHA-256 of the JPEG that proves the rectification")


class WorkOrderStep(_Payload):
    step_id: int
    action: WorkOrderAction
    user: str | None = Field(description="who took the step; null for the collector itself")
    note: str
    at: AwareDatetime


class _Message(_Payload):
    format: Literal["binwatch-platform/1"] = PLATFORM_FORMAT
    message_id: uuid.UUID = Field(description="unique per change, the same on every retry: dedupe on it")
    site_id: Identifier
    entity_id: int = Field(description="the site's responsible entity (Art. 14)")
    created_at: AwareDatetime = Field(description="when the change was made at the collector")


class EventMessage(_Message):
    """An event was stored (``new``), or a littering or overflow event was resolved (``resolved``)."""

    type: Literal["event"] = "event"
    change: Literal["new", "resolved"]
    event: EventState


class ReviewMessage(_Message):
    """A supervisor reviewed an event or undid a review; ``event`` is its state afterwards."""

    type: Literal["review"] = "review"
    review: ReviewRecord
    event: EventState


class WorkOrderMessage(_Message):
    """A work order was created or took a step; ``order`` is its state afterwards."""

    type: Literal["work_order"] = "work_order"
    step: WorkOrderStep
    order: WorkOrderState


PlatformMessage = Annotated[EventMessage | ReviewMessage | WorkOrderMessage, Field(discriminator="type")]
PLATFORM_MESSAGE: Final[TypeAdapter[EventMessage | ReviewMessage | WorkOrderMessage]] = TypeAdapter(PlatformMessage)


def topic(prefix: str, site_id: str, message_type: MessageType | str) -> str:
    """The MQTT topic of a message, in Frigate's manner: ``binwatch/site-1/events``."""
    return f"{prefix}/{site_id}/{message_type}s"


def availability_topic(prefix: str) -> str:
    """Retained ``online`` while the collector is connected; the broker sets ``offline`` when it is not."""
    return f"{prefix}/available"


def json_schema() -> dict[str, Any]:
    schema = PLATFORM_MESSAGE.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://binwatch.invalid/schemas/platform-message.schema.json",
        "title": "binwatch platform message",
        "description": (__doc__ or "").split("\n\n")[0],
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
