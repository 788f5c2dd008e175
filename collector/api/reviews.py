"""Reviewing several events at once: the queue's "confirm selected" (people: reviewers and admins)."""

from __future__ import annotations

from fastapi import APIRouter

from binwatch.collector.api.defs.common import errors
from binwatch.collector.api.defs.events import ReviewManyRequest, ReviewOut
from binwatch.collector.api.deps import DatabaseDep, StaffDep
from binwatch.collector.db.tables import ReviewAction
from binwatch.collector.review import review_many

router = APIRouter(prefix="/reviews", tags=["events"])


@router.post("", response_model=list[ReviewOut], responses=errors(401, 403, 404, 409, 422))
def post_reviews(body: ReviewManyRequest, user: StaffDep, db: DatabaseDep) -> list[ReviewOut]:
    """The same verdict (or undo) on every event named, in one transaction: each gets its own audit
    record, and a refusal of any one (unknown event, nothing to reject or undo) changes none of them."""
    with db.write() as session:
        reviews = review_many(
            session,
            [str(e) for e in body.event_ids],
            user,
            ReviewAction(body.action),
            item=body.item,
            category=body.category,
            note=body.note,
        )
        return [ReviewOut.of(r) for r in reviews]
