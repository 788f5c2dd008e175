"""Mixed collection (Art. 18) in staged situations, drawn by the simulator and run through the agent:
bins of two categories emptied into one container, and the compliant ways (a container per
category); the collection zone's configuration; the truth's collections and their score."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

import cv2
import numpy as np
import pytest

from binwatch.edge.agent import Agent
from binwatch.edge.collection import CONCLUDE_S, Collections, Visit
from binwatch.edge.config import BinConfig, CollectionConfig, ConfigError, ZoneConfig, load, parse
from binwatch.edge.isolate import Box
from binwatch.edge.offline import OFFLINE_START
from binwatch.edge.outbox import Outbox
from binwatch.edge.simulator import score, truth
from binwatch.edge.simulator.conditions import named
from binwatch.edge.simulator.scenario import render_scenario
from binwatch.edge.storage import Layout
from binwatch.events.schema import Event, EventKind, EvidenceKind
from tests.edge import staged


def _collected(events):
    return [e for e in events if e.kind is EventKind.MIXED_COLLECTION]


@pytest.fixture(scope="module")
def mixed():
    """Kitchen and other waste emptied into one container."""
    return staged.stage(staged.collection([[0, 1]], 2.0), 36.0, fill=0.6)


def test_bins_of_two_categories_emptied_into_one_container_are_one_mixed_collection(classifier, mixed, tmp_path):
    site = mixed.site.model_copy(update={"storage": mixed.site.storage.model_copy(update={"dir": tmp_path})})
    outbox = Outbox(Layout(site.storage.dir))
    agent = Agent(site, classifier, outbox=outbox)
    events = mixed.run(agent)
    emptied = sorted(e.bin_id for e in events if e.kind is EventKind.EMPTYING)
    assert emptied == [site.bins[0].id, site.bins[1].id]
    found = _collected(events)
    assert len(found) == 1, [(e.kind, e.bin_id) for e in events]
    event = found[0]
    zone = next(z for z in site.zones if z.kind == "collection")
    assert event.zone_id == zone.id and event.categories == ["kitchen", "other"]
    began, ended = mixed.seconds(event)
    first, last = (v for v in mixed.timeline.visits if v.kind == "emptying")
    assert first.stand / staged.FPS - 1.0 <= began <= first.leave / staged.FPS  # from the first emptying …
    wheeled_out = next(v for v in mixed.timeline.visits if v.kind == "wheel_out")
    assert last.leave / staged.FPS <= ended <= wheeled_out.end / staged.FPS + 1.0  # … until it was wheeled away
    kinds = [e.kind for e in event.evidence]
    assert kinds == [EvidenceKind.SNAPSHOT, EvidenceKind.CROP, EvidenceKind.CLIP]
    clip = next(e for e in event.evidence if e.kind is EvidenceKind.CLIP)
    frames = cv2.VideoCapture(str(outbox.layout.evidence / clip.name)).get(cv2.CAP_PROP_FRAME_COUNT)
    assert frames / staged.FPS >= ended - began  # the clip covers both emptyings
    assert agent.counts["mixed_collection"] == 1 and "collection" in agent.timing.stage_ms()
    assert Event.model_validate_json(event.model_dump_json()) == event
    outbox.close()


def test_a_container_per_category_is_no_mixed_collection(classifier):
    scene = staged.stage(staged.collection([[0], [1]], 2.0), 44.0, fill=0.6)
    events = scene.run(Agent(scene.site, classifier))
    assert sorted(e.bin_id for e in events if e.kind is EventKind.EMPTYING) == [
        scene.site.bins[0].id,
        scene.site.bins[1].id,
    ]
    assert _collected(events) == []


def test_emptyings_with_no_collection_zone_are_no_mixed_collection(classifier, mixed):
    site = mixed.site.model_copy(update={"zones": [z for z in mixed.site.zones if z.kind != "collection"]})
    events = mixed.run(Agent(site, classifier))
    assert len([e for e in events if e.kind is EventKind.EMPTYING]) == 2 and _collected(events) == []


BASE = {
    "device_id": "box-1",
    "site_id": "site-1",
    "collector": {"url": "http://127.0.0.1:9", "token": "secret"},
    "camera": {"source": "cam.mp4"},
    "bins": [{"id": "b1", "category": "kitchen", "polygon": [[10, 10], [100, 10], [100, 80]]}],
}


def test_a_collection_zone_is_configured_and_checked_like_a_ground_zone():
    zone = {"id": "cart", "kind": "collection", "polygon": [[200, 10], [300, 10], [300, 120], [200, 120]]}
    site = parse(BASE | {"zones": [zone], "collection": {"stay_s": 2.0, "max_s": 120}})
    assert site.zones[0].kind == "collection" and site.collection.stay_s == 2.0
    with pytest.raises(ConfigError, match=r"zones\.0\.kind"):
        parse(BASE | {"zones": [zone | {"kind": "truck"}]})
    with pytest.raises(ConfigError, match=r"zones\.0\.polygon: .*crosses itself"):
        parse(BASE | {"zones": [zone | {"polygon": [[200, 10], [300, 120], [300, 10], [200, 120]]}]})
    with pytest.raises(ConfigError, match=r"collection\.min_share"):
        parse(BASE | {"collection": {"min_share": 1.5}})
    with pytest.raises(ConfigError, match=r"collection\.window_s: unknown key"):
        parse(BASE | {"collection": {"window_s": 30}})


TRUTH = {
    "format": "binwatch-truth/1",
    "start_time": "2026-05-18T08:48:38+08:00",
    "bins": [
        {"id": "kitchen-1", "category": "kitchen", "polygon": [[0, 0], [10, 0], [10, 10]]},
        {"id": "other-2", "category": "other", "polygon": [[20, 0], [30, 0], [30, 10]]},
    ],
    "disposals": [],
    "zones": [{"id": "collection-right", "kind": "collection", "polygon": [[40, 0], [60, 0], [60, 30]]}],
    "collections": [
        {
            "id": 1,
            "zone_id": "collection-right",
            "t_start": 10.0,
            "t_end": 40.0,
            "bin_ids": ["kitchen-1", "other-2"],
            "categories": ["kitchen", "other"],
            "mixed": True,
        },
        {
            "id": 2,
            "zone_id": "collection-right",
            "t_start": 60.0,
            "t_end": 80.0,
            "bin_ids": ["kitchen-1"],
            "categories": ["kitchen"],
            "mixed": False,
        },
    ],
}


def test_the_truths_collections_read_back_as_written_and_older_truths_read_as_before(tmp_path):
    read = truth.parse(TRUTH)
    truth.write(read, tmp_path / "truth.json")
    assert truth.load(tmp_path / "truth.json") == read
    assert json.loads((tmp_path / "truth.json").read_text())["collections"] == TRUTH["collections"]
    older = {k: v for k, v in TRUTH.items() if k not in ("zones", "collections")}
    assert truth.parse(older).collections == []
    with pytest.raises(ValueError, match="unknown collection zones"):
        truth.parse(TRUTH | {"zones": []})
    with pytest.raises(ValueError, match="mixed is true exactly when"):
        truth.parse(TRUTH | {"collections": [TRUTH["collections"][1] | {"mixed": True}]})


def _event(t0: float, t1: float, zone: str = "collection-right") -> Event:
    read = truth.parse(TRUTH)
    return Event(
        kind=EventKind.MIXED_COLLECTION,
        event_id=uuid.uuid4(),
        device_id="box-1",
        site_id="site-1",
        zone_id=zone,
        categories=["kitchen", "other"],
        started_at=read.start_time + timedelta(seconds=t0),
        ended_at=read.start_time + timedelta(seconds=t1),
        model_version="test",
    )


def test_mixed_collection_events_are_scored_against_the_mixed_visits():
    report = score.score([_event(20.0, 38.0), _event(62.0, 75.0), _event(20.0, 30.0, "elsewhere")], TRUTH)
    m = report["mixed_collection"]
    assert (m["truth"], m["compliant"], m["events"], m["matched"]) == (1, 1, 3, 1)
    assert m["recall"] == 1.0 and m["precision"] == pytest.approx(1 / 3, abs=1e-3) and len(m["false_alarms"]) == 2
    assert score.score([], TRUTH)["mixed_collection"]["missed"][0]["id"] == 1
    merged = score.merge([report, score.score([_event(20.0, 38.0)], TRUTH)])["mixed_collection"]
    assert (merged["truth"], merged["events"], merged["matched"], merged["compliant"]) == (2, 4, 2, 2)
    assert "mixed collections: truth 1 (and 1 compliant)" in score.format_table(report)
    assert "mixed collections truth 2" in score.format_conditions(score.by_condition([("a", report), ("a", report)]))


def test_the_collection_condition_writes_its_zone_and_its_collections(tmp_path):
    conditions = replace(named("collection"), collection=1.0, collection_mixed=1.0, passers=0.0)
    scene = render_scenario(
        staged.SAMPLES, tmp_path, disposals=3, seed=5, split="all", size=(320, 180), fps=8.0, condition=conditions
    )
    read = truth.load(scene.truth)
    site = load(scene.config)
    zone = next(z for z in site.zones if z.kind == "collection")
    assert [z.id for z in read.zones if z.kind == "collection"] == [zone.id]
    assert not any(z.id == zone.id.replace("collection", "ground") for z in site.zones)  # the container's side
    assert read.collections and all(c.mixed and c.zone_id == zone.id for c in read.collections)
    first = read.collections[0]
    categories = {b.id: b.category for b in read.bins}
    assert first.categories == sorted({categories[b] for b in first.bin_ids}) and len(first.bin_ids) >= 2
    emptied = [e for e in read.emptyings if first.t_start <= e.t_start and e.t_end <= first.t_end]
    assert [e.bin_id for e in emptied] == first.bin_ids
    with pytest.raises(ValueError, match="oblique style only"):
        render_scenario(
            staged.SAMPLES, tmp_path / "top", disposals=3, size=(320, 180), condition=conditions, style="top"
        )


def test_emptyings_are_judged_with_the_container_that_stood_there():
    # The pairing alone: which container an emptying belongs to, and when a visit is judged.
    def s(seconds: float):
        return OFFLINE_START + timedelta(seconds=seconds)

    square = [(0, 0), (10, 0), (10, 10)]
    kitchen, other = (BinConfig(id=f"b{i}", category=c, polygon=square) for i, c in enumerate(("kitchen", "other")))
    zone = ZoneConfig(id="cart", kind="collection", polygon=square)
    collections = Collections([], CollectionConfig(max_s=60))
    collections.emptied(kitchen, s(1), s(5))  # before the container is confirmed: waits for it
    visit = Visit(zone, s(0), s(8), Box(0, 0, 5, 5), np.zeros((4, 4, 3), np.uint8))
    collections.visits.append(visit)
    visit.emptied += [e for e in collections._loose if collections._claimant(e) is visit]
    collections.emptied(other, s(10), s(14))
    assert visit.categories == ["kitchen", "other"] and collections.keep_from() == s(1)
    visit.left_at = s(20)
    collections.emptied(kitchen, s(21), s(25))  # after it left: not its
    assert len(visit.emptied) == 2
    assert collections.update(None, None, s(20 + CONCLUDE_S - 0.1), 0.0) == []  # type: ignore[arg-type]
    assert collections.update(None, None, s(20 + CONCLUDE_S), 0.0) == [visit]  # type: ignore[arg-type]
    staying = Visit(zone, s(30), s(31), Box(0, 0, 5, 5), np.zeros((4, 4, 3), np.uint8))
    collections.visits.append(staying)
    collections.emptied(kitchen, s(32), s(36))
    collections.emptied(other, s(40), s(44))
    assert collections.update(None, None, s(95), 0.0) == []  # type: ignore[arg-type]
    (judged,) = collections.update(None, None, s(96), 0.0)  # type: ignore[arg-type]
    assert judged.categories == ["kitchen", "other"] and judged.left_at is None  # max_s after its first emptying
    collections.emptied(kitchen, s(100), s(104))  # the container still stands: a visit of its own from here
    assert staying.categories == ["kitchen"] and collections.close() == []
