"""The collector's ingest endpoints as the box sees them, and what each answer means.

The URL paths live here and nowhere else. An answer is sorted into what to do next:
done (200/201), retry later (connection errors, timeouts, 408, 429, 5xx), refused for good
(any other 4xx or 3xx: the row is parked and logged), or refused for the device as a whole
(401, 403: a wrong or revoked token, or a token of another device). The last is not parked:
it concerns every event alike, and once an operator fixes the token they all go through.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from enum import Enum

import httpx

from edge.config import CollectorConfig
from events.schema import EVIDENCE_MEDIA_TYPES, EvidenceKind, Heartbeat

EVENTS_PATH = "/api/v1/events"
EVIDENCE_PATH = "/api/v1/events/{event_id}/evidence/{kind}"
HEARTBEATS_PATH = "/api/v1/heartbeats"

RETRY_STATUSES = frozenset({408, 429})
DEVICE_STATUSES = frozenset({401, 403})


class Outcome(Enum):
    DONE = "done"
    RETRY = "retry"
    REFUSED = "refused"
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    detail: str
    retry_after_s: float | None = None


def judge(response: httpx.Response) -> Answer:
    status = response.status_code
    if status in (200, 201):
        return Answer(Outcome.DONE, str(status))
    detail = f"{status} {response.reason_phrase}: {response.text[:300]}".strip()
    if status in RETRY_STATUSES or status >= 500:
        return Answer(Outcome.RETRY, detail, _retry_after(response.headers.get("retry-after")))
    if status in DEVICE_STATUSES:
        return Answer(Outcome.UNAUTHORIZED, detail)
    return Answer(Outcome.REFUSED, detail)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class CollectorClient:
    def __init__(self, config: CollectorConfig, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=config.url.rstrip("/"), timeout=config.timeout_s, transport=transport,
            headers={"Authorization": f"Bearer {config.token}", "User-Agent": "binwatch-edge"},
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, content: bytes, media_type: str) -> Answer:
        try:
            response = self._http.request(method, path, content=content, headers={"Content-Type": media_type})
        except httpx.HTTPError as exc:
            return Answer(Outcome.RETRY, f"{type(exc).__name__}: {exc}")
        return judge(response)

    def post_event(self, body: str) -> Answer:
        """``body`` is the stored Event JSON, sent unchanged on every retry."""
        return self._send("POST", EVENTS_PATH, body.encode(), "application/json")

    def put_evidence(self, event_id: str, kind: str, data: bytes) -> Answer:
        path = EVIDENCE_PATH.format(event_id=event_id, kind=kind)
        return self._send("PUT", path, data, EVIDENCE_MEDIA_TYPES[EvidenceKind(kind)])

    def post_heartbeat(self, heartbeat: Heartbeat) -> Answer:
        return self._send("POST", HEARTBEATS_PATH, heartbeat.model_dump_json().encode(), "application/json")
