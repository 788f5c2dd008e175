"""The signature of a webhook delivery: HMAC-SHA256 over the timestamp and the raw body.

The collector sends ``X-Binwatch-Timestamp: <unix seconds>`` and
``X-Binwatch-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret of
``<timestamp>.`` followed by the body bytes exactly as received. Signing the timestamp with the
body lets a receiver refuse an old delivery replayed by someone who recorded it: ``verify``
accepts a timestamp within ``tolerance_s`` of its own clock. A retry is signed afresh, with the
same body and ``X-Binwatch-Delivery`` (the message id) but a new timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Final

SIGNATURE_HEADER: Final = "X-Binwatch-Signature"
TIMESTAMP_HEADER: Final = "X-Binwatch-Timestamp"
DELIVERY_HEADER: Final = "X-Binwatch-Delivery"
TOLERANCE_S: Final = 300


class BadSignature(ValueError):
    """The delivery was not signed with this secret, or its timestamp is too old or too new."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> None:
    """Raise ``BadSignature`` unless ``signature`` signs ``body`` at ``timestamp`` (the two header values)."""
    if not timestamp or not signature:
        raise BadSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadSignature(f"{TIMESTAMP_HEADER} is not a whole number of seconds") from None
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        raise BadSignature(f"{TIMESTAMP_HEADER} is more than {tolerance_s:.0f} s from now: a replay or a wrong clock")
    if not hmac.compare_digest(sign(secret, sent, body).encode(), signature.encode()):
        raise BadSignature("the signature does not match the body")
