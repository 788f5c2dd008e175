"""The publication queue to the city platform (Art. 25): its state per target, the deliveries, retries (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from binwatch.collector.api.defs.common import DELIVERY_ID_MAX, DeliveryId, errors
from binwatch.collector.api.defs.platform import DeliveryOut, DeliveryPage, DeliveryStateName, PlatformStatusOut
from binwatch.collector.api.deps import AdminDep, DatabaseDep, ReadSession, SettingsDep
from binwatch.collector.platform.deliveries import find_deliveries, queue_status, retry_delivery

router = APIRouter(prefix="/platform", tags=["platform"])


@router.get("/status", response_model=PlatformStatusOut, responses=errors(401, 403))
def get_status(session: ReadSession, admin: AdminDep, settings: SettingsDep) -> PlatformStatusOut:
    """Per target (`mqtt`, each webhook): deliveries by state, the oldest waiting, the last error."""
    return PlatformStatusOut.of(queue_status(session, settings.publish_targets))


@router.get("/deliveries", response_model=DeliveryPage, responses=errors(401, 403, 422))
def get_deliveries(
    session: ReadSession,
    admin: AdminDep,
    target: Annotated[str | None, Query(max_length=64)] = None,
    state: DeliveryStateName | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=DELIVERY_ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Deliveries newest first; follow ``next_cursor`` for older ones."""
    rows = find_deliveries(session, target=target, state=state, before_id=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        deliveries=[DeliveryOut.of(d) for d in rows], next_cursor=rows[-1].id if more and rows else None
    )


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut, responses=errors(401, 403, 404, 409, 422))
def post_retry(delivery_id: DeliveryId, admin: AdminDep, db: DatabaseDep) -> DeliveryOut:
    """Send a refused or cancelled delivery again."""
    with db.write() as session:
        return DeliveryOut.of(retry_delivery(session, delivery_id))
