"""The review queue's API: unreviewed counts per severity, flag and day; the severity and day filters;
reviews of several events at once, each audited, all or none; clips saved as named files."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.collector.support import World, clip, make_event

UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def queue(world: World) -> dict[str, str]:
    """Unreviewed flagged events of both severities on two local days (Asia/Shanghai), plus two that
    are not in the queue (unflagged; reviewed)."""
    bodies = {
        "kitchen": make_event(flags=("kitchen_contamination",), started_at=at(20, 1)),
        "mixed_late": make_event(
            bin_id="r1",
            bin_category="recyclable",
            item="battery",
            flags=("mixed_disposal", "off_hours"),
            started_at=at(20, 2),
        ),
        "uncertain": make_event(flags=("uncertain",), started_at=at(21, 16, 30)),  # 00:30 on the 22nd in Shanghai
        "unseen": make_event(item=None, flags=("item_unseen",), started_at=at(20, 3)),
        "clean": make_event(item="food_waste", flags=(), started_at=at(20, 4)),
        "reviewed": make_event(
            bin_id="r1", bin_category="recyclable", item="battery", flags=("mixed_disposal",), started_at=at(20, 5)
        ),
    }
    for body in bodies.values():
        world.post_event(body)
    ids = {name: body["event_id"] for name, body in bodies.items()}
    r = world.client.post(f"/api/v1/events/{ids['reviewed']}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200
    return ids


def counts(world: World, **params) -> dict:
    r = world.client.get("/api/v1/events/counts", params=params, headers=world.user())
    assert r.status_code == 200, r.text
    return r.json()


def listed(world: World, **params) -> set[str]:
    r = world.client.get("/api/v1/events", params=params, headers=world.user())
    assert r.status_code == 200, r.text
    return {e["event_id"] for e in r.json()["events"]}


def test_counts_per_severity_flag_and_day(world: World, queue):
    everything = counts(world)
    assert everything["total"] == 4
    assert everything["by_severity"] == {"violation": 2, "review": 2}
    assert everything["by_flag"] == {
        "kitchen_contamination": 1,
        "mixed_disposal": 1,
        "off_hours": 1,
        "uncertain": 1,
        "item_unseen": 1,
    }
    assert everything["by_day"] == {"2026-11-22": 1, "2026-11-20": 3}
    assert list(everything["by_day"]) == ["2026-11-22", "2026-11-20"]  # newest first


def test_each_facet_is_counted_under_the_other_filters(world: World, queue):
    violations = counts(world, severity="violation")
    assert violations["total"] == 2
    assert violations["by_severity"] == {"violation": 2, "review": 2}  # not narrowed by itself
    assert violations["by_flag"] == {"kitchen_contamination": 1, "mixed_disposal": 1, "off_hours": 1}
    assert violations["by_day"] == {"2026-11-20": 2}
    one_day = counts(world, day="2026-11-22")
    assert one_day["total"] == 1 and one_day["by_severity"] == {"violation": 0, "review": 1}
    assert one_day["by_day"] == {"2026-11-22": 1, "2026-11-20": 3}
    off_hours = counts(world, flag="off_hours")
    assert off_hours["total"] == 1 and off_hours["by_day"] == {"2026-11-20": 1}
    assert counts(world, site_id="site-b")["total"] == 0


def test_severity_and_day_filter_the_list(world: World, queue):
    assert listed(world, severity="review") == {queue["uncertain"], queue["unseen"]}
    assert listed(world, severity="violation", review_status="unreviewed") == {queue["kitchen"], queue["mixed_late"]}
    assert listed(world, severity="violation") == {queue["kitchen"], queue["mixed_late"], queue["reviewed"]}
    assert listed(world, day="2026-11-22") == {queue["uncertain"]}
    assert listed(world, day="2026-11-20", flagged="false") == {queue["clean"]}


@pytest.mark.parametrize("params", [{"severity": "bad"}, {"day": "2026-13-01"}, {"day": "20.11.2026"}])
def test_bad_queue_filters_are_422(world: World, params):
    assert world.client.get("/api/v1/events/counts", params=params, headers=world.user()).status_code == 422
    assert world.client.get("/api/v1/events", params=params, headers=world.user()).status_code == 422


def review_many(world: World, user: str = "rita", **body):
    return world.client.post("/api/v1/reviews", json=body, headers=world.user(user))


def history(world: World, event_id: str) -> list[dict]:
    return world.client.get(f"/api/v1/events/{event_id}/reviews", headers=world.user()).json()


def status(world: World, event_id: str) -> str:
    return world.client.get(f"/api/v1/events/{event_id}", headers=world.user()).json()["review_status"]


def test_confirm_several_each_audited(world: World, queue):
    chosen = [queue["kitchen"], queue["mixed_late"], queue["uncertain"]]
    r = review_many(world, event_ids=chosen, action="confirm", note="seen on the clips")
    assert r.status_code == 200, r.text
    assert [x["event_id"] for x in r.json()] == chosen
    for event_id in chosen:
        log = history(world, event_id)
        assert len(log) == 1 and log[0]["action"] == "confirm" and log[0]["user"] == "rita"
        assert log[0]["note"] == "seen on the clips" and status(world, event_id) == "confirmed"
    assert counts(world)["total"] == 1
    # Confirming the uncertain event judged its prediction: a plastic bag (other waste) in the kitchen bin.
    detail = world.client.get(f"/api/v1/events/{queue['uncertain']}", headers=world.user()).json()
    assert detail["standing_flags"] == ["kitchen_contamination", "mixed_disposal"]
    r = review_many(world, event_ids=chosen[:2], action="undo")
    assert r.status_code == 200 and all(x["action"] == "undo" for x in r.json())
    assert [status(world, e) for e in chosen] == ["unreviewed", "unreviewed", "confirmed"]


def test_one_refusal_refuses_them_all(world: World, queue):
    unknown = "3f3f3f3f-0000-4000-8000-000000000009"
    r = review_many(world, event_ids=[queue["kitchen"], unknown], action="confirm")
    assert r.status_code == 404 and unknown in r.json()["detail"]
    r = review_many(world, event_ids=[queue["kitchen"], queue["clean"]], action="reject")
    assert r.status_code == 409  # nothing to reject on the unflagged event
    assert status(world, queue["kitchen"]) == "unreviewed" and history(world, queue["kitchen"]) == []
    # A reviewer may not undo an admin's review, so the batch undoes nothing.
    assert review_many(world, "admin", event_ids=[queue["unseen"]], action="confirm").status_code == 200
    assert review_many(world, event_ids=[queue["kitchen"]], action="confirm").status_code == 200
    r = review_many(world, event_ids=[queue["kitchen"], queue["unseen"]], action="undo")
    assert r.status_code == 403
    assert status(world, queue["kitchen"]) == "confirmed" and status(world, queue["unseen"]) == "confirmed"


@pytest.mark.parametrize(
    "body",
    [
        {"event_ids": [], "action": "confirm"},
        {"event_ids": ["3f3f3f3f-0000-4000-8000-000000000001"] * 2, "action": "confirm"},
        {"event_ids": [f"3f3f3f3f-0000-4000-8000-{i:012d}" for i in range(201)], "action": "confirm"},
        {"event_ids": ["not-a-uuid"], "action": "confirm"},
        {"event_ids": ["3f3f3f3f-0000-4000-8000-000000000001"], "action": "shrug"},
        {"event_ids": ["{kitchen}"], "action": "correct", "item": "unicorn"},
        {"event_ids": ["{kitchen}"], "action": "correct"},
    ],
)
def test_bad_batches_are_422(world: World, queue, body):
    body = {**body, "event_ids": [e.format(**queue) for e in body["event_ids"]]}
    assert review_many(world, **body).status_code == 422
    assert status(world, queue["kitchen"]) == "unreviewed"


def test_correct_several_to_one_item(world: World, queue):
    r = review_many(world, event_ids=[queue["kitchen"], queue["uncertain"]], action="correct", item="food_waste")
    assert r.status_code == 200
    for event_id in (queue["kitchen"], queue["uncertain"]):
        detail = world.client.get(f"/api/v1/events/{event_id}", headers=world.user()).json()
        assert detail["label_item"] == "food_waste" and detail["compliant"]


def test_a_clip_is_saved_under_a_name_that_says_where_and_when(world: World):
    data = clip(30_000)
    body = make_event(evidence={"clip": data}, started_at=at(20, 9, 30))
    world.post_event(body)
    assert world.upload(body, "clip", data).status_code == 201
    url = f"/api/v1/events/{body['event_id']}/evidence/clip"
    r = world.client.get(url, params={"download": "true"}, headers=world.user())
    assert r.status_code == 200 and r.content == data and r.headers["content-type"] == "video/mp4"
    name = f"site-a_k1_20261120-173000_{body['event_id'][:8]}_clip.mp4"  # local time, Asia/Shanghai
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert world.client.get(url, headers=world.user()).headers["content-disposition"].startswith("inline;")
    r = world.client.get(url, params={"download": "true"}, headers={**world.user(), "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
