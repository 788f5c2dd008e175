"""Events of the kinds around the bins (littering, overflow, emptying, mixed collection) and a site plan for them."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.collector.support import DEVICE_SITES, World

AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
SITE_A_PLAN = {
    "bins": [
        {"bin_id": "k1", "category": "kitchen", "capacity_l": 240},
        {"bin_id": "o1", "category": "other", "capacity_l": 240, "destination": "城东生活垃圾焚烧发电厂"},
        {"bin_id": "r1", "category": "recyclable", "capacity_l": 120},
        {"bin_id": "h1", "category": "hazardous"},
    ],
    "zones": [{"zone_id": "g1", "kind": "ground"}, {"zone_id": "truck", "kind": "collection"}],
}
BIN_CATEGORY = {b["bin_id"]: b["category"] for b in SITE_A_PLAN["bins"]}


def plan_site_a(world: World) -> None:
    """Give site A its zones, bin capacities and a destination (the shared fixture has bins only)."""
    r = world.client.patch("/api/v1/sites/site-a", json=SITE_A_PLAN, headers=world.user("admin"))
    assert r.status_code == 200, r.text


def observation(kind: str, *, device_id: str = "dev-a", at: dt.datetime = AT, seconds: float = 5, **fields) -> dict:
    """An event of ``kind`` with what that kind needs; ``bin_id`` brings its category along."""
    if "bin_id" in fields and "bin_category" not in fields:
        fields["bin_category"] = BIN_CATEGORY[fields["bin_id"]]
    return {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "device_id": device_id,
        "site_id": DEVICE_SITES[device_id],
        "started_at": at.isoformat(),
        "ended_at": (at + dt.timedelta(seconds=seconds)).isoformat(),
        "model_version": "m-1",
        **fields,
    }


def littering(at: dt.datetime = AT, zone_id: str = "g1", **fields) -> dict:
    return observation("littering", at=at, zone_id=zone_id, **fields)


def cleared(littering_event: dict, at: dt.datetime, zone_id: str = "g1", **fields) -> dict:
    return observation("litter_cleared", at=at, zone_id=zone_id, resolves=littering_event["event_id"], **fields)


def overflow(bin_id: str = "o1", at: dt.datetime = AT, fill_level: float = 0.97, **fields) -> dict:
    return observation("overflow", at=at, bin_id=bin_id, fill_level=fill_level, **fields)


def emptying(bin_id: str = "o1", at: dt.datetime = AT, fill_level: float = 0.8, **fields) -> dict:
    return observation("emptying", at=at, bin_id=bin_id, fill_level=fill_level, **fields)


def mixed_collection(at: dt.datetime = AT, zone_id: str = "truck", categories=("kitchen", "other"), **fields) -> dict:
    return observation("mixed_collection", at=at, zone_id=zone_id, categories=list(categories), **fields)


def event_json(world: World, event: dict, user: str = "rita") -> dict:
    r = world.client.get(f"/api/v1/events/{event['event_id']}", headers=world.user(user))
    assert r.status_code == 200, r.text
    return r.json()
