"""Ingest: events (idempotent on their UUID), evidence uploads and heartbeats, and what each refuses."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from binwatch.collector.db.tables import Device, Event, EvidenceFile
from tests.collector.support import World, clip, jpeg, make_event, sha


def count_events(world: World) -> int:
    with world.app.state.db.read() as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_event_is_stored_and_acknowledged(world: World):
    body = make_event(evidence={"crop": jpeg()})
    r = world.client.post("/api/v1/events", json=body, headers=world.device())
    assert r.status_code == 201
    ack = r.json()
    assert ack["event_id"] == body["event_id"] and ack["duplicate"] is False and ack["evidence_missing"] == ["crop"]
    with world.app.state.db.read() as session:
        row = session.get(Event, body["event_id"])
        assert row.site_id == "site-a" and row.flagged and not row.compliant and row.pred_item == "plastic_bag"
        assert [f.flag for f in row.flags] == ["kitchen_contamination"]
        assert row.day.isoformat() == "2026-11-20"  # 09:30 UTC is 17:30 in Asia/Shanghai


def test_an_uncertain_event_asks_for_review_but_accuses_no_one(world: World):
    body = make_event(item="battery", flags=("uncertain",))
    world.post_event(body)
    with world.app.state.db.read() as session:
        row = session.get(Event, body["event_id"])
        assert row.flagged and row.compliant
        assert [(f.flag, f.reported, f.standing) for f in row.flags] == [("uncertain", True, False)]


def test_same_event_again_returns_the_stored_result(world: World):
    body = make_event()
    first = world.post_event(body)
    again = world.client.post(
        "/api/v1/events",
        content=json.dumps(body, indent=2),
        headers={**world.device(), "Content-Type": "application/json"},
    )
    assert again.status_code == 200
    assert again.json() == {**first, "duplicate": True}
    assert count_events(world) == 1


def test_the_same_times_written_with_another_offset_are_the_same_event(world: World):
    """A client that re-serialises the event (``+08:00`` where the first try sent UTC) resends, not changes, it."""
    body = make_event()
    first = world.post_event(body)
    local = {
        key: dt.datetime.fromisoformat(body[key]).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
        for key in ("started_at", "ended_at")
    }
    assert local["started_at"] != body["started_at"]
    again = world.client.post("/api/v1/events", json={**body, **local}, headers=world.device())
    assert again.status_code == 200 and again.json() == {**first, "duplicate": True}
    later = dt.datetime.fromisoformat(body["ended_at"]) + dt.timedelta(seconds=1)
    moved = world.client.post("/api/v1/events", json={**body, "ended_at": later.isoformat()}, headers=world.device())
    assert moved.status_code == 409
    assert count_events(world) == 1


def test_same_id_with_another_body_is_a_conflict(world: World):
    body = make_event()
    world.post_event(body)
    r = world.client.post("/api/v1/events", json={**body, "flags": []}, headers=world.device())
    assert r.status_code == 409
    assert "different body" in r.json()["detail"]
    with world.app.state.db.read() as session:
        assert session.get(Event, body["event_id"]).flagged


def test_site_without_bins_takes_any_bin(world: World):
    body = make_event("dev-b", bin_id="anything", bin_category="other", item="broom", flags=())
    assert world.post_event(body)["duplicate"] is False


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"device_id": "dev-a2"}, 403, "belongs to device dev-a"),
        ({"site_id": "site-b"}, 422, "registered at site site-a"),
        ({"bin_id": "x9"}, 422, "has no bin x9"),
        ({"bin_category": "other"}, 422, "is a kitchen bin"),
        ({"model_version": "m\u0000"}, 422, "control characters"),
        ({"started_at": "0001-01-01T00:00:00+05:00", "ended_at": "0001-01-01T00:00:01+05:00"}, 422, "out of range"),
        ({"evidence": [{"kind": "clip", "name": "c.mp4", "sha256": "0" * 64, "size": 10**12}]}, 422, "over the limit"),
        ({"evidence": [{"kind": "clip", "name": "../../etc/passwd", "sha256": "0" * 64, "size": 5}]}, 422, None),
        ({"evidence": [{"kind": "clip", "name": "a/b.mp4", "sha256": "0" * 64, "size": 5}]}, 422, None),
        ({"unknown_field": 1}, 422, None),
        ({"flags": "mixed_disposal"}, 422, None),
        ({"flags": ["not_a_flag"]}, 422, None),
        ({"prediction": {"item": "unicorn", "item_score": 1, "category": "other", "category_score": 1}}, 422, None),
        ({"event_id": "not-a-uuid"}, 422, None),
        ({"started_at": "2026-11-20T09:30:00"}, 422, None),
        ({"ended_at": "2026-11-20T09:00:00+00:00"}, 422, "before started_at"),
    ],
)
def test_bad_events_are_refused_and_change_nothing(world: World, change, status, detail):
    r = world.client.post("/api/v1/events", json={**make_event(), **change}, headers=world.device())
    assert r.status_code == status, r.text
    if detail:
        assert detail in json.dumps(r.json())
    assert count_events(world) == 0


def test_malformed_json_and_wrong_media(world: World):
    r = world.client.post(
        "/api/v1/events", content=b'{"event_id": ', headers={**world.device(), "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("the body is not JSON")
    r = world.client.post(
        "/api/v1/events", content=b"[]", headers={**world.device(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert count_events(world) == 0


def test_oversized_event_body_is_413(world: World):
    body = make_event(model_version="m")
    padding = json.dumps(body).encode() + b" " * (world.app.state.settings.max_json_bytes + 1)
    r = world.client.post(
        "/api/v1/events", content=padding, headers={**world.device(), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert count_events(world) == 0


@pytest.mark.parametrize("token", [None, "bwd_not-a-real-token", "garbage"])
def test_events_need_a_device_token(world: World, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = world.client.post("/api/v1/events", json=make_event(), headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_user_token_is_not_a_device_token(world: World):
    r = world.client.post("/api/v1/events", json=make_event(), headers=world.user("admin"))
    assert r.status_code == 401


def test_revoked_and_replaced_tokens_stop_working_at_once(world: World):
    old = world.device("dev-a")
    assert world.client.post("/api/v1/events", json=make_event(flags=()), headers=old).status_code == 201
    r = world.client.post("/api/v1/devices/dev-a/token", headers=world.user("admin"))
    assert r.status_code == 200
    new = {"Authorization": f"Bearer {r.json()['token']}"}
    assert world.client.post("/api/v1/events", json=make_event(), headers=old).status_code == 401
    assert world.client.post("/api/v1/events", json=make_event(), headers=new).status_code == 201
    assert world.client.post("/api/v1/devices/dev-a/revoke", headers=world.user("admin")).status_code == 200
    assert world.client.post("/api/v1/events", json=make_event(), headers=new).status_code == 401


# --- evidence -------------------------------------------------------------------------------------------------


def blob_exists(world: World, event_id: str, kind: str) -> bool:
    from binwatch.collector.evidence import evidence_key

    return world.app.state.store.size(evidence_key(event_id, kind)) is not None


def test_evidence_upload_is_checked_and_idempotent(world: World):
    files = {"snapshot": jpeg(320, 240), "crop": jpeg(80, 80, 1), "clip": clip()}
    body = make_event(evidence=files)
    world.post_event(body)
    for kind, data in files.items():
        r = world.upload(body, kind, data)
        assert r.status_code == 201, r.text
        assert r.json() == {
            "event_id": body["event_id"],
            "kind": kind,
            "sha256": sha(data),
            "size": len(data),
            "created": True,
        }
        again = world.upload(body, kind, data)
        assert again.status_code == 200 and again.json()["created"] is False
    ack = world.client.post("/api/v1/events", json=body, headers=world.device()).json()
    assert ack["evidence_missing"] == []
    with world.app.state.db.read() as session:
        assert all(e.uploaded_at for e in session.scalars(select(EvidenceFile)))


@pytest.mark.parametrize(
    ("kind", "data", "status", "detail"),
    [
        ("crop", jpeg(80, 80, 1)[:-3] + b"xyz", 422, "does not match"),
        ("crop", jpeg(80, 80, 1) + b"x", 422, "more than the"),
        ("crop", b"", 422, "bytes received"),
        ("snapshot", jpeg(), 404, "declares no snapshot"),
        ("thumbnail", jpeg(), 422, None),
    ],
)
def test_bad_evidence_is_refused_and_not_stored(world: World, kind, data, status, detail):
    body = make_event(evidence={"crop": jpeg(80, 80, 1)})
    world.post_event(body)
    r = world.upload(body, kind, data)
    assert r.status_code == status, r.text
    if detail:
        assert detail in r.json()["detail"]
    assert not blob_exists(world, body["event_id"], "crop")


def test_evidence_that_is_not_a_jpeg_is_415(world: World):
    fake = b"GIF89a" + b"\x00" * 100
    body = make_event(evidence={"crop": fake})
    world.post_event(body)
    assert world.upload(body, "crop", fake).status_code == 415
    assert not blob_exists(world, body["event_id"], "crop")


def test_evidence_of_another_device_or_unknown_event(world: World):
    data = jpeg()
    body = make_event(evidence={"crop": data})
    world.post_event(body)
    assert world.upload(body, "crop", data, device_id="dev-a2").status_code == 403
    unknown = make_event(evidence={"crop": data})
    assert world.upload(unknown, "crop", data).status_code == 404
    assert world.client.put(f"/api/v1/events/{body['event_id']}/evidence/crop", content=data).status_code == 401
    assert (
        world.client.put("/api/v1/events/not-a-uuid/evidence/crop", content=data, headers=world.device()).status_code
        == 422
    )
    assert not blob_exists(world, body["event_id"], "crop")


def test_evidence_over_the_size_cap_is_413(settings, template):
    from fastapi.testclient import TestClient

    from binwatch.collector.app import create_app

    app = create_app(settings.model_copy(update={"max_evidence_bytes": 4096}))
    with TestClient(app) as client:
        world = World(app, client, template.entity_id, template.device_tokens, template.user_ids)
        big = clip(5000)
        body = make_event(evidence={"clip": big})
        r = client.post("/api/v1/events", json=body, headers=world.device())
        assert r.status_code == 422 and "over the limit" in r.json()["detail"]
        small = make_event(evidence={"clip": clip(3000)})
        world.post_event(small)
        r = client.put(f"/api/v1/events/{small['event_id']}/evidence/clip", content=big, headers=world.device())
        assert r.status_code == 413
        assert not blob_exists(world, small["event_id"], "clip")
    app.state.db.dispose()


# --- heartbeats -------------------------------------------------------------------------------------------------


def heartbeat(device_id: str = "dev-a", **change) -> dict:
    return {
        "device_id": device_id,
        "site_id": "site-a",
        "sent_at": "2026-11-20T09:00:00+08:00",
        "model_version": "m-2",
        "camera_state": "streaming",
        "fps": 7.5,
        "stage_ms": {"motion": 1.2},
        "outbox_depth": 4,
        "uptime_s": 3600,
        **change,
    }


def test_heartbeat_updates_the_device(world: World):
    r = world.client.post("/api/v1/heartbeats", json=heartbeat(), headers=world.device())
    assert r.status_code == 200 and r.json()["device_id"] == "dev-a"
    devices = {d["device_id"]: d for d in world.client.get("/api/v1/devices", headers=world.user()).json()}
    assert devices["dev-a"]["online"] is True
    assert devices["dev-a"]["model_version"] == "m-2" and devices["dev-a"]["outbox_depth"] == 4
    assert devices["dev-b"]["online"] is False and devices["dev-b"]["last_seen_at"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (heartbeat(device_id="dev-a2"), 403),
        (heartbeat(site_id="site-b"), 422),
        (heartbeat(outbox_depth=2**64), 422),
        (heartbeat(extra=1), 422),
        (heartbeat(camera_state="dancing"), 422),
        (heartbeat(model_version="m\n1"), 422),
    ],
)
def test_bad_heartbeats_change_nothing(world: World, body, status):
    r = world.client.post("/api/v1/heartbeats", json=body, headers=world.device())
    assert r.status_code == status, r.text
    with world.app.state.db.read() as session:
        assert session.get(Device, "dev-a").last_heartbeat is None


def test_non_finite_heartbeat_numbers_are_refused(world: World):
    raw = json.dumps(heartbeat()).replace('"fps": 7.5', '"fps": Infinity')
    r = world.client.post(
        "/api/v1/heartbeats", content=raw, headers={**world.device(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422
