"""Reviews: confirm, reject as a false positive, correct; the audit log; undo, and who may undo."""

from __future__ import annotations

import pytest

from tests.collector.support import World, make_event


def review(world: World, event_id: str, user: str = "rita", **body):
    return world.client.post(f"/api/v1/events/{event_id}/review", json=body, headers=world.user(user))


def undo(world: World, event_id: str, user: str = "rita", **body):
    return world.client.post(f"/api/v1/events/{event_id}/undo", json=body, headers=world.user(user))


def detail(world: World, event_id: str) -> dict:
    return world.client.get(f"/api/v1/events/{event_id}", headers=world.user()).json()


@pytest.fixture
def flagged(world: World) -> str:
    body = make_event(item="plastic_bag", flags=("kitchen_contamination", "off_hours"))
    world.post_event(body)
    return body["event_id"]


def test_confirm_keeps_the_flags_and_labels_the_prediction(world: World, flagged):
    r = review(world, flagged, action="confirm", note="seen on the clip")
    assert r.status_code == 200
    log = r.json()
    assert log["action"] == "confirm" and log["user"] == "rita" and log["note"] == "seen on the clip"
    assert log["before"]["review_status"] == "unreviewed" and log["after"]["review_status"] == "confirmed"
    d = detail(world, flagged)
    assert d["review_status"] == "confirmed" and not d["compliant"]
    assert (d["label_item"], d["label_category"]) == ("plastic_bag", "other")
    assert d["standing_flags"] == ["kitchen_contamination", "off_hours"]


def test_reject_is_a_false_positive_and_compliant(world: World, flagged):
    assert review(world, flagged, action="reject").status_code == 200
    d = detail(world, flagged)
    assert d["review_status"] == "rejected" and d["compliant"] and d["standing_flags"] == []
    assert d["flags"] == ["kitchen_contamination", "off_hours"]  # what the edge box said stays


def test_correct_judges_the_item_flags_again(world: World, flagged):
    r = review(world, flagged, action="correct", item="food_waste")
    assert r.status_code == 200
    d = detail(world, flagged)
    assert (d["label_item"], d["label_category"]) == ("food_waste", "kitchen")
    assert d["standing_flags"] == ["off_hours"] and not d["compliant"]  # off hours does not depend on the item
    review(world, flagged, action="correct", item="packaging")
    assert detail(world, flagged)["standing_flags"] == ["kitchen_contamination", "mixed_disposal", "off_hours"]


def test_correcting_an_unflagged_event_can_raise_a_flag(world: World):
    body = make_event(bin_id="r1", bin_category="recyclable", item="paper", flags=())
    world.post_event(body)
    review(world, body["event_id"], action="correct", item="battery")
    d = detail(world, body["event_id"])
    assert d["standing_flags"] == ["mixed_disposal"] and not d["compliant"] and d["flags"] == []
    review(world, body["event_id"], action="correct", category="recyclable")
    d = detail(world, body["event_id"])
    assert d["standing_flags"] == [] and d["compliant"] and d["label_item"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "correct"}, 422),
        ({"action": "correct", "item": "unicorn"}, 422),
        ({"action": "correct", "item": "battery", "category": "kitchen"}, 422),
        ({"action": "correct", "category": "compost"}, 422),
        ({"action": "approve"}, 422),
        ({"action": "confirm", "extra": True}, 422),
        ({"action": "confirm", "note": "x" * 2001}, 422),
        ({"action": "confirm", "note": "bad\u0000note"}, 422),
    ],
)
def test_bad_reviews_change_nothing(world: World, flagged, body, status):
    assert review(world, flagged, **body).status_code == status
    d = detail(world, flagged)
    assert d["review_status"] == "unreviewed" and d["history"] == []


def test_reject_needs_a_flag(world: World):
    body = make_event(flags=(), item="food_waste")
    world.post_event(body)
    assert review(world, body["event_id"], action="reject").status_code == 409


def test_review_of_unknown_event_is_404(world: World):
    assert review(world, make_event()["event_id"], action="confirm").status_code == 404
    assert undo(world, make_event()["event_id"]).status_code == 404


def test_undo_walks_back_like_a_stack(world: World, flagged):
    review(world, flagged, action="confirm")
    review(world, flagged, user="remy", action="correct", item="food_waste")
    assert detail(world, flagged)["review_status"] == "corrected"

    assert undo(world, flagged, user="rita").status_code == 403  # remy's review, not rita's
    r = undo(world, flagged, user="remy", note="wrong item")
    assert r.status_code == 200 and r.json()["action"] == "undo"
    d = detail(world, flagged)
    assert d["review_status"] == "confirmed" and d["label_item"] == "plastic_bag" and not d["compliant"]

    assert undo(world, flagged, user="admin").status_code == 200  # admins may undo anyone's review
    d = detail(world, flagged)
    assert d["review_status"] == "unreviewed" and d["label_item"] is None
    assert d["standing_flags"] == ["kitchen_contamination", "off_hours"]
    assert undo(world, flagged).status_code == 409

    history = world.client.get(f"/api/v1/events/{flagged}/reviews", headers=world.user()).json()
    assert [(h["action"], h["user"], h["undone"]) for h in history] == [
        ("confirm", "rita", True),
        ("correct", "remy", True),
        ("undo", "remy", False),
        ("undo", "admin", False),
    ]
    assert history[2]["undoes_id"] == history[1]["id"] and history[2]["note"] == "wrong item"
    assert history[2]["before"] == history[1]["after"] and history[2]["after"] == history[1]["before"]


def test_undo_restores_flags_added_by_a_correction(world: World):
    body = make_event(bin_id="r1", bin_category="recyclable", item="paper", flags=())
    world.post_event(body)
    review(world, body["event_id"], action="correct", item="battery")
    undo(world, body["event_id"])
    d = detail(world, body["event_id"])
    assert d["standing_flags"] == [] and d["compliant"] and d["review_status"] == "unreviewed"


def test_review_needs_a_login(world: World, flagged):
    r = world.client.post(f"/api/v1/events/{flagged}/review", json={"action": "confirm"}, headers=world.device())
    assert r.status_code == 401
    assert world.client.post(f"/api/v1/events/{flagged}/review", json={"action": "confirm"}).status_code == 401
