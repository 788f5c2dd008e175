"""Statistics per site, per responsible entity and per day, and the Art. 15(5) ledger as CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from binwatch.collector.api.defs.common import Day, EntityIdQuery, IdQuery, check_days, errors
from binwatch.collector.api.defs.stats import StatsOut, TallyOut
from binwatch.collector.api.deps import ReadSession, ScopeDep, SettingsDep
from binwatch.collector.ledger import ledger_csv, ledger_rows
from binwatch.collector.stats import Tally, tally, total

router = APIRouter(tags=["statistics"])

DayQuery = Annotated[Day | None, Query(description="local day (YYYY-MM-DD), inclusive")]


def tally_out(t: Tally) -> TallyOut:
    return TallyOut(
        key=t.key,
        label=t.label,
        disposals=t.disposals,
        flagged=t.flagged,
        compliant=t.compliant,
        compliance_rate=t.compliance_rate,
        reviewed=t.reviewed,
        backlog=t.backlog,
        flags_reported=t.flags_reported,
        flags_standing=t.flags_standing,
        kinds=t.kinds,
        kinds_standing=t.kinds_standing,
        unresolved=t.unresolved,
    )


@router.get("/stats", response_model=StatsOut, responses=errors(401, 422))
def get_stats(
    session: ReadSession,
    scope: ScopeDep,
    by: Literal["site", "entity", "day"] = "site",
    since: DayQuery = None,
    until: DayQuery = None,
    site_id: IdQuery = None,
    entity_id: EntityIdQuery = None,
) -> StatsOut:
    """Disposals, flags by type (reported and standing), compliance rate and review backlog."""
    check_days(since, until)
    rows = tally(session, by, since=since, until=until, site_id=site_id, entity_id=scope.entity(entity_id))
    return StatsOut(by=by, since=since, until=until, rows=[tally_out(t) for t in rows], total=tally_out(total(rows)))


@router.get(
    "/ledger.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per site and day"}, **errors(401, 422)},
)
def get_ledger(
    session: ReadSession,
    scope: ScopeDep,
    settings: SettingsDep,
    since: DayQuery = None,
    until: DayQuery = None,
    site_id: IdQuery = None,
    entity_id: EntityIdQuery = None,
) -> StreamingResponse:
    """The Art. 15(5) ledger: per drop-off point and day, disposals by bin, standing flags, compliance, reviews,
    the events around the bins; a row per emptying (estimated quantity) and per work-order step."""
    check_days(since, until)
    rows = ledger_rows(
        session, since=since, until=until, site_id=site_id, entity_id=scope.entity(entity_id), zone=settings.zone
    )
    name = f"ledger-{since or 'start'}-{until or 'now'}.csv"
    return StreamingResponse(
        ledger_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
