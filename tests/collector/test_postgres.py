"""The collector on PostgreSQL: migrations, ingest under contention, review, statistics, registry.

Runs only where BINWATCH_TEST_POSTGRES_URL names a server; ``bash .ci/postgres.sh`` starts one
and prints its URL. Each run works in a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from binwatch.collector.app import create_app
from binwatch.collector.auth import DeviceIdentity
from binwatch.collector.ingest import ingest
from binwatch.collector.settings import Settings
from tests.collector.support import World, jpeg, make_event, provision

URL = os.environ.get("BINWATCH_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="set BINWATCH_TEST_POSTGRES_URL (bash .ci/postgres.sh starts one)")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    name = f"binwatch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg_world(pg_url, tmp_path_factory) -> Iterator[World]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("pg") / "data", database_url=pg_url))
    entity_id, tokens, users = provision(app)
    with TestClient(app) as client:
        yield World(app, client, entity_id, tokens, users)
    app.state.db.dispose()


def test_migrated_schema_matches_the_tables(pg_world):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from binwatch.collector.db.tables import Base

    assert not pg_world.app.state.db.is_sqlite
    with pg_world.app.state.db.write_engine.connect() as connection:
        assert (
            compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata) == []
        )


def test_ingest_review_stats_on_postgres(pg_world):
    world = pg_world
    crop = jpeg(50, 30)
    body = make_event(evidence={"crop": crop}, item="plastic_bag", flags=("kitchen_contamination",))
    world.post_event(body)
    assert world.client.post("/api/v1/events", json=body, headers=world.device()).status_code == 200
    assert world.client.post("/api/v1/events", json={**body, "flags": []}, headers=world.device()).status_code == 409
    assert world.upload(body, "crop", crop).status_code == 201
    world.post_event(make_event(item="food_waste", flags=()))
    assert (
        world.client.post(
            "/api/v1/events", json=make_event(model_version="m\u0000"), headers=world.device()
        ).status_code
        == 422
    )

    event = body["event_id"]
    assert (
        world.client.post(
            f"/api/v1/events/{event}/review", json={"action": "correct", "item": "eggshell"}, headers=world.user()
        ).status_code
        == 200
    )
    stats = world.client.get("/api/v1/stats", params={"by": "day"}, headers=world.user()).json()
    assert stats["total"]["disposals"] == 2 and stats["total"]["compliance_rate"] == 1.0
    assert stats["rows"][0]["key"] == "2026-11-20"
    ledger = world.client.get("/api/v1/ledger.csv", headers=world.user()).text
    assert "2026-11-20,site-a" in ledger
    export = world.client.get("/api/v1/export/reviewed.zip", headers=world.user("admin"))
    assert export.headers["x-exported"] == "1"
    assert world.client.post(f"/api/v1/events/{event}/undo", json={}, headers=world.user()).status_code == 200
    page = world.client.get(
        "/api/v1/events", params={"flag": "kitchen_contamination", "limit": 1}, headers=world.user()
    ).json()
    assert [e["event_id"] for e in page["events"]] == [event]

    model = b"\x08\x08" + b"\x00" * 100
    import hashlib

    r = world.client.post(
        "/api/v1/models",
        data={"version": "v1", "sha256": hashlib.sha256(model).hexdigest()},
        files={"file": ("v1.onnx", model)},
        headers=world.user("admin"),
    )
    assert r.status_code == 201
    assert world.client.post("/api/v1/models/v1/current", headers=world.user("admin")).status_code == 200
    assert world.client.get("/api/v1/device/model", headers=world.device()).json()["version"] == "v1"


def test_concurrent_copies_of_one_event_store_it_once(pg_world):
    """The same new event from several connections at once: one insert wins, the others see it."""
    db, settings = pg_world.app.state.db, pg_world.app.state.settings
    body = make_event(item="food_waste", flags=())
    from binwatch.events.schema import Event

    event = Event.model_validate(body)
    device = DeviceIdentity("dev-a", "site-a")
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        try:
            results.append(
                ingest(
                    db,
                    device,
                    event,
                    bins={"k1": "kitchen"},
                    zone=settings.zone,
                    max_evidence_bytes=settings.max_evidence_bytes,
                )
            )
        except Exception as exc:  # noqa: BLE001 - any error is the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.created for r in results) == 1 and len({r.received_at for r in results}) == 1


def test_queue_counts_neighbours_and_batch_review_on_postgres(pg_world):
    """The queue's facet counts (FILTER, grouping by local day) and a batch verdict, on PostgreSQL."""
    import datetime as dt

    world = pg_world
    bodies = [
        make_event("dev-b", flags=("mixed_disposal",), started_at=dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC)),
        make_event("dev-b", flags=("uncertain",), started_at=dt.datetime(2026, 11, 21, 17, tzinfo=dt.UTC)),
        make_event("dev-b", flags=("off_hours", "uncertain"), started_at=dt.datetime(2026, 11, 21, 18, tzinfo=dt.UTC)),
    ]
    for body in bodies:
        world.post_event(body)
    counts = world.client.get("/api/v1/events/counts", params={"site_id": "site-b"}, headers=world.user()).json()
    assert counts["total"] == 3 and counts["by_severity"] == {"violation": 2, "review": 1}
    assert counts["by_flag"] == {"mixed_disposal": 1, "uncertain": 2, "off_hours": 1}
    assert counts["by_day"] == {"2026-11-22": 2, "2026-11-20": 1}
    ids = [b["event_id"] for b in bodies]
    from binwatch.collector.db.tables import Event
    from binwatch.collector.search import EventFilter, neighbours

    with world.app.state.db.read() as session:
        newer, older = neighbours(session, EventFilter(site_id="site-b"), session.get_one(Event, ids[1]))
        assert (newer.id, older.id) == (ids[2], ids[0])
    r = world.client.post("/api/v1/reviews", json={"event_ids": ids[:2], "action": "confirm"}, headers=world.user())
    assert r.status_code == 200 and len(r.json()) == 2
    counts = world.client.get(
        "/api/v1/events/counts", params={"site_id": "site-b", "severity": "violation"}, headers=world.user()
    ).json()
    assert counts["total"] == 1 and counts["by_day"] == {"2026-11-22": 1}
