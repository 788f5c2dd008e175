"""Running the collector under uvicorn, tuned for throughput: uvloop, httptools, no access log.

The database is migrated once here, before any worker starts, so that several workers never
race to migrate it; each worker then builds its app from the same settings.
"""

from __future__ import annotations

import os

from binwatch.collector.settings import CONFIG_ENV, Settings


def migrate(settings: Settings) -> str | None:
    """Apply the migrations; returns the revision the database is at afterwards."""
    from binwatch.collector.db.engine import Database
    from binwatch.collector.db.migrate import current_revision, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        upgrade(db.write_engine)
        return current_revision(db.write_engine)
    finally:
        db.dispose()


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as ``BINWATCH_COLLECTOR_*`` variables, from which a worker process rebuilds them."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"BINWATCH_COLLECTOR_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def serve(settings: Settings) -> None:
    import uvicorn

    if settings.migrate_on_start:
        migrate(settings)
    os.environ.pop(CONFIG_ENV, None)
    os.environ.update(settings_environment(settings.model_copy(update={"migrate_on_start": False})))
    uvicorn.run(
        "binwatch.collector.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
