"""Statistics arithmetic per site, entity and local day, and the Art. 15(5) ledger CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from binwatch.collector.ledger import COLUMNS
from tests.collector.support import World, make_event

UTC = dt.UTC


@pytest.fixture
def data(world: World) -> dict[str, str]:
    """Site A: 5 disposals over two local days; site B: 2. Reviews change what is compliant."""

    # name, device, start (UTC: 15:59 is 23:59 of the 20th in Shanghai, 16:01 already the 21st), bin, item, flags
    table = [
        ("a1", "dev-a", (20, 15, 59), "k1", "kitchen", "plastic_bag", ("kitchen_contamination",)),
        ("a2", "dev-a", (20, 3, 0), "k1", "kitchen", "food_waste", ()),
        ("a3", "dev-a", (20, 16, 1), "o1", "other", "battery", ("mixed_disposal", "off_hours")),
        ("a4", "dev-a2", (21, 2, 0), "r1", "recyclable", "paper", ()),
        ("a5", "dev-a2", (21, 3, 0), "h1", "hazardous", "broom", ("mixed_disposal",)),
        ("b1", "dev-b", (20, 1, 0), "x", "other", "broom", ()),
        ("b2", "dev-b", (21, 1, 0), "x", "kitchen", "plastic_bag", ("kitchen_contamination",)),
    ]
    made = {}
    for name, device, (day, hour, minute), bin_id, category, item, flags in table:
        when = dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)
        body = make_event(device, started_at=when, bin_id=bin_id, bin_category=category, item=item, flags=flags)
        world.post_event(body)
        made[name] = body["event_id"]
    headers = world.user()
    world.client.post(f"/api/v1/events/{made['a1']}/review", json={"action": "reject"}, headers=headers)
    world.client.post(f"/api/v1/events/{made['a3']}/review", json={"action": "confirm"}, headers=headers)
    world.client.post(
        f"/api/v1/events/{made['a4']}/review", json={"action": "correct", "item": "battery"}, headers=headers
    )
    return made


def stats(world: World, **params) -> dict:
    r = world.client.get("/api/v1/stats", params=params, headers=world.user())
    assert r.status_code == 200, r.text
    return r.json()


def test_per_site(world: World, data):
    rows = {r["key"]: r for r in stats(world, by="site")["rows"]}
    a, b = rows["site-a"], rows["site-b"]
    assert (a["disposals"], a["flagged"], a["reviewed"], a["backlog"]) == (5, 3, 3, 1)
    # compliant: a1 (rejected), a2 (no flag); a3 confirmed, a4 corrected to a battery in the recyclable bin, a5 flagged
    assert a["compliant"] == 2 and a["compliance_rate"] == pytest.approx(2 / 5)
    review_only = {"uncertain": 0, "item_unseen": 0}
    assert a["flags_reported"] == {"mixed_disposal": 2, "kitchen_contamination": 1, "off_hours": 1, **review_only}
    assert a["flags_standing"] == {"mixed_disposal": 3, "kitchen_contamination": 0, "off_hours": 1, **review_only}
    assert (b["disposals"], b["compliant"], b["backlog"]) == (2, 1, 1) and b["compliance_rate"] == 0.5
    assert b["label"] == "Market B"
    total = stats(world, by="site")["total"]
    assert (total["disposals"], total["compliant"], total["backlog"]) == (7, 3, 2)
    assert total["compliance_rate"] == pytest.approx(3 / 7)


def test_per_local_day(world: World, data):
    rows = {r["key"]: r for r in stats(world, by="day")["rows"]}
    assert list(rows) == ["2026-11-20", "2026-11-21"]
    assert (rows["2026-11-20"]["disposals"], rows["2026-11-20"]["compliant"]) == (3, 3)  # a1 a2 b1
    assert (rows["2026-11-21"]["disposals"], rows["2026-11-21"]["compliant"]) == (4, 0)  # a3 a4 a5 b2
    only = stats(world, by="day", since="2026-11-21", until="2026-11-21")
    assert [r["key"] for r in only["rows"]] == ["2026-11-21"] and only["total"]["disposals"] == 4
    assert stats(world, by="day", site_id="site-b")["total"]["disposals"] == 2


def test_per_entity(world: World, data):
    rows = stats(world, by="entity")["rows"]
    assert [(r["label"], r["disposals"], r["compliant"]) for r in rows] == [
        ("幸福物业 Happiness Property", 5, 2),
        ("Residents' committee B", 2, 1),
    ]
    assert stats(world, by="site", entity_id=world.entity_id)["total"]["disposals"] == 5


def test_no_events_means_no_rate(world: World):
    body = stats(world, by="site")
    assert body["rows"] == [] and body["total"]["compliance_rate"] is None


@pytest.mark.parametrize(
    "params", [{"by": "week"}, {"since": "2026-13-01"}, {"since": "2026-11-22", "until": "2026-11-21"}]
)
def test_bad_stats_queries(world: World, params):
    assert world.client.get("/api/v1/stats", params=params, headers=world.user()).status_code == 422


def test_ledger_csv(world: World, data):
    r = world.client.get("/api/v1/ledger.csv", headers=world.user())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    by_key = {(row["date"], row["site_id"]): row for row in rows}
    assert sorted(by_key) == [
        ("2026-11-20", "site-a"),
        ("2026-11-20", "site-b"),
        ("2026-11-21", "site-a"),
        ("2026-11-21", "site-b"),
    ]
    day2 = by_key[("2026-11-21", "site-a")]
    assert day2["entity_type"] == "property_company" and day2["entity_type_zh"] == "物业服务企业"
    assert day2["entity_name"] == "幸福物业 Happiness Property"
    assert (day2["disposals"], day2["disposals_other"], day2["disposals_recyclable"], day2["disposals_hazardous"]) == (
        "3",
        "1",
        "1",
        "1",
    )
    assert (day2["standing_mixed_disposal"], day2["standing_off_hours"], day2["compliant"]) == ("3", "1", "0")
    assert (day2["compliance_rate"], day2["reviewed"], day2["backlog"]) == ("0.0000", "2", "1")
    day1 = by_key[("2026-11-20", "site-a")]
    assert (day1["disposals"], day1["compliant"], day1["compliance_rate"]) == ("2", "2", "1.0000")
    only_b = world.client.get(
        "/api/v1/ledger.csv", params={"site_id": "site-b", "since": "2026-11-21"}, headers=world.user()
    )
    assert only_b.text.count("\r\n") == 2
    assert world.client.get("/api/v1/ledger.csv").status_code == 401


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","a")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_ledger_cells_that_look_like_formulas_are_text(world: World, name):
    """OWASP's CSV injection: a spreadsheet runs a cell starting with = + - @ tab or CR as a formula."""
    from binwatch.collector.db.tables import Entity, Site

    with world.app.state.db.write() as session:
        session.get(Entity, world.entity_id).name = name
        session.get(Site, "site-a").address = name
    world.post_event(make_event())
    r = world.client.get("/api/v1/ledger.csv", headers=world.user())
    (row,) = csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))
    assert row["entity_name"] == row["site_address"] == "'" + name
    assert row["site_name"] == "Block A" and row["disposals"] == "1"  # plain cells as they were
