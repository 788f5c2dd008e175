"""Input the collector must refuse without breaking: unserialisable JSON values, bodies that are not JSON,
crafted cursors, values of the wrong JSON type, device clocks that are wrong.

Every refusal is a 4xx with a JSON body that says what is wrong and never echoes the input, and
stores nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient

from binwatch.collector.app import create_app
from binwatch.collector.db.tables import Device, Event, Review
from tests.collector.support import World, make_event
from tests.collector.test_ingest import count_events, heartbeat
from tests.collector.test_registry import onnx, upload
from tests.collector.test_web import browser, csrf

NOW = dt.datetime.now(dt.UTC)  # for parameters; tests that compare with the clock take it again (now())


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


NAN, INF, NEG_INF, SURROGATE = "NaN", "Infinity", "-Infinity", '"\\ud800"'


def post_raw(world: World, path: str, text: str, headers: dict | None = None):
    return world.client.post(
        path, content=text.encode(), headers={**(headers or {}), "Content-Type": "application/json"}
    )


def with_token(body: dict, field_path: tuple, token: str) -> str:
    """``body`` as JSON text with the value at ``field_path`` replaced by a raw JSON token (NaN, a lone surrogate)."""
    marker = "@@token@@"
    target = body
    for key in field_path[:-1]:
        target = target[key]
    target[field_path[-1]] = marker
    return json.dumps(body).replace(f'"{marker}"', token)


def assert_refused_cleanly(r, status: int = 422) -> None:
    assert r.status_code == status, r.text
    detail = json.loads(r.content.decode("utf-8"))["detail"]  # strict UTF-8 JSON that any client can read
    if isinstance(detail, list):
        for problem in detail:
            assert set(problem) == {"type", "loc", "msg"}  # never the input


def event_with(field_path: tuple, token: str) -> str:
    body = make_event(item="plastic_bag")
    body["prediction"]["category_scores"] = {"other": 0.9, "kitchen": 0.1}
    return with_token(body, field_path, token)


@pytest.mark.parametrize(
    ("field_path", "token"),
    [
        (("prediction", "item_score"), NAN),
        (("prediction", "item_score"), INF),
        (("prediction", "category_scores", "other"), NEG_INF),
        (("prediction", "item"), SURROGATE),
        (("model_version",), SURROGATE),
        (("device_id",), SURROGATE),
        (("started_at",), SURROGATE),
        (("evidence",), f'[{{"kind": "crop", "name": {SURROGATE}, "sha256": "{"0" * 64}", "size": 1}}]'),
    ],
)
def test_unserialisable_values_in_an_event_are_422_not_500(world: World, field_path, token):
    r = post_raw(world, "/api/v1/events", event_with(field_path, token), world.device())
    assert_refused_cleanly(r)
    assert count_events(world) == 0


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/api/v1/events", json.dumps(make_event()).replace('"model_version"', '"\\ud800": 1, "model_version"')),
        ("/api/v1/heartbeats", json.dumps(heartbeat(stage_ms={"@": 1.0})).replace('"@": 1.0', '"\\ud800": NaN')),
    ],
)
def test_a_lone_surrogate_as_a_key_is_422(world: World, path, text):
    r = post_raw(world, path, text, world.device())
    assert_refused_cleanly(r)


@pytest.mark.parametrize(("field", "token"), [("password", NAN), ("password", SURROGATE), ("username", INF)])
def test_anonymous_logins_with_unserialisable_values_are_422(world: World, field, token):
    text = with_token({"username": "rita", "password": "x"}, (field,), token)
    assert_refused_cleanly(post_raw(world, "/api/v1/auth/login", text))


@pytest.mark.parametrize(("field", "token"), [("fps", NAN), ("uptime_s", NEG_INF), ("model_version", SURROGATE)])
def test_heartbeats_with_unserialisable_values_are_422(world: World, field, token):
    r = post_raw(world, "/api/v1/heartbeats", with_token(heartbeat(), (field,), token), world.device())
    assert_refused_cleanly(r)
    with world.app.state.db.read() as session:
        assert session.get(Device, "dev-a").last_heartbeat is None


def test_a_review_note_with_a_lone_surrogate_is_422(world: World):
    event = world.post_event(make_event())
    text = with_token({"action": "confirm", "note": "x"}, ("note",), SURROGATE)
    r = post_raw(world, f"/api/v1/events/{event['event_id']}/review", text, world.user())
    assert_refused_cleanly(r)
    with world.app.state.db.read() as session:
        assert session.query(Review).count() == 0


@pytest.mark.parametrize(
    ("metrics", "said"),
    [
        ('{"top1": "\\ud800"}', "lone surrogate"),
        ('{"\\ud800": 0.9}', "lone surrogate"),
        ('{"top1": 1e999}', "too large a number"),
        ('{"top1": -1e999}', "too large a number"),
        ('{"a": ' + "[" * 20_000 + "]" * 20_000 + "}", "nested too deeply"),
        ('{"a":' * 256 + "1" + "}" * 256, "nested too deeply"),  # parsed, but past Pydantic's serialising depth
    ],
)
def test_model_metrics_that_json_cannot_carry_are_422_and_the_models_still_list(world: World, metrics, said):
    """Python's parser reads these; stored, each made every later GET /models a 500 (the deep one failed at once)."""
    r = upload(world, "v1", onnx("a"), metrics=metrics)
    assert r.status_code == 422 and said in r.json()["detail"], r.text
    models = world.client.get("/api/v1/models", headers=world.user("admin"))
    assert models.status_code == 200 and models.json() == []


@pytest.mark.parametrize("text", ['{"event_id": ', "not json", '{"a": 1} trailing', "{'a': 1}"])
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/heartbeats", "/api/v1/auth/login"])
def test_a_body_that_is_not_json_is_400(world: World, path, text):
    r = post_raw(world, path, text, world.device())
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("the body is not JSON")
    assert count_events(world) == 0


def test_a_body_that_is_not_utf_8_is_400(world: World):
    r = world.client.post(
        "/api/v1/events",
        content=b'{"model_version": "\xff"}',
        headers={**world.device(), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and isinstance(r.json()["detail"], str)


def test_json_that_is_not_an_object_is_422(world: World):
    assert_refused_cleanly(post_raw(world, "/api/v1/events", "[]", world.device()))


def cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


CRAFTED_CURSORS = [
    cursor("2026-11-20T09:30:00+00:00", "\ud800"),
    cursor("\ud800", "00000000-0000-0000-0000-000000000000"),
    cursor("9999-12-31T23:59:59-23:59", "00000000-0000-0000-0000-000000000000"),
    cursor("2026-11-20T09:30:00+00:00", 5),
    cursor("2026-11-20T09:30:00+00:00", "x' OR '1'='1"),
    cursor(1, 2, 3),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    base64.urlsafe_b64encode(b"[" * 150).decode(),
    "not base64 at all!",
]


@pytest.mark.parametrize("crafted", CRAFTED_CURSORS)
def test_crafted_cursors_are_refused_by_the_api(world: World, crafted):
    world.post_event(make_event())
    r = world.client.get("/api/v1/events", params={"cursor": crafted}, headers=world.user())
    assert r.status_code == 422, r.text
    assert "bad cursor" in r.json()["detail"] or r.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("crafted", [*CRAFTED_CURSORS, "A" * 5000])
def test_crafted_cursors_send_the_review_page_back_to_its_start(world: World, crafted):
    world.post_event(make_event())
    r = browser(world).get("/review", params={"cursor": crafted})
    assert r.status_code == 303 and r.headers["location"].startswith("/review")


def test_a_real_cursor_still_pages(world: World):
    for minute in range(3):
        world.post_event(make_event(started_at=dt.datetime(2026, 11, 20, 9, minute, tzinfo=dt.UTC)))
    first = world.client.get("/api/v1/events", params={"limit": 2}, headers=world.user()).json()
    rest = world.client.get(
        "/api/v1/events", params={"limit": 2, "cursor": first["next_cursor"]}, headers=world.user()
    ).json()
    assert len(first["events"]) == 2 and len(rest["events"]) == 1 and rest["next_cursor"] is None


# -- strict types on the wire ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"started_at": 1763631000, "ended_at": 1763631004},  # epoch seconds
        {"started_at": "1763631000", "ended_at": "1763631004"},  # epoch seconds as text
        {"started_at": 1763631000.5},
        {"prediction": {"item": "plastic_bag", "item_score": "0.87", "category": "other", "category_score": 0.9}},
        {"prediction": {"item": "plastic_bag", "item_score": True, "category": "other", "category_score": 0.9}},
        {
            "prediction": {
                "item": "plastic_bag",
                "item_score": 0.8,
                "category": "other",
                "category_score": 0.9,
                "frames": "5",
            }
        },
        {
            "prediction": {
                "item": "plastic_bag",
                "item_score": 0.8,
                "category": "other",
                "category_score": 0.9,
                "frames": 5.0,
            }
        },
        {"evidence": [{"kind": "crop", "name": "crop.jpg", "sha256": "0" * 64, "size": "1000"}]},
        {"schema_version": "2"},
        {"schema_version": True},
        {"schema_version": 2.0},
    ],
)
def test_values_of_the_wrong_json_type_are_not_coerced(world: World, change):
    r = world.client.post("/api/v1/events", json={**make_event(), **change}, headers=world.device())
    assert_refused_cleanly(r)
    assert count_events(world) == 0


@pytest.mark.parametrize(
    "change", [{"fps": "7.5"}, {"outbox_depth": "4"}, {"outbox_depth": 4.0}, {"sent_at": 1763631000}]
)
def test_heartbeat_values_are_not_coerced(world: World, change):
    assert_refused_cleanly(world.client.post("/api/v1/heartbeats", json=heartbeat(**change), headers=world.device()))


def test_a_version_1_event_as_deployed_boxes_send_it_is_accepted(world: World):
    """Byte for byte what the edge of schema version 1 serialised (``Event.model_dump_json``)."""
    text = (
        '{"schema_version":1,"event_id":"3f6d7c52-5f1e-4a43-9d0e-0a1f5c7c9b11","device_id":"dev-a",'
        '"site_id":"site-a","bin_id":"k1","bin_category":"kitchen","started_at":"2026-11-20T17:30:00.066667+08:00",'
        '"ended_at":"2026-11-20T17:30:03.4+08:00","prediction":{"item":"plastic_bag","item_score":0.8712,'
        '"category":"other","category_score":0.9301,"category_scores":{"recyclable":0.05,"hazardous":0.0099,'
        '"kitchen":0.01,"other":0.9301},"frames":5},"flags":["mixed_disposal","kitchen_contamination"],'
        '"model_version":"2026.11.26","evidence":[]}'
    )
    r = post_raw(world, "/api/v1/events", text, world.device())
    assert r.status_code == 201, r.text
    with world.app.state.db.read() as session:
        stored = session.get(Event, "3f6d7c52-5f1e-4a43-9d0e-0a1f5c7c9b11")
        assert stored.flagged and stored.pred_item_score == 0.8712


def test_whole_numbers_where_the_schema_says_number_are_fine(world: World):
    body = make_event()
    body["prediction"].update(item_score=1, category_score=1)
    assert world.client.post("/api/v1/events", json=body, headers=world.device()).status_code == 201


# -- device clocks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "started",
    [NOW + dt.timedelta(days=365), dt.datetime(2100, 1, 1, tzinfo=dt.UTC), dt.datetime(9000, 6, 1, tzinfo=dt.UTC)],
)
def test_future_events_are_refused_with_retry_after(world: World, started):
    r = world.client.post("/api/v1/events", json=make_event(started_at=started), headers=world.device())
    assert r.status_code == 422 and "ahead of the collector's clock" in r.json()["detail"]
    ahead = (started + dt.timedelta(seconds=4) - now()).total_seconds()  # the event ends 4 s after it starts
    assert ahead - 300 - 5 <= int(r.headers["retry-after"]) <= ahead - 300 + 5  # when it would be accepted
    assert count_events(world) == 0
    assert world.client.get("/api/v1/ledger.csv", headers=world.user()).text.count("\n") == 1  # the header only


@pytest.mark.parametrize(
    "started", [dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2, 1, 1)]
)
def test_events_from_a_reset_clock_are_refused(world: World, started):
    started = started.replace(tzinfo=dt.UTC)
    r = world.client.post("/api/v1/events", json=make_event(started_at=started), headers=world.device())
    assert r.status_code == 422 and "clock is wrong" in r.json()["detail"]
    assert count_events(world) == 0


def test_a_clock_a_little_ahead_is_tolerated(world: World):
    body = make_event(started_at=now() + dt.timedelta(seconds=60))  # ends 64 s ahead, within the default 300 s
    assert world.client.post("/api/v1/events", json=body, headers=world.device()).status_code == 201


def test_the_tolerance_is_a_setting(settings, template):
    app = create_app(settings.model_copy(update={"max_clock_skew_s": 10.0}))
    with TestClient(app) as client:
        world = World(app, client, template.entity_id, template.device_tokens, template.user_ids)
        r = client.post(
            "/api/v1/events", json=make_event(started_at=now() + dt.timedelta(seconds=60)), headers=world.device()
        )
        assert r.status_code == 422 and "more than the 10 s allowed" in r.json()["detail"]
        assert 40 <= int(r.headers["retry-after"]) <= 55  # ends 64 s ahead, 10 s allowed
    app.state.db.dispose()


@pytest.mark.parametrize("sent_at", [NOW + dt.timedelta(days=1), dt.datetime(1970, 1, 1, tzinfo=dt.UTC)])
def test_heartbeats_from_a_wrong_clock_are_refused(world: World, sent_at):
    r = world.client.post("/api/v1/heartbeats", json=heartbeat(sent_at=sent_at.isoformat()), headers=world.device())
    assert r.status_code == 422 and "sent_at" in r.json()["detail"]
    with world.app.state.db.read() as session:
        assert session.get(Device, "dev-a").last_heartbeat is None


# Found by fuzzing the pages and the ledger (every one of these was a 500): days a datetime cannot hold once moved
# to UTC, ids past what SQLite can compare with, a digit that is not ASCII.
FAR_DAYS = ["0001-01-01", "9999-12-31"]
HUGE_ID = str(2**63)


@pytest.mark.parametrize("path", ["/api/v1/ledger.csv", "/api/v1/stats"])
@pytest.mark.parametrize("key", ["since", "until"])
@pytest.mark.parametrize("day", FAR_DAYS)
def test_days_no_datetime_can_hold_are_422_in_the_api(world: World, path, key, day):
    assert_refused_cleanly(world.client.get(path, params={key: day}, headers=world.user()))


def test_the_days_a_request_may_name_still_reach_the_ledger(world: World):
    r = world.client.get(
        "/api/v1/ledger.csv", params={"since": "1970-01-01", "until": "9998-12-31"}, headers=world.user()
    )
    assert r.status_code == 200 and r.text.lstrip("\ufeff").startswith("date,site_id,")


@pytest.mark.parametrize("path", ["/stats", "/stats/ledger.csv"])
@pytest.mark.parametrize("day", FAR_DAYS)
def test_days_no_datetime_can_hold_send_the_stats_pages_back_with_an_error(world: World, path, day):
    for key in ("since", "until"):
        r = browser(world).get(path, params={key: day})
        assert r.status_code == 303 and r.headers["location"].startswith("/stats?error="), r.text


@pytest.mark.parametrize("day", FAR_DAYS)
def test_far_days_and_months_in_the_review_queue_are_no_error_of_the_server(world: World, day):
    client = browser(world)
    r = client.get("/review", params={"day": day})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    r = client.get("/review", params={"month": day[:7]})  # an unknown month shows the queue's own
    assert r.status_code == 200 and 'class="calendar' in r.text


@pytest.mark.parametrize(
    "path", [f"/work-orders/{HUGE_ID}", f"/work-orders/{HUGE_ID}/photo", f"/work-orders/{HUGE_ID}/evidence/clip"]
)
def test_ids_past_the_tables_are_422_on_the_work_order_pages(world: World, path):
    assert browser(world, "admin").get(path).status_code == 422


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (f"/admin/users/{HUGE_ID}", {"role": "reviewer"}),
        (f"/admin/entities/{HUGE_ID}", {"name": "E", "type": "property"}),
        (f"/admin/platform/deliveries/{HUGE_ID}/retry", {}),
        ("/admin/sites", {"site_id": "s9", "name": "S", "address": "A", "entity_id": HUGE_ID}),
        ("/admin/sites/site-a", {"name": "S", "address": "A", "entity_id": HUGE_ID}),
    ],
)
def test_ids_past_the_tables_are_422_in_the_admin_forms(world: World, path, form):
    client = browser(world, "admin")
    token = csrf(client, "/admin/users")
    assert client.post(path, data={**form, "csrf": token}).status_code == 422


@pytest.mark.parametrize(("entity_id", "message"), [(HUGE_ID, f"no entity {HUGE_ID}"), ("²", "needs the id")])
def test_an_entity_no_table_holds_sends_the_user_form_back_with_an_error(world: World, entity_id, message):
    client = browser(world, "admin")
    token = csrf(client, "/admin/users")
    new = {"username": "ursula", "password": "password-123", "role": "entity", "entity_id": entity_id, "csrf": token}
    changed = {"role": "entity", "entity_id": entity_id, "csrf": token}
    for path, form in (("/admin/users", new), (f"/admin/users/{world.user_ids['rita']}", changed)):
        r = client.post(path, data=form)
        assert r.status_code == 303 and message in unquote_plus(r.headers["location"]), r.headers["location"]


def test_a_form_of_raw_utf8_bytes_is_refused_not_stored_as_mojibake(world: World):
    """Browsers percent-escape a form; a client that sends raw UTF-8 bytes gets them read as Latin-1,
    whose C1 controls the names refuse."""
    client = browser(world, "admin")
    token = csrf(client, "/admin/entities")
    body = f"name=站点管理处&type=other&csrf={token}".encode()
    r = client.post("/admin/entities", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303 and "control+characters" in r.headers["location"], unquote_plus(r.headers["location"])
    r = client.post("/admin/entities", data={"name": "站点管理处", "type": "other", "csrf": token})
    assert "ok=" in r.headers["location"], unquote_plus(r.headers["location"])
    names = [e["name"] for e in world.client.get("/api/v1/entities", headers=world.user("admin")).json()]
    assert names.count("站点管理处") == 1 and not any("\x80" <= c <= "\x9f" for name in names for c in name)
