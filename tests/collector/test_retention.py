"""Evidence retention: which files go when, that only files go (statistics and ledger keep every row),
and what the API, the pages, the export and a late upload see afterwards."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from binwatch.cli import main
from binwatch.collector.app import create_app
from binwatch.collector.db.tables import Event, EvidenceFile, utcnow
from binwatch.collector.evidence import evidence_key
from binwatch.collector.retention import count_due, sweep
from binwatch.collector.settings import Settings
from tests.collector.support import World, jpeg, make_event
from tests.collector.test_web import browser

DAY = dt.timedelta(days=1)

# name: (flags, review, days since the files arrived, days since the review, kept?) with the defaults of
# 30 days for compliant events and 365 for upheld violations
CASES = {
    "quiet, old": ((), None, 31, None, False),
    "quiet, recent": ((), None, 29, None, True),
    "flagged, waiting for review": (("kitchen_contamination",), None, 400, None, True),
    "rejected long ago": (("kitchen_contamination",), "reject", 60, 31, False),
    "rejected lately": (("kitchen_contamination",), "reject", 60, 10, True),
    "confirmed lately": (("kitchen_contamination",), "confirm", 120, 100, True),
    "confirmed long ago": (("kitchen_contamination",), "confirm", 400, 366, False),
    "file late after its review": (("kitchen_contamination",), "reject", 5, 100, True),
    "corrected into a violation": ((), "correct", 50, 40, True),
}


def age(world: World, event_id: str, arrived_days: int, reviewed_days: int | None) -> None:
    """Move an event's arrival, its files' arrival and its review back in time."""
    now = utcnow()
    with world.app.state.db.write() as session:
        session.execute(
            update(EvidenceFile).where(EvidenceFile.event_id == event_id).values(uploaded_at=now - arrived_days * DAY)
        )
        values = {"received_at": now - arrived_days * DAY}
        if reviewed_days is not None:
            values["reviewed_at"] = now - reviewed_days * DAY
        session.execute(update(Event).where(Event.id == event_id).values(**values))


@pytest.fixture
def aged(world: World) -> dict[str, tuple[str, bytes]]:
    """One event per case, each with an uploaded crop: name -> (event id, crop)."""
    made = {}
    for i, (name, (flags, review, arrived, reviewed, _kept)) in enumerate(CASES.items()):
        crop = jpeg(seed=i)
        item = "plastic_bag" if flags else "food_waste"
        body = make_event(item=item, flags=flags, evidence={"crop": crop})
        world.post_event(body)
        assert world.upload(body, "crop", crop).status_code == 201
        if review is not None:
            action = {"action": review, **({"item": "battery"} if review == "correct" else {})}
            r = world.client.post(f"/api/v1/events/{body['event_id']}/review", json=action, headers=world.user())
            assert r.status_code == 200, r.text
        age(world, body["event_id"], arrived, reviewed)
        made[name] = (body["event_id"], crop)
    return made


def test_only_the_files_whose_time_has_come_go(world: World, aged):
    app, store = world.app, world.app.state.store
    settings = app.state.settings
    expected_gone = {name for name, case in CASES.items() if not case[-1]}
    before = {
        path: world.client.get(path, headers=world.user()).content for path in ("/api/v1/stats", "/api/v1/ledger.csv")
    }

    due = count_due(app.state.db, settings)
    swept = sweep(app.state.db, store, settings)
    assert swept.files == due.files == len(expected_gone)
    assert swept.bytes == due.bytes == sum(len(aged[name][1]) for name in expected_gone)
    for name, (event_id, _crop) in aged.items():
        kept = store.size(evidence_key(event_id, "crop")) is not None
        assert kept == CASES[name][-1], name
    assert sweep(app.state.db, store, settings).files == 0  # nothing twice

    # Only files went: the statistics and the ledger are what they were.
    for path, content in before.items():
        assert world.client.get(path, headers=world.user()).content == content

    gone_id, gone_crop = aged["confirmed long ago"]
    detail = world.client.get(f"/api/v1/events/{gone_id}", headers=world.user()).json()
    crop = detail["evidence"][0]
    assert crop["uploaded"] and crop["expired_at"] is not None and crop["url"] is None
    r = world.client.get(f"/api/v1/events/{gone_id}/evidence/crop", headers=world.user())
    assert r.status_code == 410 and "retention" in r.json()["detail"]
    kept_id, _ = aged["confirmed lately"]
    kept = world.client.get(f"/api/v1/events/{kept_id}", headers=world.user()).json()["evidence"][0]
    assert kept["expired_at"] is None and kept["url"]

    page = browser(world).get(f"/events/{gone_id}")
    assert page.status_code == 200 and "Evidence expired" in page.text and 'id="crop"' not in page.text
    assert 'id="crop"' in browser(world).get(f"/events/{kept_id}").text
    assert browser(world).get(f"/events/{gone_id}/evidence/crop").status_code == 410

    # A late copy of an expired file is acknowledged and not kept again.
    late = world.upload({"event_id": gone_id, "device_id": "dev-a"}, "crop", gone_crop)
    assert late.status_code == 200 and late.json()["created"] is False
    assert store.size(evidence_key(gone_id, "crop")) is None

    # The retraining export leaves out the confirmed event whose crop is gone.
    export = world.client.get("/api/v1/export/reviewed.zip", headers=world.user("admin"))
    assert export.headers["x-exported"] == "2"  # "confirmed lately" and "corrected into a violation"


def test_an_open_work_order_keeps_its_evidence(world: World):
    store, db, settings = world.app.state.store, world.app.state.db, world.app.state.settings
    crop = jpeg(seed=40)
    body = make_event(item="plastic_bag", flags=("kitchen_contamination",), evidence={"crop": crop})
    world.post_event(body)
    assert world.upload(body, "crop", crop).status_code == 201
    r = world.client.post(f"/api/v1/events/{body['event_id']}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200, r.text
    r = world.client.post("/api/v1/work-orders", json={"event_id": body["event_id"]}, headers=world.user())
    assert r.status_code == 201, r.text
    order = r.json()["order_id"]
    age(world, body["event_id"], 400, 366)  # a violation's retention is over
    erin = world.user("erin")
    assert world.client.post(f"/api/v1/work-orders/{order}/acknowledge", json={}, headers=erin).status_code == 200
    assert count_due(db, settings).files == 0 and sweep(db, store, settings).files == 0
    assert store.size(evidence_key(body["event_id"], "crop")) == len(crop)
    r = world.client.post(f"/api/v1/work-orders/{order}/cancel", json={"note": "raised in error"}, headers=world.user())
    assert r.status_code == 200, r.text
    assert sweep(db, store, settings).files == 1  # once the order is done, the rules of the table apply
    assert store.size(evidence_key(body["event_id"], "crop")) is None


def test_violations_may_be_kept_longer_never_shorter(tmp_path):
    with pytest.raises(ValueError, match="violation_retention_days"):
        Settings(data_dir=tmp_path, evidence_retention_days=60, violation_retention_days=30)
    settings = Settings(data_dir=tmp_path, evidence_retention_days=7, violation_retention_days=7)
    assert settings.violation_retention_days == 7


def test_the_command(world: World, aged, capsys):
    data_dir = str(world.app.state.settings.data_dir)
    assert main(["collector", "expire-evidence", "--data-dir", data_dir, "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("3 evidence files")
    assert all(world.app.state.store.size(evidence_key(e, "crop")) for e, _ in aged.values())
    assert main(["collector", "expire-evidence", "--data-dir", data_dir]) == 0
    assert capsys.readouterr().out.startswith("3 evidence files")
    with world.app.state.db.read() as session:
        assert session.scalar(select(EvidenceFile).where(EvidenceFile.expired_at.is_not(None)).limit(1)) is not None


def test_the_service_sweeps_by_itself(settings: Settings, template):
    app = create_app(settings.model_copy(update={"retention_sweep_s": 0.2}))
    try:
        with TestClient(app) as client:
            world = World(app, client, template.entity_id, template.device_tokens, template.user_ids)
            crop = jpeg(seed=99)
            body = make_event(item="food_waste", flags=(), evidence={"crop": crop})
            world.post_event(body)
            assert world.upload(body, "crop", crop).status_code == 201
            age(world, body["event_id"], 45, None)
            deadline = time.monotonic() + 10
            while app.state.store.size(evidence_key(body["event_id"], "crop")) is not None:
                assert time.monotonic() < deadline, "the periodic sweep did not delete the file"
                time.sleep(0.05)
        with app.state.db.read() as session:
            assert session.get(EvidenceFile, (body["event_id"], "crop")).expired_at is not None
    finally:
        app.state.db.dispose()
