"""The flag rules: mixed disposal, kitchen contamination, off hours; one bad frame does not flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from binwatch.datasets import taxonomy
from binwatch.edge.config import ScheduleConfig, ThresholdConfig
from binwatch.edge.consensus import combine
from binwatch.edge.flags import decide, rule_flags, within_hours
from binwatch.edge.light import in_colour
from binwatch.events.schema import Flag

CST = timezone(timedelta(hours=8))
NOON = datetime(2026, 1, 5, 12, 0, tzinfo=CST)
ANY_TIME = ScheduleConfig()
THRESHOLDS = ThresholdConfig(mixed_confidence=0.6, contamination_confidence=0.5, consensus_agreement=0.6)


def crops(meta, *per_crop):
    """Probability rows, one per crop: ``(item, score)`` or ``{item: score, …}``, the rest spread evenly."""
    labels, categories = meta.labels, meta.categories
    item_rows, category_rows = [], []
    for scores in per_crop:
        scores = dict([scores]) if isinstance(scores, tuple) else scores
        row = np.full(len(labels), (1 - sum(scores.values())) / (len(labels) - len(scores)), np.float32)
        for item, score in scores.items():
            row[labels.index(item)] = score
        item_rows.append(row)
        category_rows.append(
            np.array([row[[taxonomy.category_of(lb) == c for lb in labels]].sum() for c in categories], np.float32)
        )
    return combine(np.stack(item_rows), np.stack(category_rows), meta)


def test_rules_for_a_known_item():
    assert rule_flags("recyclable", "plastic_bottle", NOON, ANY_TIME) == []
    assert rule_flags("kitchen", "battery", NOON, ANY_TIME) == [Flag.MIXED_DISPOSAL]
    assert rule_flags("kitchen", "plastic_bag", NOON, ANY_TIME) == [Flag.MIXED_DISPOSAL, Flag.KITCHEN_CONTAMINATION]
    assert rule_flags("other", "plastic_bag", NOON, ANY_TIME) == []
    assert rule_flags("other", None, NOON, ScheduleConfig(allowed_hours=["07:00-09:00"])) == [Flag.OFF_HOURS]


def test_a_confident_consensus_flags_like_the_rules(classifier):
    meta = classifier.meta
    battery = crops(meta, *[("battery", 0.9)] * 5)
    assert decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME) == [Flag.MIXED_DISPOSAL]
    assert decide("hazardous", battery, NOON, THRESHOLDS, ANY_TIME) == []
    bag = crops(meta, *[("plastic_bag", 0.8)] * 3)
    assert decide("kitchen", bag, NOON, THRESHOLDS, ANY_TIME) == [Flag.MIXED_DISPOSAL, Flag.KITCHEN_CONTAMINATION]
    assert battery.prediction().frames == 5 and battery.prediction().item == "battery"


def test_one_bad_frame_does_not_flag(classifier):
    meta = classifier.meta
    mostly_peel = crops(meta, ("fruit_peel", 0.9), ("fruit_peel", 0.9), ("battery", 0.99), ("fruit_peel", 0.85))
    assert mostly_peel.top.item == "fruit_peel"
    assert decide("kitchen", mostly_peel, NOON, THRESHOLDS, ANY_TIME) == []


def test_a_split_vote_does_not_flag_even_when_the_average_would(classifier):
    # Two crops say battery, two say peel: the mean leans to the battery, but no majority agrees.
    meta = classifier.meta
    split = crops(meta, ("battery", 0.95), ("battery", 0.95), ("fruit_peel", 0.6), ("fruit_peel", 0.6))
    assert split.probability_not("kitchen") >= THRESHOLDS.mixed_confidence
    assert split.category_agreement == 0.5
    assert decide("kitchen", split, NOON, THRESHOLDS, ANY_TIME) == []


def test_an_unsure_item_does_not_flag(classifier):
    # Battery or peel? The top answer is not kitchen waste, but it is not likely enough that it is not.
    unsure = crops(classifier.meta, *[{"battery": 0.5, "fruit_peel": 0.4}] * 4)
    assert unsure.top.category == "hazardous" and unsure.probability_not("kitchen") < 0.6
    assert decide("kitchen", unsure, NOON, THRESHOLDS, ANY_TIME) == []
    assert decide("kitchen", unsure, NOON, THRESHOLDS.model_copy(update={"mixed_confidence": 0.5}), ANY_TIME) == [
        Flag.MIXED_DISPOSAL
    ]


def test_contaminant_mass_is_summed_over_the_contaminant_items(classifier):
    meta = classifier.meta
    mixed_bags = crops(meta, ("plastic_bag", 0.5), ("packaging", 0.5), ("disposable_tableware", 0.5))
    assert mixed_bags.contaminant_probability > 0.5 and mixed_bags.contaminant_agreement == 1.0
    assert Flag.KITCHEN_CONTAMINATION in decide("kitchen", mixed_bags, NOON, THRESHOLDS, ANY_TIME)


def test_a_disposal_without_a_seen_item_can_only_be_off_hours():
    night = datetime(2026, 1, 5, 23, 30, tzinfo=CST)
    schedule = ScheduleConfig(allowed_hours=["07:00-09:00", "18:00-20:00"])
    assert decide("kitchen", None, night, THRESHOLDS, schedule) == [Flag.OFF_HOURS]
    assert decide("kitchen", None, night.replace(hour=19), THRESHOLDS, schedule) == []


@pytest.mark.parametrize(
    ("windows", "local", "allowed"),
    [
        ([], "03:00", True),
        (["07:00-09:00"], "07:00", True),
        (["07:00-09:00"], "09:00", False),
        (["07:00-09:00", "18:00-20:30"], "20:29", True),
        (["22:00-02:00"], "23:59", True),
        (["22:00-02:00"], "01:30", True),
        (["22:00-02:00"], "02:00", False),
        (["00:00-24:00"], "23:59", True),
    ],
)
def test_allowed_hours(windows, local, allowed):
    hour, minute = map(int, local.split(":"))
    at = datetime(2026, 1, 5, hour, minute, tzinfo=CST)
    assert within_hours(at, ScheduleConfig(allowed_hours=windows)) is allowed


def test_hours_are_read_in_the_sites_time_zone():
    utc_morning = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    assert within_hours(utc_morning, ScheduleConfig(allowed_hours=["07:00-09:00"]))
    assert not within_hours(utc_morning, ScheduleConfig(allowed_hours=["07:00-09:00"], timezone="Europe/Berlin"))


def test_a_grey_picture_is_told_from_a_dim_or_mostly_grey_colour_one():
    """Infrared night pictures are grey all over (tinted evenly by the coder, and noisy); a colour one shows some
    coloured thing, as a dim green bin in the corner of a concrete yard at night."""
    rng = np.random.default_rng(0)
    yard = np.full((720, 1280, 3), 110.0) + rng.normal(0, 3, (720, 1280, 1)) + rng.normal(0, 1.5, (720, 1280, 3))
    yard[300:500, 500:700] = 85  # a grey bin
    infrared = np.clip(yard.mean(axis=2, keepdims=True) + rng.normal(0, 6, (720, 1280, 1)) + (0, 2, 5), 0, 255)
    assert not in_colour(infrared.astype(np.uint8))
    assert not in_colour(np.zeros((720, 1280), np.uint8))  # one channel
    night = yard.copy()
    night[100:196, 100:196] = (45, 60, 45)  # 1 % of the picture
    assert in_colour(np.clip(night, 0, 255).astype(np.uint8))
    assert in_colour(np.clip(night * (0.8, 1.0, 1.25), 0, 255).astype(np.uint8))  # under sodium light


def test_a_suspected_violation_seen_without_colour_is_uncertain(classifier):
    battery = crops(classifier.meta, *[("battery", 0.95)] * 3)
    assert decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME) == [Flag.MIXED_DISPOSAL]
    assert decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME, colour=False) == [Flag.UNCERTAIN]
    assert decide("hazardous", battery, NOON, THRESHOLDS, ANY_TIME, colour=False) == []
