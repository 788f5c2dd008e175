"""The event page: the evidence, the facts, the verdict buttons and the audit log.

A verdict moves on to the next event of the queue the supervisor came from (its filters ride
along in the address), and the message it leaves offers the undo, one key away.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from binwatch.collector.api.events import evidence_response
from binwatch.collector.db.tables import Event, ReviewAction
from binwatch.collector.errors import CollectorError, Invalid, NotFound
from binwatch.collector.review import history, review_event, undo_review
from binwatch.collector.search import neighbours
from binwatch.collector.web.labels import text
from binwatch.collector.web.queue import QueueQuery, event_url, queue_url
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageUser, PageUserLogin, check_csrf, redirect
from binwatch.events.schema import EvidenceKind

router = APIRouter(include_in_schema=False)


def _queue_query(request: Request) -> QueueQuery:
    try:
        return QueueQuery.of(request.query_params)
    except Invalid:
        return QueueQuery()


@router.get("/")
def home() -> Response:
    return redirect("/review")


@router.get("/events/{event_id}")
def event_page(event_id: uuid.UUID, request: Request, user: PageUser):
    q = _queue_query(request)
    with request.app.state.db.read() as session:
        event = session.get(Event, str(event_id))
        if event is None:
            raise NotFound(f"no event {event_id}")
        newer, older = neighbours(session, q.filter(), event)
        return page(
            request,
            "event.html",
            {
                "event": event,
                "history": history(session, event.id),
                "evidence": {e.kind: e for e in event.evidence if e.available},
                "expired": [e for e in event.evidence if e.expired_at is not None],
                "q": q,
                "queue_url": f"{queue_url(q)}#e-{event.id}",  # back to this event's card, the current one
                "previous_url": event_url(newer.id, q) if newer else None,
                "next_url": event_url(older.id, q) if older else None,
            },
        )


@router.get("/events/{event_id}/evidence/{kind}")
def evidence_file(
    event_id: uuid.UUID, kind: EvidenceKind, request: Request, user: PageUser, download: bool = False
) -> Response:
    """The evidence for the page's ``<img>`` and ``<video>`` (cookie login; range requests for seeking),
    or, with ``download``, saved as a file named after the site, bin, time and event."""
    with request.app.state.db.read() as session:
        return evidence_response(request, session, str(event_id), kind, download)


@router.post("/events/{event_id}/review")
def review_submit(
    event_id: uuid.UUID,
    request: Request,
    login: PageUserLogin,
    csrf: Csrf,
    action: Annotated[str, Form(max_length=64)],
    item: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
):
    """A verdict, then the next event of the queue (older first, else newer, else the queue itself);
    an undo stays on the event it restored."""
    check_csrf(login, csrf)
    q = _queue_query(request)
    here = str(event_id)
    verdicts = (ReviewAction.CONFIRM.value, ReviewAction.REJECT.value, ReviewAction.CORRECT.value)
    if action not in (*verdicts, ReviewAction.UNDO.value):
        return redirect(event_url(here, q, error=f"unknown action {action!r}"))
    try:
        with request.app.state.db.write() as session:
            if action == ReviewAction.UNDO.value:
                undo_review(session, here, login.user, note)
            else:
                review_event(session, here, login.user, ReviewAction(action), item=item or None, note=note)
            event = session.get_one(Event, here)
            newer, older = neighbours(session, q.filter(), event)
    except CollectorError as exc:
        return redirect(event_url(here, q, error=str(exc)))
    done = text(f"done.{action}", n=1)
    if action == ReviewAction.UNDO.value:
        return redirect(event_url(here, q, ok=done))
    following = older or newer
    if following is None:
        return redirect(queue_url(q, ok=f"{done} · {text('done.queue_empty')}", reviewed=here))
    return redirect(event_url(following.id, q, ok=done, reviewed=here))
