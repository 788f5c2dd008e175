"""Nothing acknowledged is lost: kill the server mid-stream, and every acknowledged event is in the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from sqlalchemy import select

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Event
from binwatch.collector.server import settings_environment
from tests.collector.support import make_event
from tests.servers import free_port


def post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{url}/api/v1/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_kill_during_ingest_loses_no_acknowledged_event(settings, template):
    port = free_port()
    env = {**os.environ, **settings_environment(settings.model_copy(update={"port": port, "log_level": "warning"}))}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from binwatch.collector.server import serve; from binwatch.collector.settings import Settings; "
            "serve(Settings())",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v1/health", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.1)

        acknowledged: list[str] = []
        stop = threading.Event()

        def sender(device: str) -> None:
            token = template.device_tokens[device]
            while not stop.is_set():
                body = make_event(device, item="food_waste", flags=())
                try:
                    if post(url, token, body) == 201:
                        acknowledged.append(body["event_id"])
                except (OSError, urllib.error.URLError):
                    return  # the server is gone: this answer never came, so nothing was promised

        threads = [threading.Thread(target=sender, args=(d,)) for d in ("dev-a", "dev-a2")]
        for t in threads:
            t.start()
        while len(acknowledged) < 150:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    db = Database(settings.db_url)
    with db.read() as session:
        stored = set(session.scalars(select(Event.id)))
    db.dispose()
    assert len(acknowledged) >= 150
    assert set(acknowledged) <= stored
