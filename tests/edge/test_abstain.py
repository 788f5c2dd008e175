"""The abstain rule: below the model's calibrated confidence the edge accuses no one, it asks."""

from __future__ import annotations

from dataclasses import replace

from binwatch.edge.config import ScheduleConfig
from binwatch.edge.flags import decide
from binwatch.events.schema import REVIEW_FLAGS, Flag
from binwatch.inference.calibration import Calibration
from tests.edge.test_flags import ANY_TIME, NOON, THRESHOLDS, crops


def test_a_model_without_a_threshold_flags_as_before(classifier):
    assert classifier.meta.calibration.abstain_below is None  # the release model 2026.11.26
    battery = crops(classifier.meta, *[("battery", 0.9)] * 5)
    assert battery.abstain_below is None
    assert decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME) == [Flag.MIXED_DISPOSAL]


def test_below_the_models_threshold_a_suspected_violation_is_uncertain(classifier):
    meta = replace(classifier.meta, calibration=Calibration(abstain_below=0.95, precision=0.9))
    battery = crops(meta, *[("battery", 0.9)] * 5)  # hazardous at about 0.9: confident enough for the old rule
    assert battery.abstain_below == 0.95 and battery.top.category_score < 0.95
    flags = decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME)
    assert flags == [Flag.UNCERTAIN] and set(flags) <= REVIEW_FLAGS
    bag = crops(meta, *[("plastic_bag", 0.8)] * 3)
    assert decide("kitchen", bag, NOON, THRESHOLDS, ANY_TIME) == [Flag.UNCERTAIN]
    # What the rules would not flag stays unflagged: uncertainty alone is no reason to bother anyone.
    assert decide("hazardous", battery, NOON, THRESHOLDS, ANY_TIME) == []
    # Off hours is the clock's verdict, not the model's: it stands.
    night = NOON.replace(hour=23)
    assert decide("kitchen", battery, night, THRESHOLDS, ScheduleConfig(allowed_hours=["07:00-09:00"])) == [
        Flag.UNCERTAIN,
        Flag.OFF_HOURS,
    ]


def test_above_the_threshold_the_usual_rules_decide(classifier):
    meta = replace(classifier.meta, calibration=Calibration(abstain_below=0.5, precision=0.9))
    battery = crops(meta, *[("battery", 0.9)] * 5)
    assert decide("kitchen", battery, NOON, THRESHOLDS, ANY_TIME) == [Flag.MIXED_DISPOSAL]
    split = crops(meta, ("battery", 0.95), ("battery", 0.95), ("fruit_peel", 0.6), ("fruit_peel", 0.6))
    assert split.top.category_score >= 0.5 and decide("kitchen", split, NOON, THRESHOLDS, ANY_TIME) == []


def test_a_model_that_reaches_the_precision_at_no_confidence_accuses_no_one(classifier):
    """Its threshold is 1.0: even a certain prediction is left to a supervisor."""
    meta = replace(classifier.meta, calibration=Calibration(abstain_below=1.0, precision=0.9))
    certain = crops(meta, *[("battery", 1.0)] * 5)
    assert certain.top.category_score == 1.0
    assert decide("kitchen", certain, NOON, THRESHOLDS, ANY_TIME) == [Flag.UNCERTAIN]
    assert decide("hazardous", certain, NOON, THRESHOLDS, ANY_TIME) == []


def test_the_site_may_override_the_models_threshold(classifier):
    meta = replace(classifier.meta, calibration=Calibration(abstain_below=0.95, precision=0.9))
    battery = crops(meta, *[("battery", 0.9)] * 5)
    lenient = THRESHOLDS.model_copy(update={"abstain_confidence": 0.0})
    assert decide("kitchen", battery, NOON, lenient, ANY_TIME) == [Flag.MIXED_DISPOSAL]
    old = crops(classifier.meta, *[("battery", 0.9)] * 5)  # a model without a threshold, a strict site
    strict = THRESHOLDS.model_copy(update={"abstain_confidence": 0.99})
    assert decide("kitchen", old, NOON, strict, ANY_TIME) == [Flag.UNCERTAIN]
