"""The collector's endpoints as the box sees them, and what each answer means.

The URL paths live here and nowhere else: ingest (events, evidence, heartbeats) and the
current model for roll-out (``edge/rollout.py``). An answer is sorted into what to do next:
done (200/201), retry later (connection errors, timeouts, 408, 429, 5xx, and any other 4xx
that says when to come back with ``Retry-After``: the collector refuses an event dated ahead
of its clock that way, until its clock has caught up), refused for good (any other 4xx or
3xx: the row is parked and logged), or refused for the device as a whole (401, 403: a wrong
or revoked token, or a token of another device). The last is not parked: it concerns every
event alike, and once an operator fixes the token they all go through.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import httpx
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from binwatch.edge.config import CollectorConfig
from binwatch.events.schema import EVIDENCE_MEDIA_TYPES, EvidenceKind, Heartbeat

EVENTS_PATH = "/api/v1/events"
EVIDENCE_PATH = "/api/v1/events/{event_id}/evidence/{kind}"
HEARTBEATS_PATH = "/api/v1/heartbeats"
CURRENT_MODEL_PATH = "/api/v1/device/model"  # 404: no model is current

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
    retry_after = _retry_after(response.headers.get("retry-after"))
    if status in RETRY_STATUSES or status >= 500 or (status >= 400 and retry_after is not None):
        return Answer(Outcome.RETRY, detail, retry_after)
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


class ModelOffer(BaseModel):
    """The collector's current model (``GET CURRENT_MODEL_PATH``). ``version`` names a file on the box."""

    version: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)]
    size: Annotated[int, Field(gt=0)]
    url: str


class DownloadError(Exception):
    """A download did not complete; worth trying again later."""


class CollectorClient:
    def __init__(self, config: CollectorConfig, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=config.url.rstrip("/"),
            timeout=config.timeout_s,
            transport=transport,
            headers={"Authorization": f"Bearer {config.token}", "User-Agent": "binwatch-edge"},
        )

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

    def current_model(self) -> tuple[Answer, ModelOffer | None]:
        """What the collector wants the boxes to run: ``(DONE, offer)``, ``(DONE, None)`` when no
        model is current (404), or the failure and ``None``."""
        try:
            response = self._http.get(CURRENT_MODEL_PATH)
        except httpx.HTTPError as exc:
            return Answer(Outcome.RETRY, f"{type(exc).__name__}: {exc}"), None
        if response.status_code == 404:
            return Answer(Outcome.DONE, "404: no model is current"), None
        answer = judge(response)
        if answer.outcome is not Outcome.DONE:
            return answer, None
        try:
            return answer, ModelOffer.model_validate_json(response.content)
        except ValidationError as exc:
            return Answer(Outcome.REFUSED, f"not a model offer: {exc}"), None

    def download(self, url: str, write: Callable[[bytes], object]) -> None:
        """Stream the file at ``url`` (from a ``ModelOffer``) into ``write``, chunk by chunk.

        The device token goes to the collector only: a URL on another origin (a collector behind a
        proxy that names itself differently) is fetched by its path from ``collector.url``'s origin.
        Raises ``DownloadError`` (not 200) or ``httpx.HTTPError``; the timeout applies to each read,
        so a slow but steady download is not cut off.
        """
        with self._http.stream("GET", self._on_collector(url)) as response:
            if response.status_code != 200:
                response.read()
                raise DownloadError(judge(response).detail)
            for chunk in response.iter_bytes():
                write(chunk)

    def _on_collector(self, url: str) -> httpx.URL:
        offered, base = httpx.URL(url), self._http.base_url
        origin = (offered.scheme, offered.host, offered.port)
        if offered.is_relative_url or origin == (base.scheme, base.host, base.port):
            return offered
        return base.copy_with(raw_path=offered.raw_path)
