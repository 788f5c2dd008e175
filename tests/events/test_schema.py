"""The event contract: what each kind of observation must and must not carry, and version 1 compatibility."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from binwatch.events.schema import SCHEMA_VERSION, Event, EventKind, Flag

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def body(**fields) -> dict:
    base = {"event_id": str(uuid.uuid4()), "device_id": "box-1", "site_id": "site-1", "model_version": "m1"}
    return {**base, "started_at": AT.isoformat(), "ended_at": AT.isoformat(), **fields}


BIN = {"bin_id": "k1", "bin_category": "kitchen"}


@pytest.mark.parametrize(
    "fields",
    [
        {**BIN},
        {**BIN, "flags": ["uncertain"]},
        {**BIN, "flags": ["item_unseen", "off_hours"]},
        {"kind": "littering", "zone_id": "ground-1"},
        {"kind": "litter_cleared", "zone_id": "ground-1", "resolves": str(uuid.uuid4())},
        {"kind": "overflow", **BIN, "fill_level": 0.95},
        {"kind": "emptying", **BIN, "fill_level": 0.8},
        {"kind": "mixed_collection", "zone_id": "truck", "categories": ["kitchen", "other"]},
    ],
)
def test_each_kind_validates_with_what_it_needs(fields):
    event = Event.model_validate(body(**fields))
    assert event.schema_version == SCHEMA_VERSION == 2
    assert event.kind == EventKind(fields.get("kind", "disposal"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "a disposal event needs bin_category, bin_id"),
        ({**BIN, "zone_id": "ground-1"}, "a disposal event has no zone_id"),
        ({"kind": "littering"}, "a littering event needs zone_id"),
        ({"kind": "litter_cleared", "zone_id": "g"}, "needs resolves"),
        ({"kind": "overflow", **BIN}, "needs fill_level"),
        ({"kind": "overflow", **BIN, "fill_level": 1.5}, "less than or equal to 1"),
        ({"kind": "emptying", **BIN, "fill_level": 0.5, "flags": ["off_hours"]}, "only a disposal carries flags"),
        ({"kind": "mixed_collection", "zone_id": "t", "categories": ["kitchen", "kitchen"]}, "two different"),
        ({"schema_version": 1, **BIN, "flags": ["uncertain"]}, "schema version 1"),
        ({"schema_version": 1, "kind": "littering", "zone_id": "g"}, "schema version 1"),
    ],
)
def test_what_a_kind_cannot_carry_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        Event.model_validate(body(**fields))


def test_a_version_1_disposal_still_validates_and_only_violations_make_it_a_review_matter():
    old = Event.model_validate(body(schema_version=1, **BIN, flags=["mixed_disposal"]))
    assert old.kind is EventKind.DISPOSAL and old.flagged
    assert Event.model_validate(body(**BIN, flags=[Flag.UNCERTAIN])).flagged
    assert not Event.model_validate(body(**BIN)).flagged
    assert Event.model_validate(body(kind="overflow", **BIN, fill_level=0.9)).flagged
    assert not Event.model_validate(body(kind="emptying", **BIN, fill_level=0.9)).flagged
