"""What the workers of a city share, tested with several processes on one PostgreSQL database.

Two ``binwatch collector serve`` workers with the S3 store (moto's server on loopback): the
login throttle counts the attempts of both together, a revoked device token is refused by
both within ``AUTH_CACHE_S``, and two uploads of one model version through the two workers
at once store one file. Requests are pinned to a worker by holding keep-alive connections
whose server side ``/proc`` shows in that worker's process. Besides: processes migrating one
fresh database at once take turns, and two retention sweeps at once delete each file once.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text, update
from urllib3 import encode_multipart_formdata

from binwatch.collector.auth import DeviceIdentity
from binwatch.collector.blobs import LocalBlobStore
from binwatch.collector.db.engine import Database
from binwatch.collector.db.migrate import MIGRATION_LOCK, current_revision, head_revision
from binwatch.collector.db.tables import Base, EvidenceFile, utcnow
from binwatch.collector.evidence import evidence_key
from binwatch.collector.ingest import ingest
from binwatch.collector.provisioning import create_device, create_entity, create_site, create_user
from binwatch.collector.retention import count_due, sweep
from binwatch.collector.server import migrate
from binwatch.collector.settings import Settings
from binwatch.events.schema import Event
from tests.collector.objectstore import S3Bucket
from tests.collector.support import PASSWORDS, jpeg, make_event, sha
from tests.collector.workers import BINWATCH, Server, fresh_database, needs_postgres, serve_environment, tcp_connections
from tests.servers import free_port

pytestmark = needs_postgres

MAX_FAILURES = 3
AUTH_CACHE_S = 2.0


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database("shared") as url:
        yield url


class Pinned:
    """A keep-alive connection that one worker process accepted: every request on it goes to that worker."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.request("GET", "/api/v1/health")  # accepted by a worker once it answers
        assert self.connection.sock is not None
        self.client_port = self.connection.sock.getsockname()[1]

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, dict]:
        self.connection.request(method, path, body=body or None, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}

    def close(self) -> None:
        self.connection.close()


@dataclass
class City:
    url: str
    server: Server
    workers: dict[int, Pinned]  # worker pid -> a connection it serves
    device_tokens: dict[str, str]
    admin: dict[str, str]

    def each(self) -> list[Pinned]:
        return list(self.workers.values())


def pin_connections(port: int, pids: list[int], tries: int = 60) -> dict[int, Pinned]:
    """One connection on each worker: connect until the kernel has handed one to every worker."""
    found: dict[int, Pinned] = {}
    for _ in range(tries):
        pinned = Pinned(port)
        owners = [pid for pid in pids if tcp_connections(pid, local_port=port, remote_port=pinned.client_port)]
        if len(owners) == 1 and owners[0] not in found:
            found[owners[0]] = pinned
            if len(found) == len(pids):
                return found
        else:
            pinned.close()
    pytest.fail(f"could not reach every worker: {sorted(found)} of {pids}")


@pytest.fixture(scope="module")
def city_bucket(s3_endpoint: str) -> S3Bucket:
    return S3Bucket.create(s3_endpoint)


@pytest.fixture(scope="module")
def city(tmp_path_factory, city_bucket: S3Bucket) -> Iterator[City]:
    """Started once for the tests that use it: each uses names and addresses of its own."""
    with fresh_database("city") as pg_url:
        yield from _serve_city(pg_url, tmp_path_factory.mktemp("city"), city_bucket)


def _serve_city(pg_url: str, tmp_path, bucket: S3Bucket) -> Iterator[City]:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    migrate(settings)
    db = Database(pg_url)
    try:
        with db.write() as session:
            entity = create_entity(session, name="City property company", type="property_company")
            create_site(session, site_id="s1", name="S1", address="1 Road", entity_id=entity.id, bins={"k": "kitchen"})
            tokens = {f"d{i}": create_device(session, device_id=f"d{i}", site_id="s1")[1] for i in range(2)}
            create_user(session, username="admin", password=PASSWORDS["admin"], role="admin")
            create_user(session, username="rita", password=PASSWORDS["rita"], role="reviewer")
    finally:
        db.dispose()
    port = free_port()
    env = serve_environment(
        pg_url,
        tmp_path / "data",
        port,
        2,
        login_max_failures=str(MAX_FAILURES),
        auth_cache_s=str(AUTH_CACHE_S),
        forwarded_allow_ips="127.0.0.1",  # each attempt below comes "from" an address of its own
    )
    env.update(bucket.environment())
    server = Server(env)
    url = f"http://127.0.0.1:{port}"
    workers: dict[int, Pinned] = {}
    try:
        server.wait_ready(url, 2)
        workers = pin_connections(port, server.worker_pids())
        status, login = workers[next(iter(workers))].request(
            "POST",
            "/api/v1/auth/login",
            json.dumps({"username": "admin", "password": PASSWORDS["admin"]}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200, login
        yield City(url, server, workers, tokens, {"Authorization": f"Bearer {login['token']}"})
    finally:
        for pinned in workers.values():
            pinned.close()
        server.stop()


def at_once(*calls) -> None:
    """Run each call in a thread of its own, all started together; return when all are done."""
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def attempt(pinned: Pinned, username: str, password: str, address: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    return pinned.request("POST", "/api/v1/auth/login", body, headers)[0]


def test_the_workers_count_failed_logins_together(city: City):
    """Each worker counting alone would allow 2 x 3 failures here; together they allow 3."""
    a, b = city.each()
    statuses = [attempt((a, b)[i % 2], "rita", "wrong-password", f"10.0.0.{i}") for i in range(8)]
    assert statuses == [401] * MAX_FAILURES + [429] * (8 - MAX_FAILURES)
    assert attempt(b, "rita", PASSWORDS["rita"], "10.0.1.1") == 429  # blocked: the password is not even checked
    assert attempt(a, "rita", PASSWORDS["rita"], "10.0.1.2") == 429
    # One address trying several names is limited as well, by both workers together.
    statuses = [attempt((a, b)[i % 2], f"guess{i}", "wrong-password", "10.0.2.1") for i in range(6)]
    assert statuses == [401] * MAX_FAILURES + [429] * (6 - MAX_FAILURES)
    assert attempt(b, "admin", PASSWORDS["admin"], "10.0.3.1") == 200  # others are not affected


def test_failed_logins_at_once_get_no_more_tries(city: City):
    """16 guesses at the same moment over 16 connections: at most 3 passwords are checked."""
    port = int(city.url.rsplit(":", 1)[1])
    connections = [Pinned(port) for _ in range(16)]
    barrier = threading.Barrier(len(connections))
    statuses: list[int] = []

    def guess(i: int) -> None:
        barrier.wait()
        statuses.append(attempt(connections[i], "remy", f"guess-{i}", f"10.1.0.{i}"))

    at_once(*(lambda i=i: guess(i) for i in range(len(connections))))
    for c in connections:
        c.close()
    assert len(statuses) == 16 and set(statuses) <= {401, 429}
    assert statuses.count(401) <= MAX_FAILURES


def test_a_revoked_token_is_refused_by_every_worker_within_the_cache_time(city: City):
    beat = json.dumps(
        {
            "device_id": "d0",
            "site_id": "s1",
            "sent_at": dt.datetime.now(dt.UTC).isoformat(),
            "model_version": "m-1",
            "camera_state": "streaming",
            "fps": 15.0,
            "outbox_depth": 0,
        }
    ).encode()
    device = {"Authorization": f"Bearer {city.device_tokens['d0']}", "Content-Type": "application/json"}
    a, b = city.each()
    assert [p.request("POST", "/api/v1/heartbeats", beat, device)[0] for p in (a, b)] == [200, 200]  # both cache it

    status, _ = a.request("POST", "/api/v1/devices/d0/revoke", b"", city.admin)
    revoked = time.monotonic()
    assert status == 200
    assert a.request("POST", "/api/v1/heartbeats", beat, device)[0] == 401  # the worker that revoked: at once
    answers = []  # (seconds since the revocation, status) from the other worker
    while time.monotonic() - revoked < AUTH_CACHE_S + 1.5:
        answers.append((time.monotonic() - revoked, b.request("POST", "/api/v1/heartbeats", beat, device)[0]))
        time.sleep(0.05)
    accepted = [t for t, status in answers if status == 200]
    assert all(t < AUTH_CACHE_S + 0.5 for t in accepted), answers  # the stated bound, with room for a slow request
    assert [status for t, status in answers if t >= AUTH_CACHE_S + 0.5] and all(
        status == 401 for t, status in answers if t >= AUTH_CACHE_S + 0.5
    )
    other = {"Authorization": f"Bearer {city.device_tokens['d1']}", "Content-Type": "application/json"}
    beat1 = beat.replace(b'"d0"', b'"d1"')
    assert [p.request("POST", "/api/v1/heartbeats", beat1, other)[0] for p in (a, b)] == [200, 200]


def test_one_version_uploaded_through_two_workers_at_once_is_stored_once(city: City, city_bucket: S3Bucket):
    bucket = city_bucket
    a, b = city.each()
    for round_ in range(3):
        version = f"race-{round_}"
        files = [b"\x08\x08" + bytes([i]) * (4 * 1024 * 1024) for i in (1, 2)]
        statuses: dict[int, int] = {}
        barrier = threading.Barrier(2)
        forms = [
            encode_multipart_formdata({"version": version, "sha256": sha(data), "file": ("m.onnx", data)})
            for data in files
        ]

        def upload(i: int, forms=forms, barrier=barrier, statuses=statuses) -> None:
            body, content_type = forms[i]
            barrier.wait()
            statuses[i] = (a, b)[i].request(
                "POST", "/api/v1/models", body, {**city.admin, "Content-Type": content_type}
            )[0]

        at_once(lambda: upload(0), lambda: upload(1))
        assert sorted(statuses.values()) == [201, 409], statuses
        winner = files[next(i for i, status in statuses.items() if status == 201)]
        assert (
            bucket.sha256(f"models/{version}.onnx")
            == sha(winner)
            == bucket.metadata(f"models/{version}.onnx")["sha256"]
        )
        listed = {m["version"]: m["sha256"] for m in a.request("GET", "/api/v1/models", b"", city.admin)[1]}
        assert listed[version] == sha(winner)
    assert sorted(bucket.objects()) == [f"models/race-{i}.onnx" for i in range(3)]  # nothing of the losers


def test_processes_migrating_one_fresh_database_at_once_take_turns(pg_url, tmp_path):
    runs = [
        subprocess.Popen(
            [*BINWATCH, "collector", "migrate", "--data-dir", str(tmp_path / f"d{i}"), "--database-url", pg_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 3, results
    engine = create_engine(pg_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_a_migration_waits_while_another_holds_the_lock(pg_url, tmp_path):
    holder = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with holder.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        run = subprocess.Popen(
            [*BINWATCH, "collector", "migrate", "--data-dir", str(tmp_path), "--database-url", pg_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)
            assert run.poll() is None  # waiting for the lock
            assert connection.scalar(text("SELECT to_regclass('alembic_version')")) is None  # and nothing done yet
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        out, err = run.communicate(timeout=120)
    holder.dispose()
    assert run.returncode == 0, err
    assert "another process is migrating the database" in err and "database at revision" in out


class SlowDeletes(LocalBlobStore):
    """A store whose deletes take a while, so that two sweeps overlap; it counts them."""

    def __init__(self, root):
        super().__init__(root)
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def delete(self, key: str) -> None:
        time.sleep(0.002)
        with self.lock:
            self.deleted.append(key)
        super().delete(key)


def test_two_sweeps_at_once_share_the_work(pg_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    migrate(settings)
    store = SlowDeletes(tmp_path / "blobs")
    db = Database(pg_url)
    with db.write() as session:
        entity = create_entity(session, name="E", type="property_company")
        create_site(session, site_id="s1", name="S1", address="1 Road", entity_id=entity.id, bins={"k": "kitchen"})
        create_device(session, device_id="d0", site_id="s1")
    crop = jpeg(seed=5)
    for _ in range(250):
        body = make_event("d0", bin_id="k", item="food_waste", flags=(), evidence={"crop": crop}, site_id="s1")
        event = Event.model_validate(body)
        ingest(
            db, DeviceIdentity("d0", "s1"), event, bins={"k": "kitchen"}, zone=settings.zone, max_evidence_bytes=10**6
        )
        store.put(evidence_key(body["event_id"], "crop"), io.BytesIO(crop), sha(crop))
    with db.write() as session:
        session.execute(update(EvidenceFile).values(uploaded_at=utcnow() - dt.timedelta(days=40)))
    assert count_due(db, settings).files == 250
    sweepers = [Database(pg_url) for _ in range(2)]  # two workers: two pools
    results = []
    at_once(*(lambda d=d: results.append(sweep(d, store, settings)) for d in sweepers))
    for d in sweepers:
        d.dispose()
    assert sum(r.files for r in results) == 250 and all(r.files > 0 for r in results)  # both worked
    assert len(store.deleted) == len(set(store.deleted)) == 250  # each file deleted once
    assert count_due(db, settings).files == 0 and list(store.keys()) == []
    db.dispose()
