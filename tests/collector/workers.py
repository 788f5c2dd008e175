"""Collector worker processes for the tests: ``binwatch collector serve`` with several workers on one
PostgreSQL database, a database of its own for each test, and requests on fresh connections.

Runs only where BINWATCH_TEST_POSTGRES_URL names a server (``bash .ci/postgres.sh`` starts one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

URL = os.environ.get("BINWATCH_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not URL, reason="set BINWATCH_TEST_POSTGRES_URL (bash .ci/postgres.sh starts one)")
BINWATCH = [shutil.which("binwatch", path=str(Path(sys.executable).parent)) or ""]
if not BINWATCH[0]:
    BINWATCH = [sys.executable, "-c", "from binwatch.cli import main; raise SystemExit(main())"]


@contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards; yields its URL."""
    assert URL is not None
    name = f"binwatch_{label}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def serve_environment(database_url: str, data_dir: Path, port: int, workers: int, **settings: str) -> dict[str, str]:
    """This process's environment without its collector settings, plus the ones for ``serve``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINWATCH_COLLECTOR_")}
    env.update(
        {
            "BINWATCH_COLLECTOR_DATABASE_URL": database_url,
            "BINWATCH_COLLECTOR_DATA_DIR": str(data_dir),
            "BINWATCH_COLLECTOR_HOST": "127.0.0.1",
            "BINWATCH_COLLECTOR_PORT": str(port),
            "BINWATCH_COLLECTOR_WORKERS": str(workers),
            "BINWATCH_COLLECTOR_MIGRATE_ON_START": "false",
            "BINWATCH_COLLECTOR_LOG_LEVEL": "info",  # uvicorn names each worker's pid at this level
            **{f"BINWATCH_COLLECTOR_{name.upper()}": value for name, value in settings.items()},
        }
    )
    return env


class Server:
    """``binwatch collector serve`` in its own process group, its log read by a thread."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [*BINWATCH, "collector", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip("\n"))

    def worker_pids(self) -> list[int]:
        return [int(m.group(1)) for line in self.log if (m := re.search(r"Started server process \[(\d+)\]", line))]

    def wait_ready(self, url: str, workers: int, timeout: float = 30.0) -> None:
        """Until every worker has started its app and the health check answers."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "the server exited:\n" + "\n".join(self.log)
            started = sum("Application startup complete" in line for line in self.log)
            if started >= workers:
                try:
                    with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
                        if response.status == 200:
                            return
                except OSError:
                    pass
            assert time.monotonic() < deadline, "the server did not become ready:\n" + "\n".join(self.log)
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)


def post(
    url: str,
    token: str,
    body: bytes,
    path: str = "/api/v1/events",
    method: str = "POST",
    content_type: str = "application/json",
) -> tuple[int, dict]:
    """One request on a connection of its own (so any worker may take it); the status and the JSON answer."""
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}{path}", data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def tcp_connections(pid: int, *, local_port: int | None = None, remote_port: int | None = None) -> int:
    """Established TCP connections of process ``pid`` with this local or remote port (Linux ``/proc``)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if fields[3] == "01" and local_port in (None, local) and remote_port in (None, remote):
                inodes.add(fields[9])
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.startswith("socket:[") and target[len("socket:[") : -1] in inodes
    return count
