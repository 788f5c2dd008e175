"""What admins see of the publication queue: each target's state, the deliveries, and a retry for refused ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import DeliveryState, Lease, PlatformDelivery, PlatformMessage, utcnow
from binwatch.collector.errors import Conflict, NotFound

STATES = tuple(s.value for s in DeliveryState)


@dataclass
class TargetStatus:
    target: str
    configured: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    oldest_pending_at: dt.datetime | None = None
    last_delivered_at: dt.datetime | None = None
    last_error: str = ""


@dataclass
class QueueStatus:
    targets: list[TargetStatus]
    leader: str | None  # the process holding the background lease, while it holds it
    lease_expires_at: dt.datetime | None


def queue_status(session: Session, configured: list[str], now: dt.datetime | None = None) -> QueueStatus:
    now = now or utcnow()
    by_target = {t: TargetStatus(t, True) for t in configured}
    for target, state, n in session.execute(
        select(PlatformDelivery.target, PlatformDelivery.state, func.count()).group_by(
            PlatformDelivery.target, PlatformDelivery.state
        )
    ):
        by_target.setdefault(target, TargetStatus(target, False)).counts[state] = n
    for status in by_target.values():
        of_target = PlatformDelivery.target == status.target
        status.oldest_pending_at = session.scalar(
            select(func.min(PlatformMessage.created_at))
            .join(PlatformDelivery, PlatformDelivery.message_pk == PlatformMessage.id)
            .where(of_target, PlatformDelivery.state == DeliveryState.PENDING.value)
        )
        status.last_delivered_at = session.scalar(select(func.max(PlatformDelivery.delivered_at)).where(of_target))
        status.last_error = (
            session.scalar(
                select(PlatformDelivery.last_error)
                .where(
                    of_target,
                    PlatformDelivery.state != DeliveryState.DELIVERED.value,
                    PlatformDelivery.last_error != "",
                )
                .order_by(PlatformDelivery.last_attempt_at.desc())
                .limit(1)
            )
            or ""
        )
    lease = session.get(Lease, "background")
    held = lease is not None and lease.expires_at > now
    return QueueStatus(
        targets=sorted(by_target.values(), key=lambda t: (t.target != "mqtt", t.target)),
        leader=lease.holder if held and lease else None,
        lease_expires_at=lease.expires_at if held and lease else None,
    )


def find_deliveries(
    session: Session,
    *,
    target: str | None = None,
    state: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[PlatformDelivery]:
    """Newest first."""
    query = select(PlatformDelivery)
    if target is not None:
        query = query.where(PlatformDelivery.target == target)
    if state is not None:
        query = query.where(PlatformDelivery.state == state)
    if before_id is not None:
        query = query.where(PlatformDelivery.id < before_id)
    return list(session.scalars(query.order_by(PlatformDelivery.id.desc()).limit(limit)))


def retry_delivery(session: Session, delivery_id: int, now: dt.datetime | None = None) -> PlatformDelivery:
    """Put a refused or cancelled delivery back in its target's queue, at its place in the order of changes."""
    delivery = session.get(PlatformDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.state not in (DeliveryState.REFUSED.value, DeliveryState.CANCELLED.value):
        raise Conflict(f"delivery {delivery_id} is {delivery.state}; only a refused or cancelled one is retried")
    session.execute(
        update(PlatformDelivery)
        .where(PlatformDelivery.id == delivery_id)
        .values(state=DeliveryState.PENDING.value, next_attempt_at=now or utcnow())
    )
    session.refresh(delivery)
    return delivery
