"""Rectification orders (整改工单), found — warned — handled — closed (发现—预警—处理—销项).

A supervisor raises an order from a confirmed violation: a disposal whose flags stand after review,
or a littering, overflow or mixed-collection event confirmed by review. Littering not cleared and
overflow not emptied ``after_min`` minutes after they were seen become orders by themselves
(``raise_automatic``), unless rejected as false positives. The order goes to the site's responsible
entity (Art. 14) with a due time; the entity's users acknowledge it and close it with a note and a
photo; a supervisor may reopen a closed order whose proof does not convince, or cancel an open one
(rejecting its event as a false positive cancels it too). Every step is a ``WorkOrderStep`` with the
order's state before and after: the audit log, the ledger's ``work_order`` rows, and (through the
session hook of ``platform.messages``) a message to the city platform.
"""

from __future__ import annotations

import datetime as dt
from typing import IO

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from binwatch.collector.blobs import BlobStore
from binwatch.collector.compliance import VIOLATION_KINDS
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import (
    OPEN_ORDER_STATES as OPEN,
)
from binwatch.collector.db.tables import (
    Event,
    ReviewStatus,
    Site,
    User,
    WorkOrder,
    WorkOrderState,
    WorkOrderStep,
)
from binwatch.collector.errors import Conflict, Forbidden, Invalid, NotFound, UnsupportedMedia
from binwatch.collector.jpeg import decodes, is_jpeg, jpeg_size
from binwatch.collector.names import Note, checked
from binwatch.collector.spool import measure_file
from binwatch.events.schema import EventKind

PHOTO_HEAD = 256 * 1024  # enough of a JPEG to find its size
PHOTO_MAX_PIXELS = 100_000_000  # above the largest phone camera's full-size photo (8K × 12K is 96 MP)
REVIEWED = (ReviewStatus.CONFIRMED.value, ReviewStatus.CORRECTED.value)
AUTOMATIC = {
    EventKind.LITTERING.value: "littering not cleared within {minutes} minutes",
    EventKind.OVERFLOW.value: "bin overflowing, not emptied within {minutes} minutes",
}


def store_photo(
    db: Database, store: BlobStore, order_id: int, user: User, note: str, source: IO[bytes], limit: int
) -> tuple[str, int]:
    """Check that ``user`` may close the order with ``note`` and that ``source`` is a JPEG, then keep it;
    (SHA-256, size).

    The photo is stored, synced, before the closing commits, so a closed order always has its photo.
    """
    _require_entity(user)
    closing_note(note)
    upload = measure_file(source, limit)
    size = jpeg_size(upload.rewind().read(PHOTO_HEAD)) if is_jpeg(upload.head) else None
    if size is None or size[0] * size[1] > PHOTO_MAX_PIXELS or not decodes(upload.rewind().read()):
        raise UnsupportedMedia(f"the photo must be a JPEG image of at most {PHOTO_MAX_PIXELS // 10**6} megapixels")
    with db.read() as session:
        order = _in_scope(get_order(session, order_id), user)
        if order.state not in OPEN:
            raise Conflict(f"work order {order_id} is {order.state}; it cannot be closed")
    store.put(photo_key(order_id, upload.sha256), upload.rewind(), upload.sha256)
    return upload.sha256, upload.size


def photo_key(order_id: int, sha256: str) -> str:
    """One blob per photo: a reopened and closed-again order keeps every photo it was closed with."""
    return f"work-orders/{order_id}/photo-{sha256}"


def reasons_of(event: Event) -> list[str]:
    """The violations of ``event`` that stand: its standing flags, or its kind for littering and the like."""
    if event.kind == EventKind.DISPOSAL.value:
        return sorted(f.flag for f in event.flags if f.standing)
    return [event.kind] if event.kind in VIOLATION_KINDS and not event.compliant else []


def state_of(order: WorkOrder) -> dict:
    """The order's state as its audit log records it."""
    return {
        "state": order.state,
        "due_at": order.due_at.isoformat(),
        "acknowledged_at": order.acknowledged_at.isoformat() if order.acknowledged_at else None,
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "close_note": order.close_note,
        "photo_sha256": order.photo_sha256,
    }


def create_order(
    session: Session,
    event_id: str,
    user: User | None,
    *,
    due_at: dt.datetime,
    now: dt.datetime,
    note: str = "",
) -> WorkOrder:
    """An order for ``event_id``; ``user`` None: raised by the collector itself (no review needed)."""
    note = checked(Note, note, "note")
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    reasons = reasons_of(event)
    if not reasons:
        raise Conflict(f"event {event_id} stands as no violation; there is nothing to rectify")
    if user is not None and event.review_status not in REVIEWED:
        raise Conflict(f"event {event_id} is {event.review_status}; confirm the violation before raising an order")
    if due_at <= now:
        raise Invalid("the due time must lie in the future")
    existing = session.scalar(
        select(WorkOrder.id).where(WorkOrder.event_id == event_id, WorkOrder.state != WorkOrderState.CANCELLED.value)
    )
    if existing is not None:
        raise Conflict(f"event {event_id} already has the work order {existing}")
    site = session.get(Site, event.site_id)
    assert site is not None  # an event's site cannot be deleted
    order = WorkOrder(
        site_id=event.site_id,
        entity_id=site.entity_id,
        event_id=event.id,
        reasons=reasons,
        state=WorkOrderState.OPEN.value,
        note=note,
        due_at=due_at,
        created_at=now,
        created_by=user.id if user else None,
        close_note="",
        updated_at=now,
    )
    session.add(order)
    session.flush()
    _step(session, order, "create", user, note, None, now)
    return order


def acknowledge(session: Session, order_id: int, user: User, note: str, now: dt.datetime) -> WorkOrder:
    _require_entity(user)
    order = _locked(session, order_id, user)
    if order.state != WorkOrderState.OPEN.value:
        raise Conflict(f"work order {order_id} is {order.state}; only an open order can be acknowledged")
    return _change(session, order, "acknowledge", user, note, now, state="acknowledged", acknowledged_at=now)


def close(
    session: Session, order_id: int, user: User, note: str, photo_sha256: str, photo_size: int, now: dt.datetime
) -> WorkOrder:
    """销项: the entity says the violation is put right, and shows it with a photo."""
    _require_entity(user)
    order = _locked(session, order_id, user)
    if order.state not in OPEN:
        raise Conflict(f"work order {order_id} is {order.state}; it cannot be closed")
    note = closing_note(note)
    return _change(
        session,
        order,
        "close",
        user,
        note,
        now,
        state="closed",
        closed_at=now,
        close_note=note,
        photo_sha256=photo_sha256,
        photo_size=photo_size,
    )


def closing_note(note: str) -> str:
    """The note a closing needs, checked before its photo is stored."""
    note = checked(Note, note, "note")
    if not note.strip():
        raise Invalid("closing a work order needs a note saying what was done")
    return note


def reopen(session: Session, order_id: int, user: User, note: str, now: dt.datetime) -> WorkOrder:
    """A supervisor is not convinced by the closing: the order is open again (its photos stay in the log)."""
    order = _locked(session, order_id, user)
    if order.state != WorkOrderState.CLOSED.value:
        raise Conflict(f"work order {order_id} is {order.state}; only a closed order can be reopened")
    if not checked(Note, note, "note").strip():
        raise Invalid("reopening a work order needs a note saying what is still wrong")
    return _change(session, order, "reopen", user, note, now, state="open", closed_at=None)


def cancel(session: Session, order_id: int, user: User | None, note: str, now: dt.datetime) -> WorkOrder:
    order = _locked(session, order_id, user)
    if order.state not in OPEN:
        raise Conflict(f"work order {order_id} is {order.state}; it cannot be cancelled")
    return _change(session, order, "cancel", user, note, now, state="cancelled")


def cancel_orders_of(session: Session, event: Event, user: User, now: dt.datetime) -> None:
    """A review left ``event`` standing as no violation (rejected as a false positive, corrected to an item of its
    bin, or a review undone back to such a state): its open orders have nothing left to rectify."""
    if reasons_of(event):
        return
    rejected = event.review_status == ReviewStatus.REJECTED.value
    why = "event rejected as a false positive" if rejected else "event no longer a violation"
    for order_id in session.scalars(
        select(WorkOrder.id).where(WorkOrder.event_id == event.id, WorkOrder.state.in_(OPEN))
    ):
        cancel(session, order_id, user, why, now)


def raise_automatic(session: Session, now: dt.datetime, after_min: float, due_h: float) -> list[WorkOrder]:
    """Orders for the littering and overflow events unresolved for ``after_min`` minutes that have none."""
    stale = session.scalars(
        select(Event)
        .where(
            Event.kind.in_(list(AUTOMATIC)),
            Event.resolved_at.is_(None),
            Event.review_status != ReviewStatus.REJECTED.value,
            Event.started_at <= now - dt.timedelta(minutes=after_min),
            ~exists().where(WorkOrder.event_id == Event.id),
        )
        .order_by(Event.started_at)
        .limit(100)
    ).all()
    note = {kind: text.format(minutes=f"{after_min:g}") for kind, text in AUTOMATIC.items()}
    return [
        create_order(session, e.id, None, due_at=now + dt.timedelta(hours=due_h), now=now, note=note[e.kind])
        for e in stale
    ]


def find_orders(
    session: Session,
    *,
    now: dt.datetime,
    entity_id: int | None = None,
    site_id: str | None = None,
    state: str | None = None,
    event_id: str | None = None,
    overdue: bool | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[WorkOrder]:
    """Orders newest first (by id, so ``before_id`` pages through them without repeating or skipping)."""
    query = select(WorkOrder)
    for column, value in (
        (WorkOrder.entity_id, entity_id),
        (WorkOrder.site_id, site_id),
        (WorkOrder.state, state),
        (WorkOrder.event_id, event_id),
    ):
        if value is not None:
            query = query.where(column == value)
    late = WorkOrder.state.in_(OPEN) & (WorkOrder.due_at < now)
    if overdue is not None:
        query = query.where(late if overdue else ~late)
    if before_id is not None:
        query = query.where(WorkOrder.id < before_id)
    return list(session.scalars(query.order_by(WorkOrder.id.desc()).limit(limit)))


def violations_without_order(
    session: Session, *, entity_id: int | None = None, event_id: str | None = None, limit: int = 50
) -> list[Event]:
    """Confirmed violations that no open or closed order covers yet, newest first: what a supervisor may raise."""
    confirmed_disposal = (
        (Event.kind == EventKind.DISPOSAL.value) & Event.review_status.in_(REVIEWED) & Event.compliant.is_(False)
    )
    confirmed_kind = Event.kind.in_(list(VIOLATION_KINDS)) & (Event.review_status == ReviewStatus.CONFIRMED.value)
    covered = exists().where(WorkOrder.event_id == Event.id, WorkOrder.state != WorkOrderState.CANCELLED.value)
    query = select(Event).where(confirmed_disposal | confirmed_kind, ~covered)
    if entity_id is not None:
        query = query.join(Site, Site.id == Event.site_id).where(Site.entity_id == entity_id)
    if event_id is not None:
        query = query.where(Event.id == event_id)
    return list(session.scalars(query.order_by(Event.started_at.desc()).limit(limit)))


def is_overdue(order: WorkOrder, now: dt.datetime) -> bool:
    return order.state in OPEN and order.due_at < now


def get_order(session: Session, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id)
    if order is None:
        raise NotFound(f"no work order {order_id}")
    return order


def history(session: Session, order_id: int) -> list[WorkOrderStep]:
    return list(
        session.scalars(select(WorkOrderStep).where(WorkOrderStep.order_id == order_id).order_by(WorkOrderStep.id))
    )


def _require_entity(user: User) -> None:
    if user.entity_id is None:
        raise Forbidden("only the responsible entity's users acknowledge and close its work orders")


def _locked(session: Session, order_id: int, user: User | None) -> WorkOrder:
    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"no work order {order_id}")
    return _in_scope(order, user)


def _in_scope(order: WorkOrder, user: User | None) -> WorkOrder:
    """An entity's user sees its own orders only; another's is answered as if it did not exist."""
    if user is not None and user.entity_id is not None and user.entity_id != order.entity_id:
        raise NotFound(f"no work order {order.id}")
    return order


def _change(
    session: Session, order: WorkOrder, action: str, user: User | None, note: str, now: dt.datetime, **values
) -> WorkOrder:
    note = checked(Note, note, "note")
    before = state_of(order)
    for name, value in values.items():
        setattr(order, name, value)
    order.updated_at = now
    session.flush()
    _step(session, order, action, user, note, before, now)
    return order


def _step(
    session: Session, order: WorkOrder, action: str, user: User | None, note: str, before: dict | None, now: dt.datetime
) -> None:
    session.add(
        WorkOrderStep(
            order_id=order.id,
            action=action,
            user_id=user.id if user else None,
            note=note,
            before=before,
            after=state_of(order),
            created_at=now,
        )
    )
    session.flush()
