"""Running the collector under uvicorn, tuned for throughput: uvloop, httptools, no access log.

The database is migrated once here, before any worker starts, so that several workers never
race to migrate it; each worker then builds its app from the same settings. The demo and the
tests run an app in a thread of their own process instead (``serve_in_thread``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from binwatch.collector.settings import CONFIG_ENV, ENV_PREFIX, Settings

if TYPE_CHECKING:
    import uvicorn


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
        if isinstance(value, list | dict):
            env[f"{ENV_PREFIX}{name.upper()}"] = json.dumps(value)
        elif value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
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


@dataclass
class RunningServer:
    """An app served by ``serve_in_thread``, at ``url`` until ``stop``."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app, port: int = 0, timeout_s: float = 20.0) -> RunningServer:
    """``app`` under uvicorn on 127.0.0.1 in a daemon thread; returns once it accepts connections.

    With ``port=0`` the operating system picks a free port when uvicorn binds, and the URL is
    read back from the bound socket: no other process can take the port between choosing it
    and listening on it, as it could with a port probed beforehand.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="collector", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the collector did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(f"http://127.0.0.1:{bound_port}", server, thread)
