"""The API as clients other than the edge box use it: curl, python-requests, httpx, a monitor, a player.

Each test is something such a client sends by habit or by mistake (a form where JSON belongs, a
trailing slash, ``HEAD``, a compressed or multipart body, a ``+`` left unescaped in a query, a typo
in a filter), and what the collector must answer: the route's own answer, or an error that is JSON,
names what to send instead, and stores nothing. Where the wire matters (``Content-Length``, chunked
bodies, HEAD), the requests go to a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from binwatch.collector.db.tables import Device
from tests.collector.support import LiveServer, World, clip, jpeg, make_event, sha
from tests.collector.test_bad_input import assert_refused_cleanly
from tests.collector.test_ingest import count_events, heartbeat
from tests.collector.test_registry import onnx
from tests.collector.test_workorders import close, confirmed_violation, raise_order, step

# -- media types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded"],  # requests' data=, curl -d, a fetch() of a string
)
def test_json_sent_as_something_else_is_415_and_says_what_to_send(world: World, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    event = json.dumps(make_event()).encode()
    r = world.client.post("/api/v1/events", content=event, headers={**world.device(), **headers})
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["detail"], r.text
    assert count_events(world) == 0
    r = world.client.post("/api/v1/auth/login", content=b'{"username": "rita", "password": "x"}', headers=headers)
    assert r.status_code == 415, r.text


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "application/x+json"])
def test_json_media_types_with_parameters_or_a_suffix_are_json(world: World, content_type):
    event = json.dumps(make_event()).encode()
    r = world.client.post("/api/v1/events", content=event, headers={**world.device(), "Content-Type": content_type})
    assert r.status_code == 201, r.text


def test_an_empty_body_is_still_a_missing_body(world: World):
    r = world.client.post("/api/v1/events", headers={**world.device(), "Content-Type": "application/json"})
    assert_refused_cleanly(r)
    assert r.json()["detail"][0]["loc"] == ["body"]


def test_an_upload_sent_as_json_is_415(world: World):
    r = world.client.post("/api/v1/models", json={"version": "v1", "sha256": "0" * 64}, headers=world.user("admin"))
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"], r.text


def test_a_form_part_without_a_file_name_is_told_it_is_no_file(world: World):
    """``requests`` sends ``files={"file": (None, data)}`` as a plain field; FastAPI's message named a Python
    class."""
    data = onnx("a")
    r = world.client.post(
        "/api/v1/models",
        files={"version": (None, "v1"), "sha256": (None, sha(data)), "file": (None, data)},
        headers=world.user("admin"),
    )
    assert_refused_cleanly(r)
    assert r.json()["detail"][0]["loc"] == ["body", "file"] and "file name" in r.json()["detail"][0]["msg"]


def test_evidence_sent_as_a_multipart_form_is_415(world: World):
    """``curl -F`` or ``requests.put(files=...)``: the form's boundaries made it a size mismatch, which blamed
    the file."""
    crop = jpeg()
    body = world.post_event(make_event(evidence={"crop": crop}))
    url = f"/api/v1/events/{body['event_id']}/evidence/crop"
    r = world.client.put(url, files={"file": ("crop.jpg", crop, "image/jpeg")}, headers=world.device())
    assert r.status_code == 415 and "not a multipart form" in r.json()["detail"], r.text
    assert world.client.put(url, content=crop, headers=world.device()).status_code == 201


def test_compressed_bodies_are_415_not_blamed_on_their_content(world: World):
    crop = jpeg()
    body = make_event(evidence={"crop": crop})
    gzipped = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = world.client.post(
        "/api/v1/events", content=gzip.compress(json.dumps(body).encode()), headers={**world.device(), **gzipped}
    )
    assert r.status_code == 415 and "Content-Encoding gzip" in r.json()["detail"], r.text
    assert count_events(world) == 0
    world.post_event(body)
    url = f"/api/v1/events/{body['event_id']}/evidence/crop"
    r = world.client.put(url, content=gzip.compress(crop), headers={**world.device(), "Content-Encoding": "gzip"})
    assert r.status_code == 415, r.text
    r = world.client.put(url, content=crop, headers={**world.device(), "Content-Encoding": "identity"})
    assert r.status_code == 201, r.text


# -- the wire: sizes, HEAD, slashes ---------------------------------------------------------------


def test_a_body_over_its_limit_is_a_json_413_whether_declared_or_chunked(live_server: LiveServer):
    world, limit = live_server.world, live_server.world.app.state.settings.max_json_bytes
    too_big = b"{" + b" " * limit + b"}"
    with httpx.Client(base_url=live_server.url) as client:
        declared = client.post(
            "/api/v1/events", content=too_big, headers={**world.device(), "Content-Type": "application/json"}
        )
        chunked = client.post(
            "/api/v1/events",
            content=iter([too_big[:1000], too_big[1000:]]),
            headers={**world.device(), "Content-Type": "application/json"},
        )
        anonymous = client.post("/api/v1/events", content=too_big)  # refused before anything else
    for r in (declared, chunked, anonymous):
        assert r.status_code == 413 and r.headers["content-type"] == "application/json", r.text
    assert str(limit) in declared.json()["detail"]
    assert count_events(world) == 0


def test_head_is_answered_as_get_without_the_body(live_server: LiveServer, caplog):
    """RFC 9110 asks every server for HEAD; monitors, ``curl -I`` and download managers send it. The route is
    stopped at its first piece of body, quietly."""
    world = live_server.world
    video = clip(20_000)
    body = make_event(evidence={"clip": video})
    world.post_event(body)
    assert world.upload(body, "clip", video).status_code == 201
    with httpx.Client(base_url=live_server.url) as client:
        health = client.head("/api/v1/health")
        evidence = client.head(f"/api/v1/events/{body['event_id']}/evidence/clip", headers=world.user())
        refused = client.head(f"/api/v1/events/{body['event_id']}/evidence/clip")
        page = client.head("/login")
        post_only = client.head("/api/v1/heartbeats")
    assert health.status_code == 200 and health.content == b""
    assert evidence.status_code == 200 and evidence.content == b""
    assert evidence.headers["content-length"] == str(len(video)) and evidence.headers["accept-ranges"] == "bytes"
    assert refused.status_code == 401
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_trailing_slash_on_an_api_path_reaches_its_route(live_server: LiveServer):
    """FastAPI answered 307 with no body: ``curl -X POST`` does not follow it and exits 0, having sent nothing."""
    world = live_server.world
    video = clip(1_500_000)  # over the JSON limit: the evidence route's own limit must apply
    body = make_event(evidence={"clip": video})
    with httpx.Client(base_url=live_server.url) as client:
        posted = client.post("/api/v1/events/", json=body, headers=world.device())
        uploaded = client.put(
            f"/api/v1/events/{body['event_id']}/evidence/clip/", content=video, headers=world.device()
        )
        listed = client.get("/api/v1/events/", headers=world.user())
    assert posted.status_code == 201, posted.text
    assert uploaded.status_code == 201, uploaded.text
    assert listed.status_code == 200 and [e["event_id"] for e in listed.json()["events"]] == [body["event_id"]]


def test_one_event_posted_ten_times_at_once_is_one_row(live_server: LiveServer):
    world, body = live_server.world, make_event()
    with httpx.Client(base_url=live_server.url) as client, ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.post("/api/v1/events", json=body, headers=world.device()), range(10)))
    assert sorted(r.status_code for r in answers) == [200] * 9 + [201]
    assert len({r.json()["received_at"] for r in answers}) == 1
    assert count_events(world) == 1


# -- ranges -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-1", "bytes=abc", "bytes=,"])
def test_a_range_header_that_cannot_be_honoured_is_ignored(world: World, header):
    """RFC 9110: a range in another unit, or a range-set that is syntactically invalid, is ignored; Starlette
    answered 400 in plain text."""
    video = clip(10_000)
    body = make_event(evidence={"clip": video})
    world.post_event(body)
    world.upload(body, "clip", video)
    r = world.client.get(f"/api/v1/events/{body['event_id']}/evidence/clip", headers={**world.user(), "Range": header})
    assert r.status_code == 200 and r.content == video


# -- query strings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "siteid=site-a",  # a typo answered with every event
        "status=unreviewed",
        "site_id=site-a&site_id=site-b",  # the last one won
        "limit=1&limit=200",
    ],
)
def test_unknown_and_repeated_query_parameters_are_422(world: World, query):
    world.post_event(make_event())
    r = world.client.get(f"/api/v1/events?{query}", headers=world.user())
    assert_refused_cleanly(r)
    name = query.split("=")[0]
    assert r.json()["detail"][0]["loc"] == ["query", name]


def test_the_documented_parameters_still_work_and_a_refusal_lists_them(world: World):
    body = world.post_event(make_event())
    r = world.client.get(
        "/api/v1/events", params={"site_id": "site-a", "limit": 1, "flagged": "true"}, headers=world.user()
    )
    assert r.status_code == 200 and [e["event_id"] for e in r.json()["events"]] == [body["event_id"]]
    r = world.client.get("/api/v1/events/counts", params={"day": "2026-11-20", "page": 2}, headers=world.user())
    assert r.status_code == 422 and "bin_id, day, device_id" in r.json()["detail"][0]["msg"]
    r = world.client.get(f"/api/v1/events/{body['event_id']}?verbose=1", headers=world.user())
    assert r.status_code == 422 and r.json()["detail"][0]["msg"].endswith("takes none")


def test_a_query_string_on_a_post_is_422_and_stores_nothing(world: World):
    r = world.client.post("/api/v1/events?debug=1", json=make_event(), headers=world.device())
    assert_refused_cleanly(r)
    assert count_events(world) == 0


def test_a_plus_left_unescaped_in_a_time_is_read_as_the_offset(world: World):
    """``since=…+08:00`` typed into curl or a browser arrives as ``… 08:00``; it was "unexpected extra characters"."""
    early = world.post_event(make_event(started_at=dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)))
    late = world.post_event(make_event(started_at=dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)))
    for since in ("2026-11-20T10:00:00+08:00", "2026-11-20T10:00:00%2B08:00", "2026-11-20T02:00:00Z"):
        r = world.client.get(f"/api/v1/events?since={since}", headers=world.user())
        assert r.status_code == 200, r.text
        assert [e["event_id"] for e in r.json()["events"]] == [late["event_id"]], since
    r = world.client.get("/api/v1/events?until=2026-11-20T10:00:00+0800", headers=world.user())
    assert [e["event_id"] for e in r.json()["events"]] == [early["event_id"]]


@pytest.mark.parametrize(
    "path", ["/api/v1/stats", "/api/v1/ledger.csv", "/api/v1/export/reviewed.zip", "/api/v1/events"]
)
@pytest.mark.parametrize("value", ["1764720000", "1764720001", "2026-11-20T00:00:00", "yesterday"])
def test_days_in_queries_are_iso_text_not_epoch_seconds(world: World, path, value):
    """Pydantic read digits as epoch seconds: ``since=1764720000`` was 2025-12-03, one second later a 422
    about "zero time"."""
    key = "day" if path == "/api/v1/events" else "since"
    r = world.client.get(path, params={key: value}, headers=world.user("admin"))
    assert_refused_cleanly(r)
    assert "YYYY-MM-DD" in r.json()["detail"][0]["msg"]


def test_the_export_refuses_a_range_that_ends_before_it_starts(world: World):
    r = world.client.get(
        "/api/v1/export/reviewed.zip",
        params={"since": "2026-11-21", "until": "2026-11-20"},
        headers=world.user("admin"),
    )
    assert r.status_code == 422 and r.json()["detail"] == "since is after until"


# -- bodies that hold only an optional note -----------------------------------------------------------


def test_steps_whose_note_is_optional_need_no_body(world: World):
    """``curl -X POST …/undo`` was "body: Field required", though the body holds only an optional note."""
    body = confirmed_violation(world)
    order = raise_order(world, body["event_id"]).json()["order_id"]
    acknowledged = world.client.post(f"/api/v1/work-orders/{order}/acknowledge", headers=world.user("erin"))
    assert acknowledged.status_code == 200 and acknowledged.json()["state"] == "acknowledged", acknowledged.text
    assert close(world, order, jpeg()).status_code == 200
    reopened = world.client.post(f"/api/v1/work-orders/{order}/reopen", headers=world.user())
    assert reopened.status_code == 422 and "needs a note" in reopened.json()["detail"]  # the rule, not the body
    assert step(world, order, "reopen", who="rita", note="still bags on the ground").status_code == 200
    cancelled = world.client.post(f"/api/v1/work-orders/{order}/cancel", headers=world.user())
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
    undone = world.client.post(f"/api/v1/events/{body['event_id']}/undo", headers=world.user())
    assert undone.status_code == 200 and undone.json()["action"] == "undo", undone.text
    assert step(world, order, "acknowledge", note="x" * 3000).status_code == 422  # a body, when sent, is checked


# -- credentials ------------------------------------------------------------------------------------


def test_a_token_of_the_other_kind_or_in_another_scheme_is_told_so(world: World):
    device, person = world.device_tokens["dev-a"], world.token("rita")
    cases = [
        ("/api/v1/events", {"Authorization": f"Bearer {device}"}, "this is a device token"),
        ("/api/v1/device/model", {"Authorization": f"Bearer {person}"}, "login token"),
        ("/api/v1/device/model", {"Authorization": f"Token {device}"}, "must be `Bearer <token>`"),
        ("/api/v1/events", {"Authorization": person}, "must be `Bearer <token>`"),
        ("/api/v1/events", {}, "log in first"),
    ]
    for path, headers, said in cases:
        r = world.client.get(path, headers=headers)
        assert r.status_code == 401 and said in r.json()["detail"], (path, r.text)
    assert world.client.get("/api/v1/device/model", headers={"Authorization": f"bearer  {device}"}).status_code == 404
    r = world.client.post("/api/v1/heartbeats", json=heartbeat(), headers={"Authorization": f"BEARER {device}"})
    assert r.status_code == 200
    with world.app.state.db.read() as session:
        assert session.get(Device, "dev-a").last_heartbeat is not None
