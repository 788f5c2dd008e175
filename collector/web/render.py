"""Templates and what they show beside the data: the labels, times with their zone, the navigation, messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from binwatch.collector.api.defs.events import MAX_BATCH
from binwatch.collector.entity_types import EntityType
from binwatch.collector.web.labels import LABELS, t, text
from binwatch.datasets.taxonomy import CATEGORIES, ITEMS
from binwatch.events.schema import VIOLATION_FLAGS

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

# Pages load nothing from elsewhere, run no inline script and are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# The navigation: (label key, address, the roles it is shown to). A new page adds its entry here and its
# label to ``labels``. A responsible entity's user is sent to its work orders from the supervisors' pages.
STAFF = ("reviewer", "admin")
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("nav.review", "/review", STAFF),
    ("nav.stats", "/stats", STAFF),
    ("nav.devices", "/devices", STAFF),
    ("nav.work_orders", "/work-orders", (*STAFF, "entity")),
]
ADMIN_NAV: list[tuple[str, str]] = [
    ("nav.sites", "/admin/sites"),
    ("nav.entities", "/admin/entities"),
    ("nav.admin_devices", "/admin/devices"),
    ("nav.users", "/admin/users"),
    ("nav.models", "/admin/models"),
    ("nav.platform", "/admin/platform"),
]


def labelled(prefix: str, key: str | None) -> Markup:
    """``t(prefix.key)``, or a dash when there is no key (an event without a prediction)."""
    return t(f"{prefix}.{key}") if key else Markup("—")


def utc_offset(value: dt.datetime) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC``: short, and unambiguous where zone abbreviations are not (CST)."""
    offset = value.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(value: dt.datetime | None, zone: str) -> Markup:
    """A ``<time>`` in the collector's zone, the offset written out and the zone's name on hover."""
    if value is None:
        return Markup("—")
    local = value.astimezone(ZoneInfo(zone))
    return Markup('<time datetime="{}" title="{}">{} <small>{}</small></time>').format(
        value.astimezone(dt.UTC).isoformat(), zone, local.strftime("%Y-%m-%d %H:%M:%S"), utc_offset(local)
    )


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


templates.env.globals.update(
    t=t,
    text=text,
    labelled=labelled,
    CATEGORIES=CATEGORIES,
    ITEMS=ITEMS,
    ENTITY_TYPES=[e.value for e in EntityType],
    VIOLATIONS=sorted(f.value for f in VIOLATION_FLAGS),
    LABELS=LABELS,
    NAV=NAV,
    ADMIN_NAV=ADMIN_NAV,
)
templates.env.filters.update(percent=percent)


def reviewed_ids(request: Request) -> list[str]:
    """The events a redirect says were just reviewed (``?reviewed=a,b``): the message offers to undo them."""
    ids = []
    for part in request.query_params.get("reviewed", "").split(",")[:MAX_BATCH]:
        try:
            ids.append(str(uuid.UUID(part)))
        except ValueError:
            continue
    return ids


def page(request: Request, name: str, context: dict, status_code: int = 200, headers: Mapping[str, str] | None = None):
    """Render ``name`` with the login, the zone and the ?ok= / ?error= message of a redirect."""
    settings = request.app.state.settings
    login = getattr(request.state, "login", None)
    now = dt.datetime.now(ZoneInfo(settings.timezone))
    base = {
        "login": login,
        "user": login.user if login else None,
        "csrf": login.csrf_token if login else "",
        "zone": settings.timezone,
        "zone_offset": utc_offset(now),
        "when": lambda value: local_time(value, settings.timezone),
        "ok": request.query_params.get("ok", "")[:300],
        "error": request.query_params.get("error", "")[:300],
        "reviewed": reviewed_ids(request) if login else [],
        "path": request.url.path,
    }
    return templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers={**(headers or {}), **SECURITY_HEADERS}
    )
