"""The work-order pages: supervisors raise, reopen and cancel orders; a responsible entity's users see their
own, acknowledge them and close them with a note and a photo."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from binwatch.collector.api.defs.common import RowId
from binwatch.collector.api.ranges import blob_response
from binwatch.collector.db.tables import Event, Role, User, WorkOrderState, utcnow
from binwatch.collector.errors import CollectorError, NotFound
from binwatch.collector.evidence import evidence_key, media_type, uploaded_evidence
from binwatch.collector.scope import Scope
from binwatch.collector.web.labels import text
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageMember, check_csrf, redirect
from binwatch.collector.workorders import (
    OPEN,
    acknowledge,
    cancel,
    close,
    create_order,
    find_orders,
    get_order,
    history,
    is_overdue,
    photo_key,
    reopen,
    store_photo,
    violations_without_order,
)
from binwatch.events.schema import EvidenceKind

router = APIRouter(prefix="/work-orders", include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
STATES = tuple(s.value for s in WorkOrderState)


def _staff(user: User) -> bool:
    return user.role != Role.ENTITY.value


def _scoped_order(session, order_id: int, user: User):
    order = get_order(session, order_id)
    if Scope.of(user).entity_id not in (None, order.entity_id):
        raise NotFound(f"no work order {order_id}")
    return order


@router.get("")
def orders_page(request: Request, user: PageMember, state: str = "", overdue: bool = False, event: str = ""):
    now = utcnow()
    scope = Scope.of(user)
    event_id = str(uuid.UUID(event)) if _is_uuid(event) else None
    with request.app.state.db.read() as session:
        orders = find_orders(
            session,
            now=now,
            entity_id=scope.entity_id,
            state=state if state in STATES else None,
            event_id=event_id,
            overdue=True if overdue else None,
            limit=200,
        )
        candidates = violations_without_order(session, event_id=event_id) if _staff(user) else []
        return page(
            request,
            "work_orders.html",
            {
                "orders": orders,
                "candidates": candidates,
                "overdue_ids": {o.id for o in orders if is_overdue(o, now)},
                "state": state,
                "overdue": overdue,
                "event": event_id or "",
                "states": STATES,
                "staff": _staff(user),
                "due_h": request.app.state.settings.work_order_due_h,
            },
        )


@router.post("")
def orders_create(
    request: Request, user: PageMember, csrf: Csrf, event_id: Text, note: Text = "", due_h: Text = ""
) -> Response:
    check_csrf(request.state.login, csrf)
    if not _staff(user):
        return redirect("/work-orders", error=text("order.staff_only"))
    settings = request.app.state.settings
    now = utcnow()
    try:
        hours = float(due_h) if due_h.strip() else settings.work_order_due_h
        if not 0 < hours <= 24 * 90:
            raise ValueError
    except ValueError:
        return redirect("/work-orders", error=text("order.bad_due"))
    try:
        with request.app.state.db.write() as session:
            order = create_order(session, event_id, user, due_at=now + dt.timedelta(hours=hours), now=now, note=note)
            order_id = order.id
    except CollectorError as exc:
        return redirect("/work-orders", error=str(exc))
    return redirect(f"/work-orders/{order_id}", ok=text("saved.order_raised", id=order_id))


@router.get("/{order_id}")
def order_page(order_id: RowId, request: Request, user: PageMember):
    now = utcnow()
    with request.app.state.db.read() as session:
        order = _scoped_order(session, order_id, user)
        event = session.get(Event, order.event_id) if order.event_id else None
        evidence = {e.kind for e in event.evidence if e.uploaded_at is not None} if event else set()
        return page(
            request,
            "work_order.html",
            {
                "order": order,
                "event": event,
                "evidence": evidence,
                "steps": history(session, order_id),
                "overdue": is_overdue(order, now),
                "open": order.state in OPEN,
                "staff": _staff(user),
                "own": user.entity_id == order.entity_id,
            },
        )


@router.post("/{order_id}/{action}")
async def order_step(
    order_id: RowId,
    action: str,
    request: Request,
    user: PageMember,
    csrf: Csrf,
    note: Text = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(request.state.login, csrf)
    url = f"/work-orders/{order_id}"
    db, now = request.app.state.db, utcnow()
    steps = {"acknowledge": acknowledge, "reopen": reopen, "cancel": cancel}

    def work() -> None:
        if action == "close":
            if photo is None or not photo.filename:
                raise CollectorError(text("order.photo_needed"))
            limit = request.app.state.settings.max_evidence_bytes
            sha256, size = store_photo(db, request.app.state.store, order_id, user, note, photo.file, limit)
            with db.write() as session:
                close(session, order_id, user, note, sha256, size, now)
        elif action in steps:
            if action != "acknowledge" and not _staff(user):
                raise CollectorError(text("order.staff_only"))
            with db.write() as session:
                steps[action](session, order_id, user, note, now)
        else:
            raise NotFound(f"no action {action}")

    try:
        await run_in_threadpool(work)
    except NotFound:
        raise
    except CollectorError as exc:
        return redirect(url, error=str(exc))
    return redirect(url, ok=text("saved.order_step", step=text(f"step.{action}")))


@router.get("/{order_id}/evidence/{kind}")
def order_evidence(order_id: RowId, kind: EvidenceKind, request: Request, user: PageMember) -> Response:
    """The evidence of the order's event, for the entity's users too (who cannot open the review pages)."""
    with request.app.state.db.read() as session:
        order = _scoped_order(session, order_id, user)
        if order.event_id is None:
            raise NotFound("this work order has no event")
        evidence = uploaded_evidence(session, order.event_id, kind)
    key = evidence_key(order.event_id, kind)
    return blob_response(request, request.app.state.store, key, media_type(kind), evidence.name, evidence.sha256)


@router.get("/{order_id}/photo")
def order_photo(order_id: RowId, request: Request, user: PageMember) -> Response:
    with request.app.state.db.read() as session:
        order = _scoped_order(session, order_id, user)
    if order.photo_sha256 is None:
        raise NotFound(f"work order {order_id} has no photo")
    key = photo_key(order_id, order.photo_sha256)
    return blob_response(
        request, request.app.state.store, key, "image/jpeg", f"order-{order_id}.jpg", order.photo_sha256
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
