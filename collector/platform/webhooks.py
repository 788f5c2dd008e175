"""Delivering platform messages to a webhook: one signed POST per message.

The body is the message's JSON, byte for byte the same on every try; the headers carry the message
id (``X-Binwatch-Delivery``), the time of this try and the HMAC-SHA256 signature over both
(``events/signature.py``). A 2xx answer delivers it. Connection errors, timeouts, 408, 429 (its
``Retry-After`` honoured) and 5xx are tried again later; any other answer (a 4xx, or a redirect,
which is not followed) refuses that message for good and is shown to admins, who may retry it.
"""

from __future__ import annotations

import time

import httpx

from binwatch.collector.db.tables import PlatformMessage
from binwatch.collector.platform.outcome import Outcome
from binwatch.collector.settings import Webhook
from binwatch.events.signature import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

RETRIED = {408, 429}


class WebhookSender:
    def __init__(self, hook: Webhook):
        self.hook = hook
        self.client = httpx.Client(timeout=hook.timeout_s, follow_redirects=False)

    def deliver(self, message: PlatformMessage) -> Outcome:
        message_id, data = message.message_id, message.payload.encode("utf-8")
        now = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "binwatch-collector",
            DELIVERY_HEADER: message_id,
            TIMESTAMP_HEADER: str(now),
            SIGNATURE_HEADER: sign(self.hook.secret, now, data),
        }
        try:
            answer = self.client.post(self.hook.url, content=data, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}"[:500])
        status = answer.status_code
        if 200 <= status < 300:
            return Outcome.ok(status)
        reason = f"HTTP {status}: {answer.text[:200]}"
        if status in RETRIED or status >= 500:
            return Outcome.retry(reason, status, _retry_after(answer.headers.get("Retry-After")))
        return Outcome.refused(reason, status)

    def stop(self, *, offline: bool) -> None:
        self.client.close()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
