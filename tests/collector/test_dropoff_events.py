"""The kinds of observation around the bins: stored, checked against the site's zones and bins, resolving
one another in either order of arrival, counted in the statistics and written to the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.collector.observations import (
    AT,
    cleared,
    emptying,
    event_json,
    littering,
    mixed_collection,
    observation,
    overflow,
    plan_site_a,
)
from tests.collector.support import World

LATER = AT + dt.timedelta(minutes=20)


@pytest.fixture
def planned(world: World) -> World:
    plan_site_a(world)
    return world


@pytest.mark.parametrize(
    "event",
    [littering(), overflow(), emptying(), mixed_collection(), cleared(littering(), LATER)],
    ids=lambda e: e["kind"],
)
def test_each_kind_is_stored_and_read_back(planned: World, event):
    planned.post_event(event)
    got = event_json(planned, event)
    assert got["kind"] == event["kind"]
    for field in ("bin_id", "zone_id", "fill_level", "categories", "resolves"):
        assert got[field] == event.get(field)
    listed = planned.client.get("/api/v1/events", params={"kind": event["kind"]}, headers=planned.user()).json()
    assert [e["event_id"] for e in listed["events"]] == [event["event_id"]]
    assert got["compliant"] is (event["kind"] in ("emptying", "litter_cleared"))


def test_a_repeated_observation_is_stored_once(planned: World):
    event = overflow()
    planned.post_event(event)
    again = planned.client.post("/api/v1/events", json=event, headers=planned.device())
    assert again.status_code == 200 and again.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (littering(zone_id="truck"), "no ground zone truck"),
        (littering(zone_id="nowhere"), "no ground zone nowhere"),
        (mixed_collection(zone_id="g1"), "no collection zone g1"),
        (overflow(bin_id="x9", bin_category="other"), "no bin x9"),
        (emptying(bin_id="k1", bin_category="other"), "is a kitchen bin"),
    ],
)
def test_zones_and_bins_must_be_the_sites(planned: World, event, detail):
    r = planned.client.post("/api/v1/events", json=event, headers=planned.device())
    assert r.status_code == 422 and detail in r.json()["detail"]


def test_a_site_without_zones_accepts_any(world: World):
    world.post_event(observation("littering", device_id="dev-b", zone_id="anywhere"))
    world.post_event(
        observation("mixed_collection", device_id="dev-b", zone_id="lane", categories=["kitchen", "other"])
    )


def test_clearing_closes_its_littering_in_either_order(planned: World):
    first, second = littering(), littering(at=AT + dt.timedelta(minutes=1))
    planned.post_event(first)
    clear_first = cleared(first, LATER)
    planned.post_event(clear_first)
    got = event_json(planned, first)
    assert dt.datetime.fromisoformat(got["resolved_at"]) == LATER
    assert got["resolved_by"] == clear_first["event_id"]

    clear_second = cleared(second, LATER + dt.timedelta(minutes=5))
    planned.post_event(clear_second)  # the clearing arrives before the littering it ends
    planned.post_event(second)
    got = event_json(planned, second)
    assert got["resolved_by"] == clear_second["event_id"]
    assert dt.datetime.fromisoformat(got["resolved_at"]) == LATER + dt.timedelta(minutes=5)


def test_clearing_something_else_is_refused(planned: World):
    spill = overflow()
    planned.post_event(spill)
    r = planned.client.post("/api/v1/events", json=cleared(spill, LATER), headers=planned.device())
    assert r.status_code == 422 and "not a littering event" in r.json()["detail"]
    other_site = observation("littering", device_id="dev-b", zone_id="g1")
    planned.post_event(other_site)
    r = planned.client.post("/api/v1/events", json=cleared(other_site, LATER), headers=planned.device())
    assert r.status_code == 422
    assert event_json(planned, other_site)["resolved_at"] is None


def test_emptying_resolves_the_earlier_overflows_of_its_bin(planned: World):
    before, other_bin, after = overflow(), overflow(bin_id="k1"), overflow(at=LATER + dt.timedelta(minutes=1))
    for event in (before, other_bin, after):
        planned.post_event(event)
    empty = emptying(at=LATER)
    planned.post_event(empty)
    assert event_json(planned, before)["resolved_by"] == empty["event_id"]
    assert event_json(planned, other_bin)["resolved_at"] is None
    assert event_json(planned, after)["resolved_at"] is None
    late = overflow(at=AT + dt.timedelta(minutes=2))  # seen before the emptying, delivered after it
    planned.post_event(late)
    assert event_json(planned, late)["resolved_by"] == empty["event_id"]


def test_emptying_estimates_the_quantity_from_the_bins_capacity(planned: World):
    known, unknown = emptying(fill_level=0.75), emptying(bin_id="h1", fill_level=0.5)
    planned.post_event(known)
    planned.post_event(unknown)
    assert event_json(planned, known)["quantity_l"] == 180.0  # 0.75 × 240 L
    assert event_json(planned, known)["destination"] == "城东生活垃圾焚烧发电厂"
    assert (event_json(planned, unknown)["quantity_l"], event_json(planned, unknown)["destination"]) == (None, None)


def test_an_emptying_keeps_the_capacity_and_destination_its_bin_had(planned: World):
    before = emptying(fill_level=0.5)
    planned.post_event(before)
    bins = [{"bin_id": "o1", "category": "other", "capacity_l": 120, "destination": "西区转运站"}]
    r = planned.client.patch("/api/v1/sites/site-a", json={"bins": bins}, headers=planned.user("admin"))
    assert r.status_code == 200, r.text
    after = emptying(fill_level=0.5, at=LATER)
    planned.post_event(after)
    assert (event_json(planned, before)["quantity_l"], event_json(planned, before)["destination"]) == (
        120.0,
        "城东生活垃圾焚烧发电厂",
    )
    assert (event_json(planned, after)["quantity_l"], event_json(planned, after)["destination"]) == (60.0, "西区转运站")


def test_statistics_count_each_kind_and_keep_the_compliance_rate_of_disposals(planned: World):
    planned.post_event(planned.event(flags=()))  # a compliant disposal
    spill, litter = overflow(), littering()
    for event in (spill, litter, mixed_collection(), emptying(at=LATER)):
        planned.post_event(event)
    total = planned.client.get("/api/v1/stats", headers=planned.user()).json()["total"]
    assert total["disposals"] == 1 and total["compliance_rate"] == 1.0
    assert total["kinds"] == {
        "disposal": 1,
        "littering": 1,
        "litter_cleared": 0,
        "overflow": 1,
        "emptying": 1,
        "mixed_collection": 1,
    }
    assert total["kinds_standing"] == {"littering": 1, "overflow": 1, "mixed_collection": 1}
    assert total["unresolved"] == 1  # the littering; the overflow was emptied
    assert total["backlog"] == 3

    r = planned.client.post(
        f"/api/v1/events/{litter['event_id']}/review", json={"action": "reject"}, headers=planned.user()
    )
    assert r.status_code == 200 and r.json()["after"]["compliant"] is True
    total = planned.client.get("/api/v1/stats", headers=planned.user()).json()["total"]
    assert total["kinds_standing"]["littering"] == 0 and total["backlog"] == 2


def test_only_a_disposals_item_can_be_corrected(planned: World):
    spill = overflow()
    planned.post_event(spill)
    r = planned.client.post(
        f"/api/v1/events/{spill['event_id']}/review",
        json={"action": "correct", "item": "battery"},
        headers=planned.user(),
    )
    assert r.status_code == 409 and "only a disposal" in r.json()["detail"]
    r = planned.client.post(
        f"/api/v1/events/{spill['event_id']}/review", json={"action": "confirm"}, headers=planned.user()
    )
    assert r.status_code == 200 and r.json()["after"]["compliant"] is False


def test_the_ledger_has_a_row_per_emptying_and_the_quantities_per_day(planned: World):
    planned.post_event(planned.event(flags=()))
    planned.post_event(emptying(fill_level=0.5, at=LATER))  # other bin, 120 L at 0.5 of 240 L
    planned.post_event(emptying(bin_id="r1", fill_level=0.25, at=LATER + dt.timedelta(hours=1)))
    planned.post_event(emptying(bin_id="h1", fill_level=0.9, at=LATER + dt.timedelta(hours=2)))
    planned.post_event(littering())
    r = planned.client.get("/api/v1/ledger.csv", headers=planned.user())
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["record"] for row in rows] == ["day", "emptying", "emptying", "emptying"]
    day = rows[0]
    assert (day["disposals"], day["compliance_rate"], day["littering"], day["emptyings"]) == ("1", "1.0000", "1", "3")
    assert (day["collected_l_other"], day["collected_l_recyclable"], day["collected_l_hazardous"]) == (
        "120.0",
        "30.0",
        "0.0",
    )
    first = rows[1]
    assert (first["time"], first["bin_id"], first["bin_category"], first["fill_level"], first["quantity_l"]) == (
        "17:50:00",  # 09:50 UTC in Asia/Shanghai
        "o1",
        "other",
        "0.50",
        "120.0",
    )
    assert first["destination"] == "城东生活垃圾焚烧发电厂"  # Art. 15(5): where it went
    assert rows[3]["quantity_l"] == rows[3]["destination"] == ""  # the hazardous bin's are not known


def test_a_day_with_only_emptyings_has_no_compliance_rate(planned: World):
    planned.post_event(emptying())
    r = planned.client.get("/api/v1/ledger.csv", headers=planned.user())
    day = next(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert (day["record"], day["disposals"], day["compliance_rate"]) == ("day", "0", "")
