"""A schema-driven fuzz of the whole API (schemathesis against the app's own OpenAPI document).

Every operation gets generated requests, valid and invalid, with the credentials it needs.
No answer may be a 5xx, and every answer must match what the document says it returns.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
from tests.collector.support import provision

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
def users() -> dict[str, int]:
    _entity, _tokens, user_ids = provision(APP)
    yield user_ids
    APP.state.db.dispose()
    _DATA.cleanup()


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
