"""Fuzzing the API: no input, however odd, gets a 5xx.

A schema-driven fuzz of every operation (schemathesis against the app's own OpenAPI document):
generated requests, valid and invalid, with the credentials they need; every answer must match
what the document says. And a property fuzz of what the edge boxes send (hypothesis): events and
heartbeats as JSON text with the values a schema-driven fuzzer does not write, NaN and
infinities (which Python's JSON parser reads), lone surrogates, huge and tiny numbers, far
dates, numbers where text belongs; each must be stored (201/200) or refused with a 4xx
whose body is JSON, and what is refused is not stored.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from binwatch.collector.app import create_app
from binwatch.collector.auth import open_login
from binwatch.collector.db.tables import User
from binwatch.collector.provisioning import rotate_device_token
from binwatch.collector.settings import Settings
from tests.collector.support import make_event, provision
from tests.collector.test_ingest import heartbeat

DEVICE_ONLY = {
    ("POST", "/api/v1/events"),
    ("PUT", "/api/v1/events/{event_id}/evidence/{kind}"),
    ("POST", "/api/v1/heartbeats"),
    ("GET", "/api/v1/device/model"),
}


# One app for the whole module: the schema must exist when the tests are collected, and state
# that earlier operations leave behind (sites, devices, events) makes later ones go deeper.
_DATA = tempfile.TemporaryDirectory(prefix="collector-fuzz-")
APP = create_app(Settings(data_dir=Path(_DATA.name) / "data"))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def provisioned() -> tuple[dict[str, str], dict[str, int]]:
    _entity, tokens, user_ids = provision(APP)
    yield tokens, user_ids
    APP.state.db.dispose()
    _DATA.cleanup()


@pytest.fixture(scope="module")
def users(provisioned) -> dict[str, int]:
    return provisioned[1]


def fresh_credentials(admin_id: int) -> tuple[str, str]:
    """A new admin login and device token for each request: a generated request may end the old ones
    (log out, change the admin's password, replace the device's token) without ending the fuzz."""
    with APP.state.db.write() as session:
        token, _login = open_login(session, session.get(User, admin_id), 600)
        device_token = rotate_device_token(session, "dev-a")
    APP.state.lookups.forget_device("dev-a")
    return token, device_token


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, users):
    admin_token, device_token = fresh_credentials(users["admin"])
    device = (case.method.upper(), case.path) in DEVICE_ONLY
    token = device_token if device or case.path == "/api/v1/models/{version}/file" else admin_token
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


# -- the property fuzz of what boxes send ---------------------------------------------------------

NASTY_NUMBERS = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 10**30, -(10**30), 2**63, 2**64, 0, 1, -1]
)
NUMBERS = NASTY_NUMBERS | st.floats(allow_nan=True, allow_infinity=True) | st.integers()
# Text with lone surrogates and control characters, which JSON escapes and UTF-8 cannot carry.
TEXT = st.text(st.characters(codec=None, categories=["Cs", "Cc", "Lo", "Nd", "Ll", "Zs", "So"]), max_size=80)
ZONES = st.timezones() | st.just(dt.UTC)
FAR_TIMES = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=ZONES)
RECENT_TIMES = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 11, 30), timezones=ZONES)
TIMES = (RECENT_TIMES | FAR_TIMES).map(dt.datetime.isoformat)
PROBABILITIES = st.sampled_from([0.0, 5e-324, 1e-300, 0.5, 1.0, 1]) | st.floats(0, 1)
SCALARS = NUMBERS | TEXT | TIMES | st.booleans() | st.none()
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=8
)
EVENT_FIELDS = list(make_event())
PREDICTION_FIELDS = ["item", "item_score", "category", "category_score", "category_scores", "frames"]


def post_json(path: str, body, token: str | None = None):
    """``body`` as a client's JSON encoder writes it (NaN and Infinity as Python writes them, surrogates as
    escapes), posted to the app, with ``token`` as the bearer when given."""
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    with TestClient(APP) as client:
        return client.post(path, content=json.dumps(body, allow_nan=True, ensure_ascii=True).encode(), headers=headers)


@st.composite
def odd_events(draw) -> dict:
    """A real event with a few of its fields (top level or in its prediction) set to odd values."""
    started = draw(RECENT_TIMES | FAR_TIMES)
    body = make_event(
        "dev-b", bin_id="b1", bin_category="other", item="battery", flags=("mixed_disposal",), started_at=started
    )
    body["prediction"].update(item_score=draw(PROBABILITIES), category_score=draw(PROBABILITIES))
    if draw(st.booleans()):
        body["ended_at"] = draw(TIMES)
    for field in draw(st.lists(st.sampled_from(EVENT_FIELDS), max_size=2, unique=True)):
        body[field] = draw(VALUES)
    if isinstance(body.get("prediction"), dict):
        for field in draw(st.lists(st.sampled_from(PREDICTION_FIELDS), max_size=2, unique=True)):
            body["prediction"][field] = draw(NUMBERS | SCALARS)
    if draw(st.integers(0, 9)) == 0:
        body[draw(TEXT)] = draw(VALUES)  # a field nobody knows, perhaps under a surrogate
    return body


@st.composite
def odd_heartbeats(draw) -> dict:
    body = heartbeat("dev-b", site_id="site-b", sent_at=draw(TIMES))
    for field in draw(st.lists(st.sampled_from(list(body)), max_size=2, unique=True)):
        body[field] = draw(VALUES)
    if draw(st.booleans()):
        body["stage_ms"] = draw(st.dictionaries(TEXT, NUMBERS, max_size=3))
    return body


def assert_answered(r) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    json.loads(r.content.decode("utf-8"))  # the answer is strict UTF-8 JSON, whatever came in


def stored_event(event_id) -> bool:
    from binwatch.collector.db.tables import Event

    try:
        with APP.state.db.read() as session:
            return session.get(Event, str(event_id)) is not None
    except Exception:  # an id that is no text the database takes: certainly not stored
        return False


@given(body=odd_events())
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_odd_events_get_no_server_error(provisioned, body):
    r = post_json("/api/v1/events", body, provisioned[0]["dev-b"])
    assert_answered(r)
    if r.status_code in (200, 201):
        assert stored_event(body["event_id"])
    elif r.status_code != 409 and isinstance(body.get("event_id"), str):
        assert not stored_event(body["event_id"])  # what is refused is not stored


@st.composite
def extreme_valid_events(draw) -> dict:
    """Events the schema allows, at its edges: tiny and whole probabilities, any text in model_version, the
    most crops an int64 holds, times from the first allowed moment to the skew's end."""
    now = dt.datetime.now(dt.UTC)
    started = draw(st.datetimes(dt.datetime(2020, 1, 1), dt.datetime.now() + dt.timedelta(seconds=200)))
    body = make_event(
        "dev-b",
        bin_id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)),
        started_at=started.replace(tzinfo=dt.UTC),
        item="battery",
        flags=(),
    )
    body["ended_at"] = min(
        started.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=draw(st.integers(0, 90))), now
    ).isoformat()
    body["model_version"] = draw(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), min_size=1, max_size=64)
    )
    body["prediction"].update(
        item_score=draw(PROBABILITIES),
        category_score=draw(PROBABILITIES),
        category_scores={c: draw(PROBABILITIES) for c in draw(st.sets(st.sampled_from(["kitchen", "other"])))},
        frames=draw(st.sampled_from([1, 2**31, 2**63 - 1])),
    )
    return body


@given(body=extreme_valid_events())
@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_events_at_the_edges_of_the_schema_are_stored(provisioned, body):
    r = post_json("/api/v1/events", body, provisioned[0]["dev-b"])
    assert r.status_code == 201, r.text[:500]
    assert stored_event(body["event_id"])


@given(body=odd_heartbeats())
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_odd_heartbeats_get_no_server_error(provisioned, body):
    assert_answered(post_json("/api/v1/heartbeats", body, provisioned[0]["dev-b"]))


@given(username=TEXT | NUMBERS, password=TEXT | NUMBERS)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_odd_anonymous_logins_get_no_server_error(username, password):
    r = post_json("/api/v1/auth/login", {"username": username, "password": password})
    assert_answered(r)
    assert r.status_code in (401, 422, 429), r.text[:500]
