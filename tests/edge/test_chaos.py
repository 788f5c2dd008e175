"""Chaos: the agent and the real collector killed with SIGKILL, again and again, while a scene plays.

``binwatch edge run`` plays a rendered scene (8 disposals, 21 s) at its frame rate, as a camera would, and
delivers to ``binwatch collector serve`` (SQLite). In each round the agent is killed at a random moment of
the scene, and in most rounds the collector too, at an earlier one, and started again; then the agent runs
to the end with the collector killed once more on the way. Afterwards the collector holds each disposal
exactly once (0 lost, 0 duplicated: the file's event ids do not change across restarts), every event the box
committed is there and delivered, and every evidence file it declared was uploaded with bytes whose SHA-256
is the one declared.

Bounded: a fixed number of rounds from a seeded random generator, and a time limit on the last run. The
figures it prints ("chaos: {...}") are in the README's reliability section.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from binwatch.collector.app import create_app
from binwatch.collector.evidence import evidence_key
from binwatch.collector.provisioning import create_device, create_entity, create_site
from binwatch.collector.settings import Settings
from binwatch.edge.config import dump
from tests.edge import scene
from tests.edge.conftest import DROPS
from tests.edge.test_end_to_end import start
from tests.servers import free_port

pytestmark = pytest.mark.slow

SEED = 12
ROUNDS = 5
AGENT_KILL_S = (3.0, 15.0)  # after its start: start-up takes about 3 s, the scene plays for 21 s
FINAL_RUN_S = 90.0  # the last run plays the scene and delivers; on a quiet machine about 30 s
EXPECTED = sum(d.item is not None for d in DROPS)


class Collector:
    """``binwatch collector serve`` in its own process, on one port and one data folder across restarts."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.port = data_dir, free_port()
        self.process: subprocess.Popen | None = None
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "binwatch",
                "collector",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "BINWATCH_COLLECTOR_LOG_LEVEL": "warning"},
        )

    def wait_up(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1)
                return
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, "the collector did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1


def provision(data_dir: Path) -> str:
    app = create_app(Settings(data_dir=data_dir))
    with app.state.db.write() as session:
        entity = create_entity(session, name="Chaos Property Co.", type="property_company")
        bins = {b: c for b, c, _ in scene.BINS}
        create_site(session, site_id="site-1", name="Block 1", address="1 Road", entity_id=entity.id, bins=bins)
        _, token = create_device(session, device_id="box-1", site_id="site-1")
    app.state.db.dispose()
    return token


def test_agent_and_collector_killed_again_and_again_lose_nothing_and_duplicate_nothing(scene_video, tmp_path):
    started = time.monotonic()
    rng = random.Random(SEED)
    collector = Collector(tmp_path / "collector")
    token = provision(collector.data_dir)
    config = tmp_path / "site.toml"
    # played at its frame rate, so that every kill lands mid-scene however fast the machine decodes
    site = scene.site(tmp_path, scene_video, url=collector.url, collector={"retry_max_s": 1}, camera={"realtime": True})
    dump(site.model_copy(update={"collector": site.collector.model_copy(update={"token": token})}), config)
    collector.start()
    collector.wait_up()
    agent_kills = 0
    try:
        for _ in range(ROUNDS):
            box = start(config)
            round_started, agent_kill_at = time.monotonic(), rng.uniform(*AGENT_KILL_S)
            if rng.random() < 0.7:
                time.sleep(rng.uniform(1.0, agent_kill_at - 1.5))
                collector.kill()
                time.sleep(rng.uniform(0.2, 1.5))
                collector.start()
            time.sleep(max(0.0, agent_kill_at - (time.monotonic() - round_started)))
            if box.poll() is None:
                box.send_signal(signal.SIGKILL)
                agent_kills += 1
            box.communicate()
        box = start(config)  # the last run plays to the end and delivers everything
        time.sleep(4.0)
        collector.kill()
        time.sleep(1.0)
        collector.start()
        _, err = box.communicate(timeout=FINAL_RUN_S)
        assert box.returncode == 0, err[-3000:]
    finally:
        if collector.process.poll() is None:
            collector.process.terminate()
            collector.process.wait(timeout=20)
    seconds = time.monotonic() - started

    outbox = sqlite3.connect(f"{(tmp_path / 'store' / 'outbox.sqlite3').as_uri()}?mode=ro", uri=True)
    committed = dict(outbox.execute("SELECT event_id, state FROM events").fetchall())
    database = sqlite3.connect(f"{(collector.data_dir / 'collector.sqlite3').as_uri()}?mode=ro", uri=True)
    stored = dict(database.execute("SELECT id, body FROM events").fetchall())
    evidence = database.execute("SELECT event_id, kind, sha256, size, uploaded_at FROM evidence").fetchall()

    assert len(stored) == EXPECTED  # each disposal once: none lost, none counted twice
    assert set(stored) == set(committed) and set(committed.values()) == {"delivered"}
    verified = 0
    for event_id, kind, sha256, size, uploaded_at in evidence:
        declared = {e["kind"]: e for e in json.loads(stored[event_id])["evidence"]}[kind]
        assert (declared["sha256"], declared["size"]) == (sha256, size)
        assert uploaded_at is not None, f"the {kind} of {event_id} never arrived"
        data = (collector.data_dir / "blobs" / evidence_key(event_id, kind)).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256 and len(data) == size
        verified += 1
    flagged = [event_id for event_id, body in stored.items() if json.loads(body)["flags"]]
    assert verified >= EXPECTED and len(flagged) >= 3
    assert list((tmp_path / "store" / "evidence").iterdir()) == []  # nothing left waiting on the box
    assert agent_kills >= ROUNDS - 1 and collector.kills >= 3
    figures = {
        "seed": SEED,
        "agent_kills": agent_kills,
        "collector_kills": collector.kills,
        "disposals_in_scene": EXPECTED,
        "events_stored": len(stored),
        "lost": len(set(committed) - set(stored)),
        "duplicated": len(stored) - EXPECTED,
        "evidence_files_verified": verified,
        "seconds": round(seconds, 1),
    }
    print(f"chaos: {json.dumps(figures)}")
