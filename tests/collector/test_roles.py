"""Every API route against every role: who is let in and who is refused.

The table must name every operation of the OpenAPI document, so that a new route cannot be
added without saying who may call it. A responsible entity's user (role ``entity``) may call the
``scoped`` routes, and sees only its own entity's sites there (``test_scope.py``).
"""

from __future__ import annotations

import pytest

from tests.collector.support import World, make_event

EVENT = "3f3f3f3f-0000-4000-8000-000000000001"
ACCESS = {
    ("GET", "/api/v1/health"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/logout"): "user",
    ("GET", "/api/v1/auth/me"): "user",
    ("POST", "/api/v1/events"): "device",
    ("PUT", "/api/v1/events/{event_id}/evidence/{kind}"): "device",
    ("POST", "/api/v1/heartbeats"): "device",
    ("GET", "/api/v1/device/model"): "device",
    ("GET", "/api/v1/models/{version}/file"): "device_or_admin",
    ("GET", "/api/v1/events"): "scoped",
    ("GET", "/api/v1/events/counts"): "scoped",
    ("POST", "/api/v1/reviews"): "staff",
    ("GET", "/api/v1/events/{event_id}"): "scoped",
    ("GET", "/api/v1/events/{event_id}/evidence/{kind}"): "scoped",
    ("POST", "/api/v1/events/{event_id}/review"): "staff",
    ("POST", "/api/v1/events/{event_id}/undo"): "staff",
    ("GET", "/api/v1/events/{event_id}/reviews"): "scoped",
    ("GET", "/api/v1/stats"): "scoped",
    ("GET", "/api/v1/ledger.csv"): "scoped",
    ("GET", "/api/v1/devices"): "scoped",
    ("GET", "/api/v1/devices/{device_id}"): "scoped",
    ("GET", "/api/v1/sites"): "scoped",
    ("GET", "/api/v1/sites/{site_id}"): "scoped",
    ("GET", "/api/v1/entities"): "scoped",
    ("GET", "/api/v1/entities/{entity_id}"): "scoped",
    ("GET", "/api/v1/work-orders"): "scoped",
    ("GET", "/api/v1/work-orders/{order_id}"): "scoped",
    ("GET", "/api/v1/work-orders/{order_id}/photo"): "scoped",
    ("POST", "/api/v1/work-orders"): "staff",
    ("POST", "/api/v1/work-orders/{order_id}/reopen"): "staff",
    ("POST", "/api/v1/work-orders/{order_id}/cancel"): "staff",
    ("POST", "/api/v1/work-orders/{order_id}/acknowledge"): "entity",
    ("POST", "/api/v1/work-orders/{order_id}/close"): "entity",
    ("GET", "/api/v1/platform/status"): "admin",
    ("GET", "/api/v1/platform/deliveries"): "admin",
    ("POST", "/api/v1/platform/deliveries/{delivery_id}/retry"): "admin",
    ("GET", "/api/v1/export/reviewed.zip"): "admin",
    ("POST", "/api/v1/devices"): "admin",
    ("POST", "/api/v1/devices/{device_id}/token"): "admin",
    ("POST", "/api/v1/devices/{device_id}/revoke"): "admin",
    ("POST", "/api/v1/sites"): "admin",
    ("PATCH", "/api/v1/sites/{site_id}"): "admin",
    ("DELETE", "/api/v1/sites/{site_id}"): "admin",
    ("POST", "/api/v1/entities"): "admin",
    ("PATCH", "/api/v1/entities/{entity_id}"): "admin",
    ("DELETE", "/api/v1/entities/{entity_id}"): "admin",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("GET", "/api/v1/models"): "admin",
    ("POST", "/api/v1/models"): "admin",
    ("POST", "/api/v1/models/{version}/current"): "admin",
    ("POST", "/api/v1/models/rollback"): "admin",
}
PARAMS = {
    "event_id": EVENT,
    "kind": "crop",
    "version": "v1",
    "device_id": "dev-b",
    "site_id": "site-b",
    "entity_id": "2",
    "user_id": "3",
    "order_id": "1",
    "delivery_id": "1",
}
# Who may call what: admins may do what reviewers may; devices only their own routes; a responsible
# entity's user the scoped routes (within its entity) and the steps of its own work orders.
ALLOWED = {
    "public": {"anonymous", "device", "reviewer", "admin", "entity"},
    "device": {"device"},
    "device_or_admin": {"device", "admin"},
    "user": {"reviewer", "admin", "entity"},
    "scoped": {"reviewer", "admin", "entity"},
    "staff": {"reviewer", "admin"},
    "entity": {"entity"},
    "admin": {"admin"},
}
PEOPLE = ("user", "scoped", "staff", "entity", "admin")


def test_the_table_names_every_operation(world: World):
    spec = world.client.get("/api/v1/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert operations == set(ACCESS)


def call(world: World, method: str, path: str, headers: dict):
    url = path.format(**PARAMS)
    if method == "PUT":
        return world.client.put(url, content=b"x", headers=headers)
    if method in ("POST", "PATCH"):
        return world.client.request(method, url, json={}, headers=headers)
    return world.client.request(method, url, headers=headers)


@pytest.mark.parametrize("role", ["anonymous", "device", "reviewer", "admin", "entity"])
def test_each_role_on_each_route(world: World, role):
    body = make_event()
    world.post_event(body)
    headers = {
        "anonymous": {},
        "device": world.device("dev-b"),
        "reviewer": world.user("rita"),
        "admin": world.user("admin"),
        "entity": world.user("erin"),
    }[role]
    wrong = []
    for (method, path), access in ACCESS.items():
        if path == "/api/v1/auth/logout":
            continue  # would end the login the other checks use; tested in test_auth
        status = call(world, method, path, headers).status_code
        allowed = role in ALLOWED[access]
        if allowed and status in (401, 403):
            wrong.append(f"{role} refused ({status}) on {method} {path}")
        if not allowed and status not in (401, 403):
            wrong.append(f"{role} let in ({status}) on {method} {path}")
        if not allowed and role in ("anonymous", "device") and access in PEOPLE and status != 401:
            wrong.append(f"{role} got {status}, not 401, on {method} {path}")
        if not allowed and role in ("reviewer", "admin", "entity") and access in PEOPLE and status != 403:
            wrong.append(f"{role} got {status}, not 403, on {method} {path}")
        assert status < 500, f"{status} on {method} {path}"
    assert not wrong, "\n".join(wrong)
