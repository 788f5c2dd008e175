"""Supervisors' verdicts on events, each kept in the audit log with the state before and after.

Reviews of one event form a stack: ``undo`` takes back the newest review not yet undone and
restores the state it found. Reviewers may undo their own reviews, admins anyone's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from binwatch.collector.compliance import is_compliant, standing_flags
from binwatch.collector.db.tables import Event, EventFlag, Review, ReviewAction, ReviewStatus, Role, User, utcnow
from binwatch.collector.errors import Conflict, Forbidden, Invalid, NotFound
from binwatch.collector.names import Note, checked
from binwatch.collector.workorders import cancel_orders_of
from binwatch.datasets.taxonomy import CATEGORY_KEYS, ITEM_KEYS, category_of
from binwatch.events.schema import EventKind


def state_of(event: Event) -> dict:
    """The reviewable state of an event, as the audit log records it."""
    return {
        "review_status": event.review_status,
        "label_item": event.label_item,
        "label_category": event.label_category,
        "standing_flags": sorted(f.flag for f in event.flags if f.standing),
        "compliant": event.compliant,
        "note": event.review_note,
        "reviewed_by": event.reviewed_by,
        "reviewed_at": event.reviewed_at.isoformat() if event.reviewed_at else None,
    }


def _supervising(user: User) -> None:
    """Only supervisors review: a responsible entity's user judges neither its own violations (a rejected flag
    takes away the grounds of a work order against it) nor another entity's events. Checked here, whatever the
    route, page or API, that brought the verdict."""
    if user.role == Role.ENTITY.value:
        raise Forbidden("only reviewers and admins review events")


def review_event(
    session: Session,
    event_id: str,
    user: User,
    action: ReviewAction,
    *,
    item: str | None = None,
    category: str | None = None,
    note: str = "",
) -> Review:
    """Confirm the event's flags, reject them as a false positive, or correct its item/category."""
    _supervising(user)
    note = checked(Note, note, "note")
    event = _locked_event(session, event_id)
    reported = [f.flag for f in event.flags if f.reported]
    if action is ReviewAction.CONFIRM:
        status = ReviewStatus.CONFIRMED
        item, category = event.pred_item, event.pred_category
    elif action is ReviewAction.REJECT:
        if not event.flagged:
            raise Conflict(f"event {event_id} has no flag to reject")
        status, item, category = ReviewStatus.REJECTED, None, None
    elif action is ReviewAction.CORRECT:
        if event.kind != EventKind.DISPOSAL.value:
            raise Conflict(f"event {event_id} is a {event.kind} event: only a disposal's item can be corrected")
        status = ReviewStatus.CORRECTED
        item, category = _label(item, category)
    else:
        raise Invalid(f"{action.value} is not a review; use undo_review")

    now = utcnow()
    before = state_of(event)
    standing = standing_flags(reported, status, event.bin_category, item, category)
    _apply(
        session,
        event,
        {
            "review_status": status.value,
            "label_item": item,
            "label_category": category,
            "standing_flags": sorted(standing),
            "compliant": is_compliant(event.kind, status, standing),
            "note": note,
            "reviewed_by": user.id,
            "reviewed_at": now.isoformat(),
        },
    )
    review = Review(
        event_id=event.id,
        user_id=user.id,
        action=action.value,
        note=note,
        before=before,
        after=state_of(event),
        created_at=now,
    )
    session.add(review)
    session.flush()
    cancel_orders_of(session, event, user, now)
    return review


def undo_review(session: Session, event_id: str, user: User, note: str = "") -> Review:
    _supervising(user)
    note = checked(Note, note, "note")
    event = _locked_event(session, event_id)
    last = session.scalar(
        select(Review)
        .where(Review.event_id == event_id, Review.action != ReviewAction.UNDO.value, Review.undone.is_(False))
        .order_by(Review.id.desc())
        .limit(1)
    )
    if last is None:
        raise Conflict(f"event {event_id} has no review to undo")
    if user.role != Role.ADMIN.value and last.user_id != user.id:
        raise Forbidden("reviewers may undo only their own reviews")
    before = state_of(event)
    _apply(session, event, last.before)
    last.undone = True
    undo = Review(
        event_id=event.id,
        user_id=user.id,
        action=ReviewAction.UNDO.value,
        note=note,
        before=before,
        after=state_of(event),
        undoes_id=last.id,
        created_at=utcnow(),
    )
    session.add(undo)
    session.flush()
    cancel_orders_of(session, event, user, undo.created_at)
    return undo


def review_many(
    session: Session,
    event_ids: list[str],
    user: User,
    action: ReviewAction,
    *,
    item: str | None = None,
    category: str | None = None,
    note: str = "",
) -> list[Review]:
    """One verdict (or undo) on several events in the caller's transaction, each audited on its own.
    Any refusal raises, so the caller's rollback leaves every one of them as it was."""
    if not event_ids:
        raise Invalid("no events given")
    if len(set(event_ids)) != len(event_ids):
        raise Invalid("an event is named twice")
    if action is ReviewAction.UNDO:
        return [undo_review(session, event_id, user, note) for event_id in event_ids]
    return [review_event(session, e, user, action, item=item, category=category, note=note) for e in event_ids]


def history(session: Session, event_id: str) -> list[Review]:
    return list(session.scalars(select(Review).where(Review.event_id == event_id).order_by(Review.id)))


def _locked_event(session: Session, event_id: str) -> Event:
    event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"no event {event_id}")
    return event


def _label(item: str | None, category: str | None) -> tuple[str | None, str]:
    if item is None and category is None:
        raise Invalid("a correction needs an item or a category")
    if item is not None:
        if item not in ITEM_KEYS:
            raise Invalid(f"unknown item {item!r}")
        if category is not None and category != category_of(item):
            raise Invalid(f"{item} is {category_of(item)}, not {category}")
        return item, category_of(item)
    if category not in CATEGORY_KEYS:
        raise Invalid(f"unknown category {category!r}")
    return None, category


def _apply(session: Session, event: Event, state: dict) -> None:
    event.review_status = state["review_status"]
    event.label_item = state["label_item"]
    event.label_category = state["label_category"]
    event.compliant = state["compliant"]
    event.review_note = state["note"]
    event.reviewed_by = state["reviewed_by"]
    event.reviewed_at = _parse_time(state["reviewed_at"])
    standing = set(state["standing_flags"])
    by_flag = {f.flag: f for f in event.flags}
    for flag in standing - by_flag.keys():
        event.flags.append(EventFlag(flag=flag, reported=False, standing=True))
    for flag, row in by_flag.items():
        if row.reported:
            row.standing = flag in standing
        elif flag not in standing:
            event.flags.remove(row)
    session.flush()


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None
