"""Statistics and devices pages for supervisors, and the ledger download for the cookie login."""

from __future__ import annotations

import datetime as dt
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from binwatch.collector.api.defs.admin import DeviceOut
from binwatch.collector.api.defs.common import parse_day
from binwatch.collector.db.tables import Device, Event, Site, utcnow
from binwatch.collector.ledger import ledger_csv, ledger_rows
from binwatch.collector.stats import tally, total
from binwatch.collector.web.charts import NARROW, WIDE, compliance_by_row, disposals_by_day
from binwatch.collector.web.labels import text
from binwatch.collector.web.render import page
from binwatch.collector.web.session import PageUser, redirect
from binwatch.collector.workorders import find_orders

router = APIRouter(include_in_schema=False)


def _day(value: str) -> dt.date | None:
    return parse_day(value) if value else None


@router.get("/stats")
def stats_page(request: Request, user: PageUser, since: str = "", until: str = "", site: str = ""):
    try:
        first, last = _day(since), _day(until)
    except ValueError:
        return redirect("/stats", error=text("bad_date"))
    with request.app.state.db.read() as session:
        tally_by = partial(tally, session, since=first, until=last, site_id=site or None)
        by_site, by_entity, by_day = tally_by("site"), tally_by("entity"), tally_by("day")
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        overdue_orders = find_orders(session, now=utcnow(), site_id=site or None, overdue=True, limit=200)
    return page(
        request,
        "stats.html",
        {
            "by_site": by_site,
            "by_entity": by_entity,
            "by_day": by_day,
            "overall": total(by_site),
            "site_charts": [compliance_by_row(by_site, width) for width in (WIDE, NARROW)],
            "day_charts": [disposals_by_day(by_day, width) for width in (WIDE, NARROW)],
            "sites": sites,
            "overdue_orders": overdue_orders,
            "since": since,
            "until": until,
            "site": site,
        },
    )


@router.get("/stats/ledger.csv")
def ledger_download(request: Request, user: PageUser, since: str = "", until: str = "", site: str = ""):
    try:
        first, last = _day(since), _day(until)
    except ValueError:
        return redirect("/stats", error=text("bad_date"))
    with request.app.state.db.read() as session:
        rows = ledger_rows(session, since=first, until=last, site_id=site or None, zone=request.app.state.settings.zone)
    return StreamingResponse(
        ledger_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
    )


@router.get("/devices")
def devices_page(request: Request, user: PageUser):
    settings = request.app.state.settings
    now = utcnow()
    with request.app.state.db.read() as session:
        devices = [
            DeviceOut.of(d, settings.device_offline_after_s, now)
            for d in session.scalars(select(Device).order_by(Device.site_id, Device.id))
        ]
        last_event = dict(
            session.execute(select(Event.device_id, func.max(Event.started_at)).group_by(Event.device_id)).all()
        )
    return page(
        request,
        "devices.html",
        {
            "devices": devices,
            "last_event": last_event,
            "offline_after": settings.device_offline_after_s,
        },
    )
