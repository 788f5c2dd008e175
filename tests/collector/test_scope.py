"""A responsible entity's user sees only its own entity's sites, on every route it may call.

Site A belongs to erin's entity, site B to another. Each side has a flagged disposal with its crop,
a confirmed violation with a work order closed with a photo; site B also has a disposal waiting for
review. Every ``scoped`` route of the roles table is checked here (a new one fails
``test_every_scoped_route_is_checked`` until it is): lists hold only site A's things, and site B's
things are answered 404, as if they did not exist.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from tests.collector.support import World, jpeg, sha
from tests.collector.test_roles import ACCESS


@dataclass
class Side:
    event: str
    order: int
    device: str
    site: str
    entity: int


def raise_closed_order(world: World, device: str, closer: dict) -> Side:
    crop = jpeg(seed=3)
    body = world.event(device, evidence={"crop": crop})
    if device == "dev-b":
        body.update(bin_id="x1", bin_category="other")  # site B lists no bins: any bin is accepted
    world.post_event(body)
    assert world.upload(body, "crop", crop).status_code == 201
    r = world.client.post(f"/api/v1/events/{body['event_id']}/review", json={"action": "confirm"}, headers=world.user())
    assert r.status_code == 200
    r = world.client.post("/api/v1/work-orders", json={"event_id": body["event_id"]}, headers=world.user())
    assert r.status_code == 201, r.text
    order = r.json()
    photo = jpeg(seed=9)
    r = world.client.post(
        f"/api/v1/work-orders/{order['order_id']}/close",
        data={"note": "swept and sorted"},
        files={"photo": ("p.jpg", photo, "image/jpeg")},
        headers=closer,
    )
    assert r.status_code == 200 and r.json()["photo"]["sha256"] == sha(photo), r.text
    return Side(body["event_id"], order["order_id"], device, body["site_id"], order["entity_id"])


@pytest.fixture
def sides(world: World) -> tuple[Side, Side]:
    admin = world.user("admin")
    other_entity = world.client.get("/api/v1/sites/site-b", headers=admin).json()["entity_id"]
    r = world.client.post(
        "/api/v1/users",
        json={"username": "bob", "password": "bob-password-1", "role": "entity", "entity_id": other_entity},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    login = world.client.post("/api/v1/auth/login", json={"username": "bob", "password": "bob-password-1"}).json()
    bob = {"Authorization": f"Bearer {login['token']}"}
    sides = raise_closed_order(world, "dev-a", world.user("erin")), raise_closed_order(world, "dev-b", bob)
    world.post_event(world.event("dev-b", bin_id="x1", bin_category="other"))  # waits for review, on site B only
    return sides


def get(world: World, path: str, **params):
    return world.client.get(path, params=params, headers=world.user("erin"))


def ids(answer, key: str, inner: str | None = None) -> set:
    body = answer.json()
    rows = body[inner] if inner else body
    return {row[key] for row in rows}


def own_and_other(path: str, field: str):
    """A detail route: 200 for erin's own thing, 404 for the other entity's."""

    def check(w: World, own: Side, other: Side) -> bool:
        paths = (path.format(getattr(own, field)), path.format(getattr(other, field)))
        return tuple(get(w, p).status_code for p in paths) == (200, 404)

    return check


def ledger_sites(answer) -> set[str]:
    return {row["site_id"] for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))}


CHECKS = {
    ("GET", "/api/v1/events"): lambda w, own, other: ids(get(w, "/api/v1/events"), "event_id", "events") == {own.event},
    ("GET", "/api/v1/events/counts"): lambda w, own, other: (
        get(w, "/api/v1/events/counts").json()["total"] == 0
        and w.client.get("/api/v1/events/counts", headers=w.user()).json()["total"] == 1
        and get(w, "/api/v1/events/counts", entity_id=other.entity).status_code == 404
    ),
    ("GET", "/api/v1/events/{event_id}"): own_and_other("/api/v1/events/{}", "event"),
    ("GET", "/api/v1/events/{event_id}/evidence/{kind}"): own_and_other("/api/v1/events/{}/evidence/crop", "event"),
    ("GET", "/api/v1/events/{event_id}/reviews"): own_and_other("/api/v1/events/{}/reviews", "event"),
    ("GET", "/api/v1/stats"): lambda w, own, other: (
        ids(get(w, "/api/v1/stats", by="site"), "key", "rows") == {own.site}
        and get(w, "/api/v1/stats", entity_id=other.entity).status_code == 404
    ),
    ("GET", "/api/v1/ledger.csv"): lambda w, own, other: (
        ledger_sites(get(w, "/api/v1/ledger.csv")) == {own.site}
        and get(w, "/api/v1/ledger.csv", entity_id=other.entity).status_code == 404
    ),
    ("GET", "/api/v1/devices"): lambda w, own, other: (
        ids(get(w, "/api/v1/devices"), "device_id") == {"dev-a", "dev-a2"}
    ),
    ("GET", "/api/v1/devices/{device_id}"): own_and_other("/api/v1/devices/{}", "device"),
    ("GET", "/api/v1/sites"): lambda w, own, other: ids(get(w, "/api/v1/sites"), "site_id") == {own.site},
    ("GET", "/api/v1/sites/{site_id}"): own_and_other("/api/v1/sites/{}", "site"),
    ("GET", "/api/v1/entities"): lambda w, own, other: ids(get(w, "/api/v1/entities"), "id") == {own.entity},
    ("GET", "/api/v1/entities/{entity_id}"): own_and_other("/api/v1/entities/{}", "entity"),
    ("GET", "/api/v1/work-orders"): lambda w, own, other: (
        ids(get(w, "/api/v1/work-orders"), "order_id", "orders") == {own.order}
        and get(w, "/api/v1/work-orders", entity_id=other.entity).status_code == 404
    ),
    ("GET", "/api/v1/work-orders/{order_id}"): own_and_other("/api/v1/work-orders/{}", "order"),
    ("GET", "/api/v1/work-orders/{order_id}/photo"): own_and_other("/api/v1/work-orders/{}/photo", "order"),
}


def test_every_scoped_route_is_checked():
    assert set(CHECKS) == {route for route, access in ACCESS.items() if access == "scoped"}


def test_an_entity_user_sees_only_its_own_sites(world: World, sides):
    own, other = sides
    wrong = [f"{method} {path}" for (method, path), check in sorted(CHECKS.items()) if not check(world, own, other)]
    assert not wrong, "an entity's user sees too much, or too little, on:\n" + "\n".join(wrong)
    # a reviewer, by contrast, sees both sides
    listed = world.client.get("/api/v1/work-orders", headers=world.user()).json()["orders"]
    assert {o["order_id"] for o in listed} == {own.order, other.order}


def test_an_entity_user_acts_only_on_its_own_orders(world: World, sides):
    own, other = sides
    erin = world.user("erin")
    r = world.client.post(f"/api/v1/work-orders/{other.order}/acknowledge", json={}, headers=erin)
    assert r.status_code == 404
    r = world.client.post(
        f"/api/v1/work-orders/{other.order}/close",
        data={"note": "not mine"},
        files={"photo": ("p.jpg", jpeg(), "image/jpeg")},
        headers=erin,
    )
    assert r.status_code == 404
    r = world.client.post(f"/api/v1/events/{own.event}/review", json={"action": "reject"}, headers=erin)
    assert r.status_code == 403


def test_an_entity_user_belongs_to_one_entity(world: World):
    admin = world.user("admin")
    body = {"username": "ella", "password": "ella-password-1", "role": "entity"}
    r = world.client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 422 and "needs the id of its responsible entity" in r.json()["detail"]
    r = world.client.post("/api/v1/users", json={**body, "role": "reviewer", "entity_id": 1}, headers=admin)
    assert r.status_code == 422 and "only a user of the entity role" in r.json()["detail"]
    erin = world.user_ids["erin"]
    r = world.client.patch(f"/api/v1/users/{erin}", json={"role": "reviewer"}, headers=admin)
    assert r.status_code == 200 and r.json()["entity_id"] is None  # a reviewer belongs to no entity
    r = world.client.patch(
        f"/api/v1/users/{erin}", json={"role": "entity", "entity_id": world.entity_id}, headers=admin
    )
    assert r.status_code == 200 and r.json()["entity_id"] == world.entity_id
    world.client.patch("/api/v1/sites/site-a", json={"entity_id": 2}, headers=admin)  # the site goes elsewhere
    r = world.client.delete(f"/api/v1/entities/{world.entity_id}", headers=admin)
    assert r.status_code == 409 and "user accounts" in r.json()["detail"]
