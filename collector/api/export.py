"""The retraining export as a zip download (admins)."""

from __future__ import annotations

import tempfile
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from binwatch.collector.api.defs.common import Day, IdQuery, check_days, errors
from binwatch.collector.api.deps import AdminDep, ReadSession, StoreDep
from binwatch.collector.blobs import CHUNK
from binwatch.collector.export import export_zip, reviewed_samples

router = APIRouter(tags=["export"])


@router.get(
    "/export/reviewed.zip",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "manifest.csv, events.jsonl, images/"},
        **errors(401, 403, 422),
    },
)
def get_export(
    session: ReadSession,
    admin: AdminDep,
    store: StoreDep,
    since: Annotated[Day | None, Query(description="events of this local day (YYYY-MM-DD) or later")] = None,
    until: Annotated[Day | None, Query(description="events of this local day (YYYY-MM-DD) or earlier")] = None,
    site_id: IdQuery = None,
) -> Response:
    """Confirmed and corrected events with their crops, as a data set ``binwatch train`` reads."""
    check_days(since, until)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response stream
    summary = export_zip(reviewed_samples(session, store, since=since, until=until, site_id=site_id), spool)
    size = spool.tell()
    spool.seek(0)

    def chunks():
        with spool:
            while chunk := spool.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="reviewed.zip"',
            "Content-Length": str(size),
            "X-Exported": str(summary.exported),
            "X-Skipped": str(summary.skipped),
        },
    )
