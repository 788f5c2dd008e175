"""The review queue: flagged events with what is left to review, and verdicts on several at once.

The queue's filters travel in its address (``QueueQuery``); the event page keeps them, so
that "next", "previous" and the step after a verdict walk the same list the supervisor chose.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from binwatch.collector.api.defs.common import parse_day
from binwatch.collector.api.defs.events import MAX_BATCH
from binwatch.collector.db.tables import ReviewAction, ReviewStatus, Site
from binwatch.collector.errors import CollectorError, Invalid
from binwatch.collector.review import review_many
from binwatch.collector.search import SEVERITIES, EventFilter, Severity, find_events, queue_counts
from binwatch.collector.web.days import month_of, parse_month
from binwatch.collector.web.labels import text
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageUser, PageUserLogin, check_csrf, redirect
from binwatch.events.schema import Flag

router = APIRouter(include_in_schema=False)

STATUSES = tuple(s.value for s in ReviewStatus)
FLAGS = tuple(f.value for f in Flag)
PAGE_SIZE, MAX_PAGE_SIZE = 24, 100


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as its address carries them. An unknown value falls back to its default,
    so that a hand-edited address still shows a queue; only a malformed day is an error."""

    site: str = ""
    status: str = ReviewStatus.UNREVIEWED.value  # or "all"
    severity: Severity | Literal[""] = ""
    flag: str = ""
    bin: str = ""
    day: str = ""  # local day, yyyy-mm-dd

    @classmethod
    def of(cls, params: Mapping[str, str]) -> QueueQuery:
        day = params.get("day", "").strip()
        if day:
            try:
                day = parse_day(day).isoformat()
            except ValueError:
                raise Invalid(text("bad_date")) from None
        status = params.get("status", cls.status)
        return cls(
            site=params.get("site", "")[:64],
            status=status if status in (*STATUSES, "all") else cls.status,
            severity=next((s for s in SEVERITIES if s == params.get("severity")), ""),
            flag=params.get("flag", "") if params.get("flag") in FLAGS else "",
            bin=params.get("bin", "")[:64],
            day=day,
        )

    def filter(self) -> EventFilter:
        return EventFilter(
            site_id=self.site or None,
            bin_id=self.bin or None,
            flag=self.flag or None,
            flagged=True,
            review_status=None if self.status == "all" else self.status,
            severity=self.severity or None,
            day=dt.date.fromisoformat(self.day) if self.day else None,
        )

    def query(self, **changes: str) -> str:
        """The query string of these filters with ``changes``, defaults left out (short addresses)."""
        defaults = asdict(QueueQuery())
        values = {**asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v != defaults[k]})


def queue_url(q: QueueQuery, **message: str) -> str:
    """The queue with these filters, and the ``ok``/``error``/``reviewed`` a redirect carries."""
    return _address("/review", q, message)


def event_url(event_id: str, q: QueueQuery, **message: str) -> str:
    """An event seen from the queue with these filters (its next and previous are in that queue)."""
    return _address(f"/events/{event_id}", q, message)


def _address(path: str, q: QueueQuery, message: dict[str, str]) -> str:
    query = "&".join(part for part in (q.query(), urlencode(message)) if part)
    return path + (f"?{query}" if query else "")


@router.get("/review")
def queue(request: Request, user: PageUser, month: str = "", cursor: str = "", limit: int = PAGE_SIZE):
    """Flagged events, newest first (by default those still waiting for a verdict), with the counts
    of what is left to review per severity, flag and day."""
    try:
        q = QueueQuery.of(request.query_params)
    except Invalid as exc:
        return redirect("/review", error=str(exc))
    zone = ZoneInfo(request.app.state.settings.timezone)
    with request.app.state.db.read() as session:
        try:
            result = find_events(session, q.filter(), limit=max(1, min(limit, MAX_PAGE_SIZE)), cursor=cursor or None)
        except CollectorError as exc:
            return redirect(queue_url(q), error=str(exc))
        counts = queue_counts(session, q.filter())
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        today = dt.datetime.now(zone).date()
        shown = parse_month(month) or (
            dt.date.fromisoformat(q.day) if q.day else next(iter(counts.by_day), today)  # newest day left
        )
        return page(
            request,
            "queue.html",
            {
                "page": result,
                "counts": counts,
                "month": month_of(counts.by_day, shown, today),
                "sites": sites,
                "q": q,
                "statuses": STATUSES,
                "flags": FLAGS,
                "severities": SEVERITIES,
                "event_url": lambda event_id: event_url(event_id, q),
                "cursor": cursor,
                "month_open": bool(parse_month(month)),
            },
        )


@router.post("/review/batch")
def batch_submit(
    request: Request,
    login: PageUserLogin,
    csrf: Csrf,
    action: Annotated[str, Form(max_length=64)],
    event_id: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The queue's "confirm selected" (and false positive, and undo of what was just done): one
    transaction, one audit record per event. Undoing a single event returns to that event."""
    check_csrf(login, csrf)
    try:
        q = QueueQuery.of(request.query_params)
    except Invalid:
        q = QueueQuery()
    allowed = {ReviewAction.CONFIRM.value, ReviewAction.REJECT.value, ReviewAction.UNDO.value}
    if action not in allowed:
        return redirect(queue_url(q), error=f"unknown action {action!r}")
    try:
        ids = [str(uuid.UUID(e)) for e in event_id or []]
    except ValueError:
        return redirect(queue_url(q), error="not an event id")
    if not ids:
        return redirect(queue_url(q), error=text("queue.nothing_selected"))
    if len(ids) > MAX_BATCH:
        return redirect(queue_url(q), error=f"at most {MAX_BATCH} events at once")
    try:
        with request.app.state.db.write() as session:
            review_many(session, ids, login.user, ReviewAction(action), note=note)
    except CollectorError as exc:
        return redirect(queue_url(q), error=str(exc))
    done = text(f"done.{action}", n=len(ids))
    if action == ReviewAction.UNDO.value:
        return redirect(event_url(ids[0], q, ok=done) if len(ids) == 1 else queue_url(q, ok=done))
    return redirect(queue_url(q, ok=done, reviewed=",".join(ids)))
