"""Recording what to publish: one message per change, written in the very transaction of the change.

A change that commits has its message queued with it, and one that rolls back leaves none, so the
platform hears of exactly what the database holds. Ingest records its events itself (it writes with
SQLAlchemy Core); every review and work-order step written through a session is recorded by the
``after_flush`` hook below, whichever route, page or command made it. The targets (``mqtt`` and the
webhooks' names) ride on the database connections (``attach``), so nothing has to hand them along;
a database without targets records nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, event, insert, select
from sqlalchemy.orm import Session

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import (
    OPEN_ORDER_STATES,
    Event,
    EventFlag,
    PlatformDelivery,
    PlatformMessage,
    Review,
    Site,
    User,
    utcnow,
)
from binwatch.collector.db.tables import WorkOrder as WorkOrderRow
from binwatch.collector.db.tables import WorkOrderStep as WorkOrderStepRow
from binwatch.events.platform import (
    EventMessage,
    EventState,
    ReviewMessage,
    ReviewRecord,
    WorkOrderMessage,
    WorkOrderState,
    WorkOrderStep,
)
from binwatch.events.schema import Event as WireEvent

INFO_KEY = "binwatch.platform.targets"


def attach(db: Database, targets: Sequence[str]) -> None:
    """Make every connection of ``db`` record messages for ``targets`` (none: record nothing)."""
    names = tuple(targets)

    def checkout(_dbapi_connection, record, _proxy) -> None:
        record.info[INFO_KEY] = names

    for engine in {db.read_engine, db.write_engine}:
        event.listen(engine, "checkout", checkout)


def targets_of(connection: Connection) -> tuple[str, ...]:
    return connection.info.get(INFO_KEY, ())


def record(connection: Connection, message: EventMessage | ReviewMessage | WorkOrderMessage) -> None:
    """Queue ``message`` for every target, in the caller's transaction."""
    targets = targets_of(connection)
    if not targets:
        return
    now = utcnow()
    pk = connection.execute(
        insert(PlatformMessage)
        .values(
            message_id=str(message.message_id),
            type=message.type,
            site_id=message.site_id,
            payload=message.model_dump_json(),
            created_at=now,
        )
        .returning(PlatformMessage.id)
    ).scalar_one()
    connection.execute(
        insert(PlatformDelivery),
        [
            {"message_pk": pk, "target": t, "state": "pending", "attempts": 0, "next_attempt_at": now, "last_error": ""}
            for t in targets
        ],
    )


def record_event(
    connection: Connection, event_id: str, change: str, known: Callable[[], EventState] | None = None
) -> None:
    """An event was stored (``new``) or resolved (``resolved``); ``known`` gives its state without reading it
    back (ingest has it in hand), and is called only when there is somewhere to publish."""
    if not targets_of(connection):
        return
    state = known() if known is not None else event_state(connection, event_id)
    record(
        connection,
        EventMessage(
            message_id=uuid.uuid4(),
            site_id=state.event.site_id,
            entity_id=_entity_of(connection, state.event.site_id),
            created_at=utcnow(),
            change="resolved" if change == "resolved" else "new",
            event=state,
        ),
    )


def event_state(connection: Connection, event_id: str) -> EventState:
    events = Event.__table__
    row = connection.execute(select(events).where(events.c.id == event_id)).one()
    standing = connection.execute(
        select(EventFlag.flag).where(EventFlag.event_id == event_id, EventFlag.standing.is_(True))
    ).scalars()
    return EventState.model_validate(
        {
            "event": WireEvent.model_validate_json(row.body),
            "received_at": row.received_at,
            "review_status": row.review_status,
            "standing_flags": sorted(standing),
            "compliant": row.compliant,
            "resolved_at": row.resolved_at,
            "resolved_by": row.resolved_by,
        }
    )


def order_state(connection: Connection, order_id: int, now: dt.datetime) -> WorkOrderState:
    orders = WorkOrderRow.__table__
    order = connection.execute(select(orders).where(orders.c.id == order_id)).one()
    return WorkOrderState.model_validate(
        {
            "order_id": order.id,
            "site_id": order.site_id,
            "entity_id": order.entity_id,
            "event_id": order.event_id,
            "reasons": list(order.reasons),
            "state": order.state,
            "note": order.note,
            "due_at": order.due_at,
            "overdue": order.state in OPEN_ORDER_STATES and order.due_at < now,
            "created_at": order.created_at,
            "created_by": _username(connection, order.created_by),
            "acknowledged_at": order.acknowledged_at,
            "closed_at": order.closed_at,
            "close_note": order.close_note,
            "photo_sha256": order.photo_sha256,
        }
    )


def _review_message(connection: Connection, review: Review) -> ReviewMessage:
    state = event_state(connection, review.event_id)
    return ReviewMessage(
        message_id=uuid.uuid4(),
        site_id=state.event.site_id,
        entity_id=_entity_of(connection, state.event.site_id),
        created_at=review.created_at,
        review=ReviewRecord(
            review_id=review.id,
            action=review.action,
            user=_username(connection, review.user_id),
            note=review.note,
            created_at=review.created_at,
            undoes_id=review.undoes_id,
            before=review.before,
            after=review.after,
        ),
        event=state,
    )


def _step_message(connection: Connection, step: WorkOrderStepRow) -> WorkOrderMessage:
    order = order_state(connection, step.order_id, step.created_at)
    return WorkOrderMessage(
        message_id=uuid.uuid4(),
        site_id=order.site_id,
        entity_id=order.entity_id,
        created_at=step.created_at,
        step=WorkOrderStep.model_validate(
            {
                "step_id": step.id,
                "action": step.action,
                "user": _username(connection, step.user_id),
                "note": step.note,
                "at": step.created_at,
            }
        ),
        order=order,
    )


def _entity_of(connection: Connection, site_id: str) -> int:
    return connection.execute(select(Site.entity_id).where(Site.id == site_id)).scalar_one()


def _username(connection: Connection, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return connection.execute(select(User.username).where(User.id == user_id)).scalar_one_or_none()


@event.listens_for(Session, "after_flush")
def _record_flushed(session: Session, _flush_context) -> None:
    """Reviews and work-order steps just written, in the order they were added."""
    new = sorted(
        (o for o in session.new if isinstance(o, Review | WorkOrderStepRow)), key=lambda o: (type(o).__name__, o.id)
    )
    if not new:
        return
    connection = session.connection()
    if not targets_of(connection):
        return
    for obj in new:
        message = _review_message(connection, obj) if isinstance(obj, Review) else _step_message(connection, obj)
        record(connection, message)
