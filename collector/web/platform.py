"""The admins' page of the publication to the city platform: each target's queue, the deliveries, retries."""

from __future__ import annotations

from fastapi import APIRouter, Request

from binwatch.collector.api.defs.common import DeliveryId
from binwatch.collector.errors import CollectorError
from binwatch.collector.platform.deliveries import STATES, find_deliveries, queue_status, retry_delivery
from binwatch.collector.web.labels import text
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageAdmin, check_csrf, redirect

router = APIRouter(prefix="/admin/platform", include_in_schema=False)


@router.get("")
def platform_page(request: Request, admin: PageAdmin, target: str = "", state: str = ""):
    settings = request.app.state.settings
    with request.app.state.db.read() as session:
        status = queue_status(session, settings.publish_targets)
        deliveries = find_deliveries(
            session, target=target or None, state=state if state in STATES else None, limit=100
        )
        return page(
            request,
            "admin_platform.html",
            {
                "status": status,
                "deliveries": deliveries,
                "target": target,
                "state": state,
                "states": STATES,
                "mqtt_prefix": settings.mqtt_topic_prefix if settings.mqtt_url else None,
            },
        )


@router.post("/deliveries/{delivery_id}/retry")
def platform_retry(delivery_id: DeliveryId, request: Request, admin: PageAdmin, csrf: Csrf):
    check_csrf(request.state.login, csrf)
    try:
        with request.app.state.db.write() as session:
            retry_delivery(session, delivery_id)
    except CollectorError as exc:
        return redirect("/admin/platform", error=str(exc))
    return redirect("/admin/platform", ok=text("saved.delivery_retried", id=delivery_id))
