"""Running the collector under uvicorn, tuned for throughput: uvloop, httptools, no access log.

``serve`` first takes its port: a port in use is refused before anything else happens, the
database least of all. The database is then migrated once, before any worker starts, so that
several workers never race to migrate it; each worker builds its app from the same settings
and serves on the socket taken here. The demo and the tests run an app in a thread of their
own process instead (``serve_in_thread``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import SecretStr

from binwatch.collector.errors import Unavailable
from binwatch.collector.settings import CONFIG_ENV, ENV_PREFIX, Settings, SettingsError

if TYPE_CHECKING:
    import uvicorn

    from binwatch.collector.db.engine import Database

T = TypeVar("T")


def migrate(settings: Settings) -> str | None:
    """Apply the migrations; returns the revision the database is at afterwards."""
    from binwatch.collector.db.migrate import current_revision, upgrade

    def work(db: Database) -> str | None:
        upgrade(db.write_engine)
        return current_revision(db.write_engine)

    return with_database(settings, work)


def with_database(settings: Settings, work: Callable[[Database], T]) -> T:
    """``work(db)`` on the configured database. A URL that names no usable database is a
    ``SettingsError``; a database that cannot be reached or refuses is ``Unavailable``: both
    say which database (without its password) and why, in one line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DatabaseError, InterfaceError, OperationalError

    from binwatch.collector.db.engine import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        db = Database.from_settings(settings)
    except (ArgumentError, ImportError) as exc:
        raise SettingsError(f"database_url: not a usable SQLAlchemy URL ({exc})") from exc
    try:
        return work(db)
    except (DatabaseError, InterfaceError) as exc:
        # A bare DatabaseError is what SQLite says of a file that is no database; its other kinds (a
        # constraint broken, …) are errors of the work, not of the database.
        unusable = isinstance(exc, (OperationalError, InterfaceError)) or type(exc) is DatabaseError
        if not unusable:
            raise
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise Unavailable(f"the database {shown} cannot be used: {reason}") from exc
    finally:
        db.dispose()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (IPv6 when ``host`` has a colon), as uvicorn would bind it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)  # for the worker processes, as uvicorn's own binding does
    return sock


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as ``BINWATCH_COLLECTOR_*`` variables, from which a worker process rebuilds them."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if isinstance(secret := getattr(settings, name), SecretStr):
            value = secret.get_secret_value()  # the JSON dump masks it
        if isinstance(value, list | dict):
            env[f"{ENV_PREFIX}{name.upper()}"] = json.dumps(value)
        elif value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def serve(settings: Settings) -> None:
    """Take the port, migrate (or at least reach) the database, then serve until stopped."""
    sock = listen(settings.host, settings.port)
    try:
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from binwatch.collector.db.migrate import current_revision

        if settings.migrate_on_start:
            migrate(settings)
        else:
            with_database(settings, lambda db: current_revision(db.write_engine))
        os.environ.pop(CONFIG_ENV, None)
        os.environ.update(settings_environment(settings.model_copy(update={"migrate_on_start": False})))
        config = uvicorn.Config(
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
        if config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class RunningServer:
    """An app served by ``serve_in_thread``, at ``url`` until ``stop``."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app, port: int = 0, timeout_s: float = 20.0, sock: socket.socket | None = None) -> RunningServer:
    """``app`` under uvicorn on 127.0.0.1 in a daemon thread; returns once it accepts connections.

    The socket is bound here (or by the caller, ``listen``, before it builds the app), so a port
    in use is an ``OSError`` that says so. With ``port=0`` the operating system picks a free
    port, read back from the socket: no other process can take it between choosing it and
    listening on it, as it could with a port probed beforehand.
    """
    import uvicorn

    sock = sock or listen("127.0.0.1", port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="collector", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the collector did not start on 127.0.0.1:{bound_port}")
        time.sleep(0.02)
    return RunningServer(f"http://127.0.0.1:{bound_port}", server, thread)
