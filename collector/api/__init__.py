"""The JSON API under /api/v1: one router per resource, assembled here."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from binwatch.collector.api import (
    auth,
    devices,
    events,
    export,
    health,
    ingest,
    models,
    platform,
    reviews,
    sites,
    stats,
    users,
    workorders,
)
from binwatch.collector.api.query import documented_query

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(documented_query)])
    for module in (
        health,
        auth,
        ingest,
        events,
        reviews,
        stats,
        export,
        devices,
        sites,
        users,
        models,
        workorders,
        platform,
    ):
        router.include_router(module.router)
    return router
