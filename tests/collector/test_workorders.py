"""Work orders through the API: raised from confirmed violations, acknowledged and closed by the
responsible entity with a note and a photo, reopened, cancelled, raised automatically for littering
and overflow left unresolved, overdue, and every step in the audit log and the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from binwatch.collector.db.tables import utcnow
from binwatch.collector.workorders import create_order, photo_key
from tests.collector.observations import cleared, emptying, littering, overflow, plan_site_a
from tests.collector.support import World, jpeg, sha

HOUR = dt.timedelta(hours=1)


def confirmed_violation(world: World, **overrides) -> dict:
    body = world.event(**overrides)
    world.post_event(body)
    r = world.client.post(f"/api/v1/events/{body['event_id']}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200
    return body


def raise_order(world: World, event_id: str, **fields):
    return world.client.post("/api/v1/work-orders", json={"event_id": event_id, **fields}, headers=world.user())


def step(world: World, order_id: int, action: str, who: str = "erin", **body):
    return world.client.post(f"/api/v1/work-orders/{order_id}/{action}", json=body, headers=world.user(who))


def close(world: World, order_id: int, photo: bytes, note: str = "bags removed, bin washed", who: str = "erin"):
    return world.client.post(
        f"/api/v1/work-orders/{order_id}/close",
        data={"note": note},
        files={"photo": ("after.jpg", photo, "image/jpeg")},
        headers=world.user(who),
    )


def test_the_whole_flow(world: World):
    event = confirmed_violation(world)
    due = (utcnow() + 4 * HOUR).replace(microsecond=0)
    r = raise_order(world, event["event_id"], note="remove the bags from the kitchen bin", due_at=due.isoformat())
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["state"], order["reasons"], order["created_by"]) == ("open", ["kitchen_contamination"], "rita")
    assert order["site_id"] == "site-a" and dt.datetime.fromisoformat(order["due_at"]) == due
    assert order["overdue"] is False and order["photo"] is None
    oid = order["order_id"]

    assert step(world, oid, "acknowledge", who="rita").status_code == 403  # supervisors do not take orders on
    r = step(world, oid, "acknowledge", note="on it")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert step(world, oid, "acknowledge").status_code == 409

    assert close(world, oid, jpeg(), note=" ").status_code == 422  # a note is needed
    assert close(world, oid, b"GIF89a not a jpeg").status_code == 415
    assert not list(world.app.state.store.root.glob("work-orders/*/photo-*"))  # refused closings store nothing
    first = jpeg(seed=1)
    r = close(world, oid, first)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert r.json()["photo"]["sha256"] == sha(first)
    assert world.client.get(f"/api/v1/work-orders/{oid}/photo", headers=world.user()).content == first

    assert step(world, oid, "reopen", who="rita").status_code == 422  # reopening says why
    r = step(world, oid, "reopen", who="rita", note="the photo shows another bin")
    assert r.status_code == 200 and r.json()["state"] == "open" and r.json()["closed_at"] is None
    second = jpeg(seed=2)
    assert close(world, oid, second).status_code == 200
    store = world.app.state.store
    assert store.size(photo_key(oid, sha(first))) == len(first)  # the first photo stays for the record
    assert store.size(photo_key(oid, sha(second))) == len(second)

    steps = world.client.get(f"/api/v1/work-orders/{oid}", headers=world.user("erin")).json()["steps"]
    assert [(s["action"], s["user"], s["after"]["state"]) for s in steps] == [
        ("create", "rita", "open"),
        ("acknowledge", "erin", "acknowledged"),
        ("close", "erin", "closed"),
        ("reopen", "rita", "open"),
        ("close", "erin", "closed"),
    ]
    assert steps[2]["after"]["photo_sha256"] == sha(first) and steps[4]["after"]["photo_sha256"] == sha(second)
    assert steps[1]["before"]["state"] == "open" and steps[0]["before"] is None


@pytest.mark.parametrize(
    ("setup", "status", "detail"),
    [
        ("unreviewed", 409, "confirm the violation"),
        ("compliant", 409, "no violation"),
        ("rejected", 409, "no violation"),
        ("missing", 404, "no event"),
    ],
)
def test_only_a_confirmed_violation_becomes_an_order(world: World, setup, status, detail):
    body = world.event(flags=() if setup == "compliant" else ("kitchen_contamination",))
    if setup != "missing":
        world.post_event(body)
    action = {"compliant": "confirm", "rejected": "reject"}.get(setup)
    if action:
        world.client.post(f"/api/v1/events/{body['event_id']}/review", json={"action": action}, headers=world.user())
    r = raise_order(world, body["event_id"])
    assert r.status_code == status and detail in r.json()["detail"]


def test_one_order_per_event_and_a_due_time_ahead(world: World):
    event = confirmed_violation(world)
    past = (utcnow() - HOUR).isoformat()
    assert raise_order(world, event["event_id"], due_at=past).status_code == 422
    ahead = (utcnow() + HOUR).replace(tzinfo=None)
    for unzoned in (ahead.isoformat(), int(ahead.timestamp())):  # a guess at the zone is no due time
        assert raise_order(world, event["event_id"], due_at=unzoned).status_code == 422
    assert raise_order(world, event["event_id"]).status_code == 201
    assert raise_order(world, event["event_id"]).status_code == 409


def test_entity_users_do_not_raise_orders(world: World):
    event = confirmed_violation(world)
    r = world.client.post("/api/v1/work-orders", json={"event_id": event["event_id"]}, headers=world.user("erin"))
    assert r.status_code == 403


def test_rejecting_the_event_cancels_its_open_order(world: World):
    event = confirmed_violation(world)
    oid = raise_order(world, event["event_id"]).json()["order_id"]
    r = world.client.post(f"/api/v1/events/{event['event_id']}/undo", json={}, headers=world.user())
    assert r.status_code == 200
    world.client.post(f"/api/v1/events/{event['event_id']}/review", json={"action": "reject"}, headers=world.user())
    order = world.client.get(f"/api/v1/work-orders/{oid}", headers=world.user()).json()
    assert order["state"] == "cancelled" and order["steps"][-1]["note"] == "event rejected as a false positive"
    assert step(world, oid, "acknowledge").status_code == 409


def test_an_event_that_a_review_leaves_no_violation_cancels_its_open_order(world: World):
    # Only a rejection cancelled the order: a kitchen bin's plastic bag corrected to food waste, and a correction
    # that made a clean disposal a violation undone, left the entity to rectify what stood as no violation.
    review = "/api/v1/events/{}/review"
    event = confirmed_violation(world)
    oid = raise_order(world, event["event_id"]).json()["order_id"]
    r = world.client.post(
        review.format(event["event_id"]), json={"action": "correct", "item": "food_waste"}, headers=world.user()
    )
    assert r.status_code == 200 and r.json()["after"]["compliant"] is True
    order = world.client.get(f"/api/v1/work-orders/{oid}", headers=world.user()).json()
    assert order["state"] == "cancelled" and order["steps"][-1]["note"] == "event no longer a violation"

    clean = world.event(item="food_waste", flags=())
    world.post_event(clean)
    r = world.client.post(
        review.format(clean["event_id"]), json={"action": "correct", "item": "battery"}, headers=world.user()
    )
    assert r.status_code == 200 and r.json()["after"]["compliant"] is False
    oid = raise_order(world, clean["event_id"]).json()["order_id"]
    assert (
        world.client.post(f"/api/v1/events/{clean['event_id']}/undo", json={}, headers=world.user()).status_code == 200
    )
    order = world.client.get(f"/api/v1/work-orders/{oid}", headers=world.user()).json()
    assert order["state"] == "cancelled" and order["steps"][-1]["note"] == "event no longer a violation"


def test_an_order_stays_while_its_event_stands_as_a_violation(world: World):
    event = confirmed_violation(world)
    oid = raise_order(world, event["event_id"]).json()["order_id"]
    body = {"action": "correct", "item": "plastic_bottle"}  # another wrong item for a kitchen bin: still a violation
    assert (
        world.client.post(f"/api/v1/events/{event['event_id']}/review", json=body, headers=world.user()).status_code
        == 200
    )
    assert world.client.get(f"/api/v1/work-orders/{oid}", headers=world.user()).json()["state"] == "open"


def with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with its start-of-frame header claiming another size."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[sof + 9 :]


def test_a_closing_photo_must_decode_and_be_of_a_phone_size(world: World):
    oid = raise_order(world, confirmed_violation(world)["event_id"]).json()["order_id"]
    header_only = b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    photo = jpeg(640, 480, seed=3)
    for bad in (header_only, photo[: len(photo) // 2], with_size(photo, 12_000, 9_000)):
        r = close(world, oid, bad)
        assert r.status_code == 415 and "megapixels" in r.json()["detail"], r.text
    assert not list(world.app.state.store.root.glob("work-orders/*/photo-*"))  # refused closings store nothing
    assert close(world, oid, photo).status_code == 200


def test_a_supervisor_cancels(world: World):
    oid = raise_order(world, confirmed_violation(world)["event_id"]).json()["order_id"]
    r = step(world, oid, "cancel", who="rita", note="raised by mistake")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert close(world, oid, jpeg()).status_code == 409
    assert not list(world.app.state.store.root.glob("work-orders/*/photo-*"))  # a refused closing stores nothing


def test_overdue_orders_are_listed(world: World):
    event = confirmed_violation(world)
    late_event = confirmed_violation(world)
    past = utcnow() - 2 * HOUR
    with world.app.state.db.write() as session:  # raised two hours ago, due an hour ago
        create_order(session, late_event["event_id"], None, due_at=past + HOUR, now=past)
    raise_order(world, event["event_id"])
    late = world.client.get("/api/v1/work-orders", params={"overdue": "true"}, headers=world.user()).json()["orders"]
    assert [(o["event_id"], o["overdue"]) for o in late] == [(late_event["event_id"], True)]
    on_time = world.client.get("/api/v1/work-orders", params={"overdue": "false"}, headers=world.user()).json()
    assert [o["event_id"] for o in on_time["orders"]] == [event["event_id"]]


def test_littering_and_overflow_left_unresolved_become_orders(world: World):
    plan_site_a(world)
    left, gone, false_alarm = littering(), littering(), littering()
    spill, emptied_spill = overflow(bin_id="o1"), overflow(bin_id="k1")
    for body in (left, gone, false_alarm, spill, emptied_spill):
        world.post_event(body)
    world.post_event(cleared(gone, gone_at := dt.datetime(2026, 11, 20, 9, 40, tzinfo=dt.UTC)))
    world.post_event(emptying(bin_id="k1", at=gone_at))
    world.client.post(
        f"/api/v1/events/{false_alarm['event_id']}/review", json={"action": "reject"}, headers=world.user()
    )
    background = world.app.state.background
    background.run_duties()
    background.run_duties()  # again: nothing doubled
    orders = world.client.get("/api/v1/work-orders", headers=world.user()).json()["orders"]
    assert sorted((o["event_id"], o["reasons"][0], o["created_by"]) for o in orders) == sorted(
        [(left["event_id"], "littering", None), (spill["event_id"], "overflow", None)]
    )
    assert all("30 minutes" in o["note"] for o in orders)


def test_fresh_littering_waits(world: World):
    plan_site_a(world)
    world.post_event(littering(at=utcnow() - dt.timedelta(minutes=5)))
    world.app.state.background.run_duties()
    assert world.client.get("/api/v1/work-orders", headers=world.user()).json()["orders"] == []


def test_every_step_is_in_the_ledger(world: World):
    event = confirmed_violation(world)
    oid = raise_order(world, event["event_id"], note="clean up").json()["order_id"]
    step(world, oid, "acknowledge")
    close(world, oid, jpeg())
    r = world.client.get("/api/v1/ledger.csv", headers=world.user("erin"))
    rows = [row for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if row["record"] == "work_order"]
    assert [(row["work_order_id"], row["work_order_step"], row["work_order_state"], row["user"]) for row in rows] == [
        (str(oid), "create", "open", "rita"),
        (str(oid), "acknowledge", "acknowledged", "erin"),
        (str(oid), "close", "closed", "erin"),
    ]
    assert rows[0]["note"] == "clean up" and rows[0]["event_id"] == event["event_id"]
    assert rows[0]["work_order_reasons"] == "kitchen_contamination" and rows[0]["site_id"] == "site-a"
