"""The collector's ASGI application: ``create_app(settings)`` for uvicorn, tests and the demo."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from binwatch.collector.api import API_PREFIX, api_router
from binwatch.collector.api.defs.common import Problem
from binwatch.collector.api.errors import install_error_handlers
from binwatch.collector.api.limits import BodyLimits
from binwatch.collector.api.rewrite import HeadAsGet, TrailingSlash
from binwatch.collector.background import Background
from binwatch.collector.blobs import SWEEP_AFTER_S, BlobStore, open_store
from binwatch.collector.db.engine import Database
from binwatch.collector.db.migrate import upgrade
from binwatch.collector.errors import CollectorError
from binwatch.collector.lookups import Lookups
from binwatch.collector.platform.messages import attach
from binwatch.collector.retention import sweep_every
from binwatch.collector.settings import Settings
from binwatch.collector.throttle import LoginThrottle
from binwatch.collector.web import install_web

log = logging.getLogger("collector")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is migrated (when ``migrate_on_start``) before the first request."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_settings(settings)
    if settings.migrate_on_start:
        upgrade(db.write_engine)
    attach(db, settings.publish_targets)
    background = Background(db, settings)
    store = open_store(settings)
    sweep_uploads(store)  # what a kill left behind; then every hour while the app runs

    async def sweep_uploads_hourly() -> None:
        while True:
            await asyncio.sleep(SWEEP_AFTER_S)
            await asyncio.to_thread(sweep_uploads, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        background.start()
        tasks = [asyncio.create_task(sweep_uploads_hourly())]
        if settings.retention_sweep_s > 0:
            tasks.append(asyncio.create_task(sweep_every(settings.retention_sweep_s, db, app.state.store, settings)))
        yield
        background.stop()
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task  # a sweep in progress finishes first: its thread cannot be interrupted
        db.dispose()

    app = FastAPI(
        title="binwatch collector",
        version="1",
        summary="Events from the edge boxes, supervisors' reviews, work orders, statistics, the ledger, models, "
        "publication to the city platform.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's docs pages load their scripts from a CDN; the JSON document is enough
        redoc_url=None,
        lifespan=lifespan,
        responses={
            400: {"model": Problem, "description": "the request body could not be parsed"},
            415: {"model": Problem, "description": "the body is compressed, or not of the media type the route reads"},
        },
    )
    app.state.settings = settings
    app.state.db = db
    app.state.background = background
    app.state.store = store
    app.state.lookups = Lookups(db, ttl_s=settings.auth_cache_s)
    app.state.login_throttle = LoginThrottle(db, settings.login_max_failures, settings.login_window_s)
    app.include_router(api_router())
    install_error_handlers(app)
    install_web(app)
    app.add_middleware(
        BodyLimits,
        default=settings.max_json_bytes,
        rules=[
            ("PUT", rf"{API_PREFIX}/events/[^/]+/evidence/[^/]+", settings.max_evidence_bytes),
            ("POST", rf"{API_PREFIX}/models", settings.max_model_bytes + settings.max_json_bytes),
            ("POST", r"/admin/models", settings.max_model_bytes + settings.max_json_bytes),
            ("POST", rf"{API_PREFIX}/work-orders/[^/]+/close", settings.max_evidence_bytes + settings.max_json_bytes),
            ("POST", r"/work-orders/[^/]+/close", settings.max_evidence_bytes + settings.max_json_bytes),
        ],
    )
    app.add_middleware(TrailingSlash, prefix=API_PREFIX)  # outside the limits, whose rules name paths without it
    app.add_middleware(HeadAsGet)
    return app


def sweep_uploads(store: BlobStore) -> None:
    """Remove what killed uploads left behind; a store that cannot be reached now is tried again later."""
    try:
        store.sweep()
    except (OSError, CollectorError):
        log.exception("sweeping unfinished uploads failed; trying again in an hour")
