"""The review pages: the queue of flagged events and the event page with its evidence and verdicts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from binwatch.collector.api.ranges import blob_response
from binwatch.collector.db.tables import Event, ReviewAction, Site
from binwatch.collector.errors import CollectorError, NotFound
from binwatch.collector.evidence import evidence_key, media_type, uploaded_evidence
from binwatch.collector.review import history, review_event, undo_review
from binwatch.collector.search import EventFilter, encode_cursor, find_events
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageLogin, PageUser, check_csrf, redirect
from binwatch.events.schema import EvidenceKind, Flag

router = APIRouter(include_in_schema=False)

STATUSES = ("unreviewed", "confirmed", "rejected", "corrected")


@router.get("/")
def home() -> Response:
    return redirect("/review")


@router.get("/review")
def queue(
    request: Request,
    user: PageUser,
    site: str = "",
    status: str = "unreviewed",
    flag: str = "",
    bin: str = "",
    cursor: str = "",
    limit: int = 24,
):
    """Flagged events, newest first; by default those still waiting for a verdict."""
    where = EventFilter(
        site_id=site or None,
        bin_id=bin or None,
        flag=flag if flag in {f.value for f in Flag} else None,
        flagged=True,
        review_status=status if status in STATUSES else None,
    )
    with request.app.state.db.read() as session:
        try:
            result = find_events(session, where, limit=max(1, min(limit, 100)), cursor=cursor or None)
        except CollectorError as exc:
            return redirect("/review", error=str(exc))
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        return page(
            request,
            "queue.html",
            {
                "page": result,
                "sites": sites,
                "site": site,
                "status": status,
                "flag": flag,
                "bin": bin,
                "statuses": STATUSES,
                "flags": [f.value for f in Flag],
            },
        )


@router.get("/events/{event_id}")
def event_page(event_id: uuid.UUID, request: Request, user: PageUser):
    with request.app.state.db.read() as session:
        event = session.get(Event, str(event_id))
        if event is None:
            raise NotFound(f"no event {event_id}")
        following = find_events(
            session, EventFilter(flagged=True, review_status="unreviewed"), limit=1, cursor=encode_cursor(event)
        ).events
        return page(
            request,
            "event.html",
            {
                "event": event,
                "history": history(session, event.id),
                "evidence": {e.kind: e for e in event.evidence if e.available},
                "expired": [e for e in event.evidence if e.expired_at is not None],
                "next_event": following[0].id if following else None,
            },
        )


@router.get("/events/{event_id}/evidence/{kind}")
def evidence_file(event_id: uuid.UUID, kind: EvidenceKind, request: Request, user: PageUser) -> Response:
    """The evidence for the page's ``<img>`` and ``<video>`` (cookie login; range requests for seeking)."""
    with request.app.state.db.read() as session:
        evidence = uploaded_evidence(session, str(event_id), kind)
    return blob_response(
        request,
        request.app.state.store,
        evidence_key(str(event_id), kind),
        media_type(kind),
        evidence.name,
        evidence.sha256,
    )


@router.post("/events/{event_id}/review")
def review_submit(
    event_id: uuid.UUID,
    request: Request,
    login: PageLogin,
    csrf: Csrf,
    action: Annotated[str, Form()],
    item: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
):
    check_csrf(login, csrf)
    url = f"/events/{event_id}"
    try:
        with request.app.state.db.write() as session:
            if action == ReviewAction.UNDO.value:
                undo_review(session, str(event_id), login.user, note)
            elif action in (ReviewAction.CONFIRM.value, ReviewAction.REJECT.value, ReviewAction.CORRECT.value):
                review_event(session, str(event_id), login.user, ReviewAction(action), item=item or None, note=note)
            else:
                return redirect(url, error=f"unknown action {action!r}")
    except CollectorError as exc:
        return redirect(url, error=str(exc))
    return redirect(url, ok={"undo": "review undone"}.get(action, f"{action} recorded"))
