"""Admins manage responsible entities, sites and bins, devices and users; the rules hold through the API."""

from __future__ import annotations

import pytest

from tests.collector.support import World, make_event


def admin(world: World) -> dict:
    return world.user("admin")


def test_entities(world: World):
    r = world.client.post(
        "/api/v1/entities",
        json={"name": "某某业主委员会", "type": "owners_committee", "contact": "0396-1234567"},
        headers=admin(world),
    )
    assert r.status_code == 201
    entity = r.json()
    assert entity["type_zh"] == "业主委员会" and entity["site_ids"] == []
    r = world.client.patch(f"/api/v1/entities/{entity['id']}", json={"type": "shop_operator"}, headers=admin(world))
    assert r.json()["type"] == "shop_operator" and r.json()["name"] == "某某业主委员会"
    listed = world.client.get("/api/v1/entities", headers=world.user()).json()
    assert [e["site_ids"] for e in listed][:2] == [["site-a"], ["site-b"]]
    assert world.client.delete(f"/api/v1/entities/{world.entity_id}", headers=admin(world)).status_code == 409
    assert world.client.delete(f"/api/v1/entities/{entity['id']}", headers=admin(world)).status_code == 204
    assert world.client.get(f"/api/v1/entities/{entity['id']}", headers=world.user()).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "type": "king"},
        {"name": "", "type": "other"},
        {"name": "x\u0000", "type": "other"},
        {"name": "x", "type": "other", "id": 5},
    ],
)
def test_bad_entities(world: World, body):
    assert world.client.post("/api/v1/entities", json=body, headers=admin(world)).status_code == 422


def test_sites_and_bins(world: World):
    site = {
        "site_id": "site-c",
        "name": "三号楼 Block C",
        "address": "3 Harmony Road",
        "entity_id": world.entity_id,
        "bins": [{"bin_id": "k1", "category": "kitchen"}],
    }
    r = world.client.post("/api/v1/sites", json=site, headers=admin(world))
    assert r.status_code == 201 and r.json()["entity_type"] == "property_company"
    assert world.client.post("/api/v1/sites", json=site, headers=admin(world)).status_code == 409
    bins = [{"bin_id": "o1", "category": "other", "capacity_l": 240.0, "destination": "城东生活垃圾焚烧发电厂"}]
    r = world.client.patch("/api/v1/sites/site-c", json={"bins": bins}, headers=admin(world))
    assert r.json()["bins"] == bins
    assert r.json()["name"] == "三号楼 Block C"
    assert world.client.get("/api/v1/sites/site-c", headers=world.user()).json()["bins"][0]["bin_id"] == "o1"
    assert world.client.delete("/api/v1/sites/site-c", headers=admin(world)).status_code == 204
    assert world.client.delete("/api/v1/sites/site-a", headers=admin(world)).status_code == 409  # has devices
    assert world.client.get("/api/v1/sites/nope", headers=world.user()).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"entity_id": 999},
        {"site_id": "a/b"},
        {"bins": [{"bin_id": "k", "category": "x"}]},
        {"bins": [{"bin_id": "k", "category": "kitchen", "destination": ""}]},
        {"bins": [{"bin_id": "k", "category": "kitchen", "destination": "plant\nB"}]},
        {"address": ""},
        {"site_id": "."},
    ],
)
def test_bad_sites(world: World, change):
    site = {"site_id": "site-c", "name": "C", "address": "road", "entity_id": world.entity_id, **change}
    assert world.client.post("/api/v1/sites", json=site, headers=admin(world)).status_code == 422
    assert world.client.get("/api/v1/sites/site-c", headers=world.user()).status_code == 404


def test_new_bins_apply_to_ingest_at_once(world: World):
    assert (
        world.client.patch(
            "/api/v1/sites/site-a", json={"bins": [{"bin_id": "k2", "category": "kitchen"}]}, headers=admin(world)
        ).status_code
        == 200
    )
    r = world.client.post("/api/v1/events", json=make_event(), headers=world.device())
    assert r.status_code == 422 and "no bin k1" in r.json()["detail"]
    world.post_event(make_event(bin_id="k2"))


def test_devices(world: World):
    r = world.client.post("/api/v1/devices", json={"device_id": "dev-c", "site_id": "site-b"}, headers=admin(world))
    assert r.status_code == 201 and r.json()["token"].startswith("bwd_")
    token = r.json()["token"]
    body = make_event("dev-c", site_id="site-b", bin_id="any", bin_category="other", item="broom", flags=())
    assert (
        world.client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    )
    assert (
        world.client.post(
            "/api/v1/devices", json={"device_id": "dev-c", "site_id": "site-b"}, headers=admin(world)
        ).status_code
        == 409
    )
    assert (
        world.client.post(
            "/api/v1/devices", json={"device_id": "dev-d", "site_id": "nowhere"}, headers=admin(world)
        ).status_code
        == 422
    )
    one = world.client.get("/api/v1/devices/dev-c", headers=world.user()).json()
    assert one["site_id"] == "site-b" and not one["revoked"] and not one["online"]
    revoked = world.client.post("/api/v1/devices/dev-c/revoke", headers=admin(world)).json()
    assert revoked["revoked"]
    assert world.client.post("/api/v1/devices/nope/revoke", headers=admin(world)).status_code == 404
    assert world.client.post("/api/v1/devices/nope/token", headers=admin(world)).status_code == 404


def test_users(world: World):
    r = world.client.post(
        "/api/v1/users",
        json={"username": "vera", "password": "a-long-password", "role": "reviewer"},
        headers=admin(world),
    )
    assert r.status_code == 201 and r.json()["role"] == "reviewer"
    vera = r.json()["id"]
    assert (
        world.client.post(
            "/api/v1/users",
            json={"username": "VERA", "password": "a-long-password", "role": "reviewer"},
            headers=admin(world),
        ).status_code
        == 409
    )
    login = world.client.post("/api/v1/auth/login", json={"username": "vera", "password": "a-long-password"})
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    assert world.client.get("/api/v1/users", headers=token).status_code == 403
    r = world.client.patch(f"/api/v1/users/{vera}", json={"role": "admin"}, headers=admin(world))
    assert r.json()["role"] == "admin"
    assert world.client.get("/api/v1/auth/me", headers=token).status_code == 401  # a role change ends logins
    world.client.patch(f"/api/v1/users/{vera}", json={"active": False}, headers=admin(world))
    again = world.client.post("/api/v1/auth/login", json={"username": "vera", "password": "a-long-password"})
    assert again.status_code == 401
    listed = {u["username"]: u for u in world.client.get("/api/v1/users", headers=admin(world)).json()}
    assert listed["vera"]["active"] is False and "password_hash" not in listed["vera"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "a-long-password", "role": "reviewer"},
        {"username": "eve", "password": "short", "role": "reviewer"},
        {"username": "eve", "password": "a-long-password", "role": "root"},
        {"username": "e/ve", "password": "a-long-password", "role": "admin"},
    ],
)
def test_bad_users(world: World, body):
    assert world.client.post("/api/v1/users", json=body, headers=admin(world)).status_code == 422


def test_the_last_admin_stays(world: World):
    me = world.user_ids["admin"]
    assert world.client.patch(f"/api/v1/users/{me}", json={"role": "reviewer"}, headers=admin(world)).status_code == 409
    assert world.client.patch(f"/api/v1/users/{me}", json={"active": False}, headers=admin(world)).status_code == 409
    assert world.client.get("/api/v1/auth/me", headers=admin(world)).json()["role"] == "admin"
    assert world.client.patch("/api/v1/users/999", json={"active": False}, headers=admin(world)).status_code == 404
