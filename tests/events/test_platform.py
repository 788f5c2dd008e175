"""The platform contract: the JSON Schema file is the models' own, and the webhook signature holds."""

from __future__ import annotations

import json
import time
import uuid

import jsonschema_rs
import pytest

from binwatch.events.platform import PLATFORM_MESSAGE, SCHEMA_FILE, schema_text
from binwatch.events.signature import BadSignature, sign, verify

NOW = "2026-11-20T09:30:00Z"
EVENT = {
    "event_id": str(uuid.uuid4()),
    "kind": "overflow",
    "device_id": "box-1",
    "site_id": "site-1",
    "bin_id": "o1",
    "bin_category": "other",
    "fill_level": 0.97,
    "started_at": NOW,
    "ended_at": NOW,
    "model_version": "m1",
}
STATE = {
    "event": EVENT,
    "received_at": NOW,
    "review_status": "unreviewed",
    "standing_flags": [],
    "compliant": False,
    "resolved_at": None,
    "resolved_by": None,
}
ENVELOPE = {"message_id": str(uuid.uuid4()), "site_id": "site-1", "entity_id": 1, "created_at": NOW}


def test_the_schema_file_is_generated_from_the_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run: python -m binwatch.events.platform"


@pytest.mark.parametrize(
    "message",
    [
        {**ENVELOPE, "type": "event", "change": "new", "event": STATE},
        {
            **ENVELOPE,
            "type": "review",
            "event": {**STATE, "review_status": "rejected", "compliant": True},
            "review": {
                "review_id": 3,
                "action": "reject",
                "user": "rita",
                "note": "",
                "created_at": NOW,
                "undoes_id": None,
                "before": {"review_status": "unreviewed"},
                "after": {"review_status": "rejected"},
            },
        },
    ],
)
def test_the_schema_and_the_models_agree(message):
    parsed = PLATFORM_MESSAGE.validate_python(message)
    dumped = json.loads(parsed.model_dump_json())
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    validator.validate(dumped)
    assert not validator.is_valid({**dumped, "format": "binwatch-platform/2"})
    assert not validator.is_valid({**dumped, "unknown": 1})
    assert not validator.is_valid({**dumped, "type": "work_order"})  # a work order message carries an order


def test_a_signature_verifies_only_the_body_and_time_it_signed():
    body, secret, now = b'{"a": 1}', "0123456789abcdef", int(time.time())
    signature = sign(secret, now, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    verify(secret, body, str(now), signature)
    for args in [
        (secret, b'{"a": 2}', str(now), signature),  # another body
        ("another secret!!", body, str(now), signature),
        (secret, body, str(now + 1), signature),  # another time
        (secret, body, str(now), None),
        (secret, body, "yesterday", signature),
    ]:
        with pytest.raises(BadSignature):
            verify(*args)
    old = now - 3600
    with pytest.raises(BadSignature, match="replay"):
        verify(secret, body, str(old), sign(secret, old, body))
