"""Scoring events against a truth: matching by bin and time, then counts and flags."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from binwatch.edge.simulator.score import SCORED_FLAGS, by_condition, format_conditions, format_table, merge, score
from binwatch.events.schema import Event, EventKind, Flag, Prediction

START = datetime.fromisoformat("2026-05-18T08:58:00+08:00")
SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]
MIXED, KITCHEN, OFF = Flag.MIXED_DISPOSAL, Flag.KITCHEN_CONTAMINATION, Flag.OFF_HOURS

TRUTH = {
    "format": "binwatch-truth/1",
    "start_time": START.isoformat(),
    "bins": [
        {"id": "kitchen-1", "category": "kitchen", "polygon": SQUARE},
        {"id": "other-2", "category": "other", "polygon": SQUARE},
    ],
    "disposals": [
        {"id": 1, "t": 10.0, "bin_id": "kitchen-1", "item": "food_waste", "category": "kitchen", "flags": []},
        {
            "id": 2,
            "t": 20.0,
            "bin_id": "kitchen-1",
            "item": "plastic_bag",
            "category": "other",
            "flags": ["mixed_disposal", "kitchen_contamination"],
        },
        {
            "id": 3,
            "t": 30.0,
            "bin_id": "other-2",
            "item": "battery",
            "category": "hazardous",
            "flags": ["mixed_disposal"],
        },
        {"id": 4, "t": 40.0, "bin_id": "other-2", "item": "toothbrush", "category": "other", "flags": ["off_hours"]},
    ],
}

ITEM_OF = {1: "food_waste", 2: "plastic_bag", 3: "battery", 4: "toothbrush"}
CATEGORY_OF = {"food_waste": "kitchen", "plastic_bag": "other", "battery": "hazardous", "toothbrush": "other"}


def event(bin_id: str, start: float, end: float, flags=(), item: str | None = None) -> Event:
    prediction = None
    if item is not None:
        prediction = Prediction(item=item, item_score=0.9, category=CATEGORY_OF[item], category_score=0.9)
    return Event(
        event_id=uuid.uuid4(),
        device_id="cam",
        site_id="site",
        bin_id=bin_id,
        bin_category="kitchen" if bin_id.startswith("kitchen") else "other",
        started_at=START + timedelta(seconds=start),
        ended_at=START + timedelta(seconds=end),
        prediction=prediction,
        flags=list(flags),
        model_version="test",
    )


def perfect() -> list[Event]:
    return [
        event("kitchen-1", 9.0, 11.0, [], "food_waste"),
        event("kitchen-1", 19.0, 21.0, [MIXED, KITCHEN], "plastic_bag"),
        event("other-2", 29.0, 31.0, [MIXED], "battery"),
        event("other-2", 39.0, 41.0, [OFF], "toothbrush"),
    ]


def test_perfect_events_score_perfectly():
    report = score(perfect(), TRUTH)
    d = report["disposals"]
    assert (d["truth"], d["events"], d["matched"], d["recall"], d["precision"], d["count_error"]) == (4, 4, 4, 1, 1, 0)
    for flag in SCORED_FLAGS:
        assert report["flags"][flag.value]["f1"] == 1.0
    assert report["flags"]["mixed_disposal"]["tp"] == 2
    assert report["classification"]["category_accuracy"] == 1.0
    assert report["misses"] == report["false_alarms"] == report["flag_errors"] == []


def test_a_missed_disposal_costs_recall_and_its_flags():
    events = perfect()
    del events[1]
    report = score(events, TRUTH)
    assert report["disposals"]["recall"] == 0.75 and report["disposals"]["count_error"] == -1
    assert [m["id"] for m in report["misses"]] == [2]
    assert report["flags"]["mixed_disposal"] == {
        "truth": 2,
        "events": 1,
        "tp": 1,
        "fp": 0,
        "fn": 1,
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
    }
    assert report["flags"]["kitchen_contamination"]["recall"] == 0.0


def test_an_extra_event_is_a_false_alarm_and_its_flags_false_positives():
    events = [*perfect(), event("kitchen-1", 50.0, 52.0, [MIXED], "battery")]
    report = score(events, TRUTH)
    assert report["disposals"]["precision"] == 0.8 and report["disposals"]["count_error"] == 1
    assert [(a["bin_id"], a["t_start"]) for a in report["false_alarms"]] == [("kitchen-1", 50.0)]
    assert report["flags"]["mixed_disposal"]["fp"] == 1


def test_wrong_flags_on_matched_events():
    events = perfect()
    events[0] = event("kitchen-1", 9.0, 11.0, [MIXED, OFF], "battery")  # raises two it does not deserve
    events[2] = event("other-2", 29.0, 31.0, [], "toothbrush")  # misses the one it deserves
    report = score(events, TRUTH)
    mixed, off = report["flags"]["mixed_disposal"], report["flags"]["off_hours"]
    assert (mixed["tp"], mixed["fp"], mixed["fn"]) == (1, 1, 1)
    assert (off["tp"], off["fp"], off["fn"]) == (1, 1, 0)
    errors = {(e["id"], e["flag"], e["error"]) for e in report["flag_errors"]}
    assert errors == {(1, "mixed_disposal", "raised"), (1, "off_hours", "raised"), (3, "mixed_disposal", "missed")}
    assert report["classification"]["category_accuracy"] == 0.5
    assert [e["id"] for e in report["category_errors"]] == [1, 3]


def test_time_tolerance_and_bins_decide_the_match():
    late = [event("kitchen-1", 11.5, 13.0, [], "food_waste")]  # lands 1.5 s before the event starts
    assert score(late, TRUTH)["disposals"]["matched"] == 1
    assert score(late, TRUTH, tolerance_s=1.0)["disposals"]["matched"] == 0
    wrong_bin = [event("other-2", 9.0, 11.0, [], "food_waste")]
    assert score(wrong_bin, TRUTH)["disposals"]["matched"] == 0


def test_one_event_per_disposal_the_closest_wins():
    events = [event("kitchen-1", 10.5, 12.0, [], "food_waste"), event("kitchen-1", 9.5, 10.5, [], "food_waste")]
    report = score(events, TRUTH)
    assert report["disposals"]["matched"] == 1
    assert [a["t_start"] for a in report["false_alarms"]] == [10.5]


def test_events_without_a_prediction_count_for_detection_not_for_accuracy():
    events = perfect()
    events[3] = event("other-2", 39.0, 41.0, [OFF])
    report = score(events, TRUTH)
    assert report["disposals"]["matched"] == 4
    assert report["classification"]["with_prediction"] == 3


def test_the_table_names_every_scored_flag_and_the_misses():
    events = perfect()[1:]
    text = format_table(score(events, TRUTH))
    for flag in SCORED_FLAGS:
        assert flag.value in text
    assert "recall 75.0%" in text and "missed disposals (1)" in text and "food_waste" in text


def test_a_minimal_truth_from_another_tool_is_accepted_and_a_broken_one_refused():
    assert score([], TRUTH)["disposals"]["recall"] == 0.0
    broken = {**TRUTH, "disposals": [{**TRUTH["disposals"][0], "bin_id": "blue-9"}]}
    with pytest.raises(ValueError, match="unknown bins: blue-9"):
        score([], broken)
    with pytest.raises(ValueError, match="disposals.0.item"):
        score([], {**TRUTH, "disposals": [{**TRUTH["disposals"][0], "item": "sofa"}]})


LITTER_TRUTH = {
    **TRUTH,
    "zones": [{"id": "ground-left", "polygon": SQUARE}, {"id": "ground-right", "polygon": SQUARE}],
    "littering": [
        {"id": 1, "zone_id": "ground-left", "t": 50.0, "t_cleared": 90.0, "t_cleared_end": 93.0, "kind": "bag"},
        {"id": 2, "zone_id": "ground-right", "t": 60.0, "kind": "box"},  # never taken away
        {"id": 3, "zone_id": "ground-left", "t": 120.0, "t_cleared": 150.0, "t_cleared_end": 153.0},
    ],
}


def ground_event(kind: EventKind, zone: str, start: float, end: float, resolves: Event | None = None) -> Event:
    return around(kind, start, end, zone_id=zone, resolves=resolves.event_id if resolves is not None else None)


def around(kind: EventKind, start: float, end: float, **fields) -> Event:
    """An event of a kind other than a disposal, from ``start`` to ``end`` seconds into the scene."""
    return Event(
        kind=kind,
        event_id=uuid.uuid4(),
        device_id="cam",
        site_id="site",
        started_at=START + timedelta(seconds=start),
        ended_at=START + timedelta(seconds=end),
        model_version="m",
        **fields,
    )


def test_littering_is_scored_while_the_litter_lies_there_and_its_clearing_by_what_it_resolves():
    first = ground_event(EventKind.LITTERING, "ground-left", 49.0, 60.0)
    second = ground_event(EventKind.LITTERING, "ground-right", 59.0, 75.0)
    wrong_zone = ground_event(EventKind.LITTERING, "ground-right", 119.0, 130.0)  # litter 3 lies on the left
    too_late = ground_event(EventKind.LITTERING, "ground-left", 100.0, 110.0)  # litter 1 was gone by then
    events = [
        first,
        second,
        wrong_zone,
        too_late,
        ground_event(EventKind.LITTER_CLEARED, "ground-left", 93.5, 95.5, resolves=first),  # while they walk off
        ground_event(EventKind.LITTER_CLEARED, "ground-left", 70.0, 72.0, resolves=first),  # far too early
        ground_event(EventKind.LITTER_CLEARED, "ground-right", 80.0, 82.0, resolves=second),  # never cleared
    ]
    report = score(events, LITTER_TRUTH)
    litter = report["littering"]
    assert litter["littering"] == {"truth": 3, "events": 4, "matched": 2, "recall": 0.6667, "precision": 0.5}
    assert litter["litter_cleared"] == {"truth": 2, "events": 3, "matched": 1, "recall": 0.5, "precision": 0.3333}
    assert litter["latency_s"] == pytest.approx(((60 - 50) + (75 - 60)) / 2)
    assert [m["id"] for m in litter["missed"]] == [3] and len(litter["false_alarms"]) == 2
    assert report["disposals"]["events"] == 0  # ground events are not disposals
    text = format_table(report)
    assert "littering" in text and "missed litter #3 in ground-left" in text
    merged = merge([report, report])["littering"]
    assert merged["littering"]["matched"] == 4 and merged["latency_s"] == litter["latency_s"]


def test_littering_in_an_unknown_zone_is_refused_by_the_truth():
    bad = {**LITTER_TRUTH, "littering": [{"id": 1, "zone_id": "lawn", "t": 5.0}]}
    with pytest.raises(ValueError, match="littering names unknown zones: lawn"):
        score([], bad)
    backwards = {**LITTER_TRUTH, "littering": [{"id": 1, "zone_id": "ground-left", "t": 5.0, "t_cleared": 4.0}]}
    with pytest.raises(ValueError, match="t_cleared must come after t"):
        score([], backwards)


def bin_event(kind: EventKind, bin_id: str, start: float, end: float) -> Event:
    category = "other" if bin_id.startswith("other") else "kitchen"
    return around(kind, start, end, bin_id=bin_id, bin_category=category, fill_level=0.95)


EMPTIED = [("other-2", 101.0), ("kitchen-1", 101.0), ("other-2", 140.0)]


def test_emptying_events_match_the_workers_time_at_the_bin():
    truth = {**TRUTH, "emptyings": [{"t_start": 100.0, "t_end": 104.0, "bin_id": "other-2"}]}

    events = [bin_event(EventKind.EMPTYING, bin_id, start, start + 4.5) for bin_id, start in EMPTIED]
    report = score(events, truth)
    assert report["emptying"] == {"truth": 1, "events": 3, "matched": 1, "recall": 1.0, "precision": 0.3333}
    assert "emptyings: truth 1  events 3  matched 1" in format_table(report)
    assert merge([report, report])["emptying"]["matched"] == 2


def test_overflow_events_match_while_the_bin_is_full_and_disposals_at_a_load_are_set_aside():
    truth = {
        **TRUTH,
        "loads": [{"t_start": 60.0, "t_end": 64.0, "bin_id": "other-2"}],
        "overflows": [{"bin_id": "other-2", "t": 62.0}, {"bin_id": "kitchen-1", "t": 150.0}],
        "emptyings": [{"t_start": 100.0, "t_end": 104.0, "bin_id": "other-2"}],
    }
    overflows = [
        bin_event(EventKind.OVERFLOW, "other-2", 66.0, 66.0),  # raised after the load: full since 62 s
        bin_event(EventKind.OVERFLOW, "other-2", 80.0, 80.0),  # the same filling again: a false alarm
        bin_event(EventKind.OVERFLOW, "other-2", 120.0, 120.0),  # after it was emptied: a false alarm
        bin_event(EventKind.OVERFLOW, "kitchen-1", 140.0, 140.0),  # before it was full: a false alarm
    ]
    at_load = event("other-2", 59.0, 66.0, [Flag.ITEM_UNSEEN])
    report = score([*perfect(), at_load, *overflows], truth)
    assert report["overflow"] == {"truth": 2, "events": 4, "matched": 1, "recall": 0.5, "precision": 0.25}
    assert report["loads"] == {"truth": 1, "events": 1}
    assert report["disposals"]["precision"] == 1.0 and report["false_alarms"] == []  # the load's event is set aside
    assert "overflows: truth 2  events 4  matched 1" in format_table(report)
    merged = merge([report, report])
    assert merged["overflow"]["matched"] == 2 and merged["loads"] == {"truth": 2, "events": 2}
    assert "50%/25%" in format_conditions({"overflow": merged})
    # A truth from before overflows and loads were staged reads as none of either.
    assert score(perfect(), TRUTH)["overflow"] == {
        "truth": 0,
        "events": 0,
        "matched": 0,
        "recall": None,
        "precision": None,
    }


def test_scenes_of_one_condition_add_up_and_each_condition_gets_a_row():
    unseen = event("kitchen-1", 9.0, 11.0, [Flag.ITEM_UNSEEN])
    reports = [
        ("a", score(perfect(), {**TRUTH, "condition": "evening"})),
        (
            "b",
            score(
                perfect()[1:] + [event("other-2", 60.0, 61.0, [MIXED], "battery")], {**TRUTH, "condition": "evening"}
            ),
        ),
        ("c", score([unseen, *perfect()[1:]], TRUTH)),  # no condition in its truth: the scene's name
    ]
    merged = by_condition(reports)
    assert list(merged) == ["evening", "c"]
    d = merged["evening"]["disposals"]
    assert (merged["evening"]["scenes"], d["truth"], d["events"], d["matched"]) == (2, 8, 8, 7)
    assert d["recall"] == d["precision"] == 7 / 8
    mixed = merged["evening"]["flags"]["mixed_disposal"]
    assert (mixed["tp"], mixed["fp"], mixed["fn"]) == (4, 1, 0) and mixed["f1"] == pytest.approx(8 / 9, abs=1e-4)
    assert merged["c"]["review"]["item_unseen"] == {"events": 1, "matched": 1}
    rows = format_conditions(merged).splitlines()
    assert rows[0].split()[:6] == ["condition", "scenes", "truth", "events", "recall", "precision"]
    assert rows[1].split()[:6] == ["evening", "2", "8", "8", "87.5%", "87.5%"]
    assert rows[2].split()[:7] == ["c", "1", "4", "4", "100.0%", "100.0%", "1"]
