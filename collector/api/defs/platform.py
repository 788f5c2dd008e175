"""Bodies of the publication queue to the city platform (admins)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from binwatch.collector.db.tables import PlatformDelivery
from binwatch.collector.platform.deliveries import QueueStatus

DeliveryStateName = Literal["pending", "delivered", "refused", "cancelled"]


class DeliveryOut(BaseModel):
    id: int
    target: str = Field(description="`mqtt` or a webhook's name")
    message_id: uuid.UUID = Field(description="the id receivers dedupe on")
    type: Literal["event", "review", "work_order"]
    site_id: str
    created_at: dt.datetime = Field(description="when the change was made")
    state: DeliveryStateName
    attempts: int
    next_attempt_at: dt.datetime
    last_attempt_at: dt.datetime | None
    last_status: int | None = Field(description="a webhook's last HTTP status")
    last_error: str
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, d: PlatformDelivery) -> DeliveryOut:
        return cls.model_validate(
            {
                "id": d.id,
                "target": d.target,
                "message_id": d.message.message_id,
                "type": d.message.type,
                "site_id": d.message.site_id,
                "created_at": d.message.created_at,
                "state": d.state,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "last_attempt_at": d.last_attempt_at,
                "last_status": d.last_status,
                "last_error": d.last_error,
                "delivered_at": d.delivered_at,
            }
        )


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: int | None


class TargetOut(BaseModel):
    target: str
    configured: bool = Field(description="false: no longer in the settings; its pending deliveries are cancelled")
    counts: dict[str, int] = Field(description="deliveries by state")
    oldest_pending_at: dt.datetime | None = Field(description="the oldest change still waiting for this target")
    last_delivered_at: dt.datetime | None
    last_error: str


class PlatformStatusOut(BaseModel):
    targets: list[TargetOut]
    leader: str | None = Field(description="the collector process that publishes now (host:pid:…)")
    lease_expires_at: dt.datetime | None

    @classmethod
    def of(cls, status: QueueStatus) -> PlatformStatusOut:
        return cls(
            targets=[TargetOut.model_validate(t, from_attributes=True) for t in status.targets],
            leader=status.leader,
            lease_expires_at=status.lease_expires_at,
        )
