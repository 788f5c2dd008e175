"""Scale-out: two uvicorn workers on one PostgreSQL database, fed by the load generator.

The deployment path of the README's scale-out section: the database is migrated once, then
``binwatch collector serve`` starts two worker processes with ``MIGRATE_ON_START=false``.
Simulated devices post events, half of them twice at once over two connections (at-least-once
delivery from the boxes), so that copies of one event can reach both workers together.
Afterwards the database must hold every acknowledged event exactly once and nothing else.

Runs only where BINWATCH_TEST_POSTGRES_URL names a server (``bash .ci/postgres.sh`` starts
one); the test works in a database of its own, dropped afterwards. Bounded: at most
``REQUESTS`` requests in ``DURATION_S`` seconds, and well under a minute in all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from benchmarks.collector_loadgen import SimDevice, register_fleet, run
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Event, EvidenceFile
from binwatch.collector.provisioning import create_user
from binwatch.collector.server import migrate
from binwatch.collector.settings import Settings
from tests.collector.support import make_event
from tests.collector.workers import Server, fresh_database, needs_postgres, post, serve_environment, tcp_connections
from tests.servers import free_port

pytestmark = needs_postgres

WORKERS = 2
DEVICES = 24
SITES = 4
REQUESTS = 8000
DURATION_S = 20.0
RESEND = 0.5
PASSWORD = "reviewer-password-1"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database("scale") as url:
        yield url


def provision(db: Database) -> list[SimDevice]:
    with db.write() as session:
        devices = register_fleet(session, DEVICES, SITES, "Scale-out property company")
        create_user(session, username="rita", password=PASSWORD, role="reviewer")
    return devices


class ConnectionSampler(threading.Thread):
    """While the load runs: how the clients' connections are spread over the workers (the busiest sample)."""

    def __init__(self, pids: list[int], port: int):
        super().__init__(daemon=True)
        self.pids, self.port = pids, port
        self.spread = dict.fromkeys(pids, 0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            sample = {pid: tcp_connections(pid, local_port=self.port) for pid in self.pids}
            if sum(sample.values()) > sum(self.spread.values()):
                self.spread = sample

    def stop(self) -> dict[int, int]:
        self.done.set()
        self.join(timeout=5)
        return self.spread


def test_two_workers_on_one_postgres_store_every_acknowledged_event_once(pg_url, tmp_path):
    started = time.monotonic()
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    migrate(settings)  # what `binwatch collector migrate` does, once, before the workers start
    db = Database(pg_url)
    try:
        devices = provision(db)
    finally:
        db.dispose()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = serve_environment(pg_url, tmp_path / "data", port, WORKERS)
    server = Server(env)
    try:
        server.wait_ready(url, WORKERS)
        pids = server.worker_pids()
        observable = Path("/proc/net/tcp").exists()
        sampler = ConnectionSampler(pids, port)
        if observable:
            sampler.start()
        try:
            results = asyncio.run(
                run(url, devices, target="events", requests=REQUESTS, duration=DURATION_S, resend=RESEND, record=True)
            )
        finally:
            client_connections = sampler.stop() if observable else None

        # A box that lost an answer long ago re-sends the stored event: 200, the same acknowledgement.
        db = Database(pg_url)
        with db.read() as session:
            sample = session.execute(select(Event.id, Event.device_id, Event.body, Event.received_at).limit(20)).all()
        db.dispose()
        tokens = {d.device_id: d.token for d in devices}
        originals = {row.id: row.body for row in sample}
        for row in sample:
            status, ack = post(url, tokens[row.device_id], row.body.encode())
            assert (status, ack["duplicate"]) == (200, True)
            assert dt.datetime.fromisoformat(ack["received_at"]) == row.received_at
            # the same id with another body is refused and changes nothing
            changed = {**json.loads(row.body), "model_version": "changed"}
            assert post(url, tokens[row.device_id], json.dumps(changed).encode())[0] == 409

        # Two different bodies under one new id at once: one is stored, the other is a conflict.
        winners = {}  # event id -> whether the stored body is the flagged one
        for _ in range(8):
            plain = make_event("dev-2", bin_id="bin-kitchen", item="food_waste", flags=(), model_version="scale-out")
            plain["site_id"] = "site-2"
            flagged = {**plain, "flags": ["off_hours"]}
            statuses: dict[bool, int] = {}

            def send(body: dict, statuses: dict[bool, int] = statuses) -> None:
                statuses[bool(body["flags"])] = post(url, tokens["dev-2"], json.dumps(body).encode())[0]

            threads = [threading.Thread(target=send, args=(body,)) for body in (plain, flagged)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(statuses.values()) == [201, 409]
            winners[plain["event_id"]] = statuses[True] == 201

        # A login lives in the database, not in a worker: no sticky sessions. Each request below
        # opens a connection of its own, which either worker may accept.
        credentials = json.dumps({"username": "rita", "password": PASSWORD}).encode()
        status, login = post(url, "", credentials, "/api/v1/auth/login")
        assert status == 200
        for _ in range(10):
            assert post(url, login["token"], b"", "/api/v1/auth/me", "GET") == (200, login["user"])
        assert post(url, login["token"], b"", "/api/v1/auth/logout")[0] == 204
        for _ in range(10):  # ended at once for every worker
            assert post(url, login["token"], b"", "/api/v1/auth/me", "GET")[0] == 401

        database_port = make_url(pg_url).port or 5432
        pool_connections = (
            {pid: tcp_connections(pid, remote_port=database_port) for pid in pids}
            if observable and make_url(pg_url).host
            else None
        )
    finally:
        server.stop()

    # What the load generator was told, copy by copy.
    answers = results.answers
    assert results.errors == 0 and set(results.statuses) <= {200, 201}, results.summary()
    acknowledged = {event_id for event_id, statuses in answers.items() if any(200 <= s < 300 for s in statuses)}
    assert acknowledged == set(answers)  # every copy of every event was answered with a 2xx
    assert all(sorted(s) in ([201], [200, 201]) for s in answers.values())  # created exactly once each
    assert sum(len(s) == 2 for s in answers.values()) == results.resent > 0

    # What the database holds.
    db = Database(pg_url)
    try:
        with db.read() as session:
            stored = session.scalars(select(Event.id).where(Event.model_version == "loadgen")).all()
            evidence = session.scalar(
                select(func.count())
                .select_from(EvidenceFile)
                .join(Event, Event.id == EvidenceFile.event_id)
                .where(Event.model_version == "loadgen")
            )
            stored_conflicts = dict(
                session.execute(select(Event.id, Event.flagged).where(Event.model_version == "scale-out")).all()
            )
            bodies = select(Event.id, Event.body).where(Event.id.in_(list(originals)))
            resent_bodies = dict(session.execute(bodies).all())
    finally:
        db.dispose()
    duplicates = len(stored) - len(set(stored))
    lost = acknowledged - set(stored)
    unsent = set(stored) - set(answers)
    assert duplicates == 0 and not lost and not unsent
    assert len(stored) == len(acknowledged) == evidence  # one row and one declared crop per event
    assert stored_conflicts == winners  # the copy that got 201 is the one stored
    assert resent_bodies == originals  # a 409 changed nothing

    # Both workers served: each accepted some of the load generator's connections, and each holds
    # database connections of its own pool (a worker opens none until a request needs one).
    assert len(pids) == WORKERS
    if client_connections is not None:
        assert all(n > 0 for n in client_connections.values()), client_connections
    if pool_connections is not None:
        assert all(n > 0 for n in pool_connections.values()), pool_connections

    summary = results.summary()
    figures = {
        "workers": WORKERS,
        "devices": DEVICES,
        "events_sent": results.events,
        "resent": results.resent,
        "requests": summary["requests"],
        "statuses": summary["statuses"],
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "duplicates": duplicates,
        "lost": len(lost),
        "elapsed_s": summary["elapsed_s"],
        "events_per_s": round(len(stored) / results.elapsed_s, 1),
        "requests_per_s": summary["ok_per_s"],
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "client_connections_per_worker": client_connections,
        "database_connections_per_worker": pool_connections,
        "test_s": round(time.monotonic() - started, 1),
    }
    print("scale-out:", json.dumps(figures))
