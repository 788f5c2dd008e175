"""The collector's ASGI application: ``create_app(settings)`` for uvicorn, tests and the demo."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from binwatch.collector.api import API_PREFIX, api_router
from binwatch.collector.api.defs.common import Problem
from binwatch.collector.api.errors import install_error_handlers
from binwatch.collector.api.limits import BodyLimits
from binwatch.collector.background import Background
from binwatch.collector.blobs import LocalBlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.migrate import upgrade
from binwatch.collector.lookups import Lookups
from binwatch.collector.platform.messages import attach
from binwatch.collector.settings import Settings
from binwatch.collector.throttle import LoginThrottle
from binwatch.collector.web import install_web

log = logging.getLogger("collector")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is migrated (when ``migrate_on_start``) before the first request."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
    if settings.migrate_on_start:
        upgrade(db.write_engine)
    attach(db, settings.publish_targets)
    background = Background(db, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        background.start()
        yield
        background.stop()
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
        responses={400: {"model": Problem, "description": "the request body could not be parsed"}},
    )
    app.state.settings = settings
    app.state.db = db
    app.state.background = background
    app.state.store = LocalBlobStore(settings.blob_dir)
    app.state.lookups = Lookups(db)
    app.state.login_throttle = LoginThrottle(settings.login_max_failures, settings.login_window_s)
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
    return app
