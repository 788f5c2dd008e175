"""Reading events and reviewing them (people: reviewers and admins)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from binwatch.collector.api.defs.common import Day, EntityIdQuery, IdQuery, MomentQuery, errors
from binwatch.collector.api.defs.events import (
    EventDetail,
    EventPage,
    EventSummary,
    QueueCountsOut,
    ReviewOut,
    ReviewRequest,
    UndoBody,
)
from binwatch.collector.api.deps import DatabaseDep, ReadSession, ScopeDep, StaffDep
from binwatch.collector.api.ranges import blob_response
from binwatch.collector.db.tables import Event, ReviewAction, to_utc
from binwatch.collector.errors import NotFound
from binwatch.collector.evidence import download_name, evidence_key, media_type, uploaded_evidence
from binwatch.collector.review import history, review_event, undo_review
from binwatch.collector.scope import Scope
from binwatch.collector.search import EventFilter, Severity, find_events, queue_counts
from binwatch.events.schema import EventKind, EvidenceKind, Flag

router = APIRouter(prefix="/events", tags=["events"])


def event_filter(
    scope: ScopeDep,
    site_id: IdQuery = None,
    kind: EventKind | None = None,
    bin_id: IdQuery = None,
    device_id: IdQuery = None,
    entity_id: EntityIdQuery = None,
    flag: Flag | None = None,
    severity: Annotated[
        Severity | None,
        Query(description="violation: a reported violation of Art. 16; review: flagged only uncertain/item_unseen"),
    ] = None,
    day: Annotated[Day | None, Query(description="local day (YYYY-MM-DD), as the statistics count it")] = None,
    since: Annotated[MomentQuery | None, Query(description="started at or after (ISO 8601 with zone)")] = None,
    until: Annotated[MomentQuery | None, Query(description="started before (ISO 8601 with zone)")] = None,
) -> EventFilter:
    """The filters the event list and the queue counts share, limited to what the user may see."""
    return EventFilter(
        site_id=site_id,
        entity_id=scope.entity(entity_id),
        kind=kind.value if kind else None,
        bin_id=bin_id,
        device_id=device_id,
        flag=flag.value if flag else None,
        severity=severity,
        day=day,
        since=to_utc(since, "since") if since else None,
        until=to_utc(until, "until") if until else None,
    )


FilterDep = Annotated[EventFilter, Depends(event_filter)]


@router.get("", response_model=EventPage, responses=errors(401, 422))
def list_events(
    session: ReadSession,
    where: FilterDep,
    flagged: bool | None = None,
    review_status: Literal["unreviewed", "confirmed", "rejected", "corrected"] | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """Events newest first, filtered; follow ``next_cursor`` for older ones."""
    where = replace(where, flagged=flagged, review_status=review_status)
    page = find_events(session, where, limit=limit, cursor=cursor)
    return EventPage(events=[EventSummary.of(e) for e in page.events], next_cursor=page.next_cursor)


@router.get("/counts", response_model=QueueCountsOut, responses=errors(401, 422))
def count_unreviewed(session: ReadSession, where: FilterDep) -> QueueCountsOut:
    """What is left to review: unreviewed flagged events per severity, per reported flag and per local
    day, each facet counted under every filter but its own (as the review queue shows them)."""
    return QueueCountsOut.of(queue_counts(session, where))


@router.get("/{event_id}", response_model=EventDetail, responses=errors(401, 404, 422))
def get_event(event_id: uuid.UUID, request: Request, session: ReadSession, scope: ScopeDep) -> EventDetail:
    event = _event(session, event_id, scope)
    return EventDetail.of_event(event, history(session, event.id), _evidence_url(request, event.id))


@router.get(
    "/{event_id}/evidence/{kind}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "video/mp4": {}}, "description": "the file"},
        206: {"description": "the requested byte range"},
        416: {"description": "range not satisfiable"},
        **errors(401, 404, 410, 422, 503),
    },
)
def get_evidence(
    event_id: uuid.UUID,
    kind: EvidenceKind,
    request: Request,
    session: ReadSession,
    scope: ScopeDep,
    download: Annotated[bool, Query(description="save as a file named after the site, bin, time and event")] = False,
) -> Response:
    """Download an evidence file; honours ``Range`` so a player can seek in the clip. 410 once retention
    has deleted it."""
    _event(session, event_id, scope)
    return evidence_response(request, session, str(event_id), kind, download)


def evidence_response(request: Request, session, event_id: str, kind: EvidenceKind, download: bool) -> Response:
    """An uploaded evidence file, inline or (``download``) as an attachment; the pages serve it the same way."""
    evidence = uploaded_evidence(session, event_id, kind)
    name = evidence.name
    if download:
        name = download_name(session.get_one(Event, event_id), kind, request.app.state.settings.zone)
    key = evidence_key(event_id, kind)
    return blob_response(request, request.app.state.store, key, media_type(kind), name, evidence.sha256, download)


@router.post("/{event_id}/review", response_model=ReviewOut, responses=errors(401, 403, 404, 409, 422))
def post_review(event_id: uuid.UUID, body: ReviewRequest, user: StaffDep, db: DatabaseDep) -> ReviewOut:
    """Confirm the flags, reject them as a false positive, or correct the item/category; kept in the audit log."""
    with db.write() as session:
        review = review_event(
            session,
            str(event_id),
            user,
            ReviewAction(body.action),
            item=body.item,
            category=body.category,
            note=body.note,
        )
        return ReviewOut.of(review)


@router.post("/{event_id}/undo", response_model=ReviewOut, responses=errors(401, 403, 404, 409, 422))
def post_undo(event_id: uuid.UUID, body: UndoBody, user: StaffDep, db: DatabaseDep) -> ReviewOut:
    """Take back the newest review of the event (reviewers: their own; admins: anyone's)."""
    with db.write() as session:
        return ReviewOut.of(undo_review(session, str(event_id), user, body.note))


@router.get("/{event_id}/reviews", response_model=list[ReviewOut], responses=errors(401, 404, 422))
def get_reviews(event_id: uuid.UUID, session: ReadSession, scope: ScopeDep) -> list[ReviewOut]:
    """The audit log of one event: who, when, before, after."""
    event = _event(session, event_id, scope)
    return [ReviewOut.of(r) for r in history(session, event.id)]


def _event(session, event_id: uuid.UUID, scope: Scope) -> Event:
    event = session.get(Event, str(event_id))
    if event is None:
        raise NotFound(f"no event {event_id}")
    scope.check_site(session, event.site_id, f"no event {event_id}")
    return event


def _evidence_url(request: Request, event_id: str):
    return lambda kind: str(request.url_for("get_evidence", event_id=event_id, kind=kind))
