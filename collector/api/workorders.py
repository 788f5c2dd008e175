"""Work orders: supervisors raise them from confirmed violations, responsible entities acknowledge and close them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from binwatch.collector.api.defs.common import EntityIdQuery, IdQuery, RowId, errors
from binwatch.collector.api.defs.workorders import StepBody, WorkOrderDetail, WorkOrderIn, WorkOrderOut, WorkOrderPage
from binwatch.collector.api.deps import (
    DatabaseDep,
    EntityUserDep,
    ReadSession,
    ScopeDep,
    SettingsDep,
    StaffDep,
    StoreDep,
)
from binwatch.collector.api.ranges import blob_response
from binwatch.collector.db.tables import ROW_ID_MAX, to_utc, utcnow
from binwatch.collector.errors import NotFound
from binwatch.collector.workorders import (
    acknowledge,
    cancel,
    close,
    create_order,
    find_orders,
    get_order,
    history,
    photo_key,
    reopen,
    store_photo,
)

router = APIRouter(prefix="/work-orders", tags=["work orders"])
OrderId = RowId


def _photo_url(request: Request):
    return lambda order_id: str(request.url_for("get_photo", order_id=order_id))


def _detail(request: Request, db, order_id: int) -> WorkOrderDetail:
    with db.read() as session:
        order = get_order(session, order_id)
        return WorkOrderDetail.of_order(order, history(session, order_id), utcnow(), _photo_url(request))


@router.get("", response_model=WorkOrderPage, responses=errors(401, 404, 422))
def list_orders(
    request: Request,
    session: ReadSession,
    scope: ScopeDep,
    state: Literal["open", "acknowledged", "closed", "cancelled"] | None = None,
    site_id: IdQuery = None,
    entity_id: EntityIdQuery = None,
    overdue: bool | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WorkOrderPage:
    """Orders newest first; a responsible entity's user sees its own only."""
    now = utcnow()
    orders = find_orders(
        session,
        now=now,
        entity_id=scope.entity(entity_id),
        site_id=site_id,
        state=state,
        overdue=overdue,
        before_id=cursor,
        limit=limit + 1,
    )
    more = len(orders) > limit
    orders = orders[:limit]
    return WorkOrderPage(
        orders=[WorkOrderOut.of(o, now, _photo_url(request)) for o in orders],
        next_cursor=orders[-1].id if more and orders else None,
    )


@router.post(
    "", response_model=WorkOrderDetail, status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 404, 409, 422)
)
def post_order(
    body: WorkOrderIn, request: Request, user: StaffDep, db: DatabaseDep, settings: SettingsDep
) -> WorkOrderDetail:
    """Raise an order from a confirmed violation, to the site's responsible entity (Art. 14)."""
    now = utcnow()
    due = to_utc(body.due_at, "due_at") if body.due_at else now + settings.work_order_due
    with db.write() as session:
        order = create_order(session, str(body.event_id), user, due_at=due, now=now, note=body.note)
        order_id = order.id
    return _detail(request, db, order_id)


@router.get("/{order_id}", response_model=WorkOrderDetail, responses=errors(401, 404, 422))
def get_one(order_id: OrderId, request: Request, session: ReadSession, scope: ScopeDep) -> WorkOrderDetail:
    order = get_order(session, order_id)
    if scope.entity_id not in (None, order.entity_id):
        raise NotFound(f"no work order {order_id}")
    return WorkOrderDetail.of_order(order, history(session, order_id), utcnow(), _photo_url(request))


@router.post("/{order_id}/acknowledge", response_model=WorkOrderDetail, responses=errors(401, 403, 404, 409, 422))
def post_acknowledge(
    order_id: OrderId, body: StepBody, request: Request, user: EntityUserDep, db: DatabaseDep
) -> WorkOrderDetail:
    """The responsible entity takes the order on (处理)."""
    with db.write() as session:
        acknowledge(session, order_id, user, body.note, utcnow())
    return _detail(request, db, order_id)


@router.post("/{order_id}/close", response_model=WorkOrderDetail, responses=errors(401, 403, 404, 409, 413, 415, 422))
async def post_close(
    order_id: OrderId,
    request: Request,
    user: EntityUserDep,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
    note: Annotated[str, Form(max_length=2000, description="what was done")],
    photo: Annotated[UploadFile, File(description="a JPEG that shows it put right")],
) -> WorkOrderDetail:
    """销项: closed with a note and a photo (multipart form)."""

    def work() -> WorkOrderDetail:
        sha256, size = store_photo(db, store, order_id, user, note, photo.file, settings.max_evidence_bytes)
        with db.write() as session:
            close(session, order_id, user, note, sha256, size, utcnow())
        return _detail(request, db, order_id)

    return await run_in_threadpool(work)


@router.post("/{order_id}/reopen", response_model=WorkOrderDetail, responses=errors(401, 403, 404, 409, 422))
def post_reopen(
    order_id: OrderId, body: StepBody, request: Request, user: StaffDep, db: DatabaseDep
) -> WorkOrderDetail:
    """The closing does not convince: the order is open again (a note says why)."""
    with db.write() as session:
        reopen(session, order_id, user, body.note, utcnow())
    return _detail(request, db, order_id)


@router.post("/{order_id}/cancel", response_model=WorkOrderDetail, responses=errors(401, 403, 404, 409, 422))
def post_cancel(
    order_id: OrderId, body: StepBody, request: Request, user: StaffDep, db: DatabaseDep
) -> WorkOrderDetail:
    with db.write() as session:
        cancel(session, order_id, user, body.note, utcnow())
    return _detail(request, db, order_id)


@router.get(
    "/{order_id}/photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the photo"}, **errors(401, 404, 422)},
)
def get_photo(order_id: OrderId, request: Request, session: ReadSession, scope: ScopeDep, store: StoreDep) -> Response:
    """The photo the order was closed with."""
    order = get_order(session, order_id)
    if scope.entity_id not in (None, order.entity_id) or order.photo_sha256 is None:
        raise NotFound(f"work order {order_id} has no photo")
    return blob_response(
        request,
        store,
        photo_key(order_id, order.photo_sha256),
        "image/jpeg",
        f"order-{order_id}.jpg",
        order.photo_sha256,
    )
