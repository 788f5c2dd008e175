"""Templates and what they show beside the data: bilingual category and item names, times, messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from binwatch.collector.entity_types import ENTITY_TYPE_LABELS, EntityType
from binwatch.datasets.taxonomy import CATEGORIES, ITEMS, category, item

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

# Pages load nothing from elsewhere, run no inline script and are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def category_label(key: str | None) -> str:
    if not key:
        return "—"
    c = category(key)
    return f"{c.zh} {c.en}"


def item_label(key: str | None) -> str:
    if not key:
        return "—"
    i = item(key)
    return f"{i.zh} {i.en}"


def entity_type_label(key: str) -> str:
    zh, en = ENTITY_TYPE_LABELS[EntityType(key)]
    return f"{zh} {en}"


def local_time(value: dt.datetime | None, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


templates.env.globals.update(
    category_label=category_label,
    item_label=item_label,
    entity_type_label=entity_type_label,
    CATEGORIES=CATEGORIES,
    ITEMS=ITEMS,
    ENTITY_TYPES=[t.value for t in EntityType],
)
templates.env.filters.update(percent=percent)


def page(request: Request, name: str, context: dict, status_code: int = 200):
    """Render ``name`` with the login, the zone and the ?ok= / ?error= message of a redirect."""
    settings = request.app.state.settings
    login = getattr(request.state, "login", None)
    base = {
        "login": login,
        "user": login.user if login else None,
        "csrf": login.csrf_token if login else "",
        "zone": settings.timezone,
        "when": lambda value: local_time(value, settings.timezone),
        "ok": request.query_params.get("ok", "")[:300],
        "error": request.query_params.get("error", "")[:300],
    }
    return templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers=SECURITY_HEADERS
    )
