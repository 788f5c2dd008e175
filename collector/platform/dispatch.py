"""Draining the queue of platform deliveries: one thread per target, in the order the changes were made.

Each target (``mqtt``, each webhook) takes its pending deliveries oldest first. A delivered one is
marked delivered; a refused one (a final 4xx) is marked refused and skipped; any other failure puts
that delivery off with exponential backoff and equal jitter (1 s, 2 s, 4 s … capped at
``publish_retry_max_s``), and the target waits for it: what comes after is never sent before it, and
a receiver that is down sees one try per pause, not the backlog. A delivery is marked only after the
target's answer (a run of tries in one transaction, at most ``MARK_EVERY`` or ``MARK_AFTER_S``), so a
crash sends those again and never skips one: at least once, with the message id for the receiver to
dedupe. Only the process holding the background lease dispatches (``leading``).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from typing import Protocol

from sqlalchemy import select, update

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import DeliveryState, PlatformDelivery, PlatformMessage, utcnow
from binwatch.collector.platform.outcome import Outcome

log = logging.getLogger(__name__)

BATCH = 100
POLL_S = 0.25
MARK_EVERY = 50  # tries marked in one transaction; a crash sends at most these again
MARK_AFTER_S = 0.5


class Sender(Protocol):
    """A target: ``mqtt.MqttSender`` or ``webhooks.WebhookSender``."""

    def deliver(self, message: PlatformMessage) -> Outcome:
        """One try."""

    def stop(self, *, offline: bool) -> None: ...


def backoff_s(attempts: int, cap_s: float, rng: random.Random) -> float:
    """The pause after the ``attempts``-th failed try: half of 2^(attempts-1) s fixed, half random, capped."""
    ceiling = min(cap_s, 2.0 ** (attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class TargetWorker:
    """Sends one target's deliveries."""

    def __init__(self, db: Database, target: str, sender: Sender, retry_max_s: float, stop: threading.Event):
        self.db, self.target, self.sender = db, target, sender
        self.retry_max_s = retry_max_s
        self.stop = stop
        self.rng = random.Random()
        self.thread = threading.Thread(target=self.run, name=f"publish-{target}", daemon=True)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    pause = self.round()
                except Exception:  # a database hiccup must not end publication for good
                    log.exception("publishing to %s failed; trying again", self.target)
                    pause = 5.0
                self.stop.wait(pause)
        finally:
            self.sender.stop(offline=True)

    def round(self) -> float:
        """Send what is due; the seconds to wait before the next round."""
        with self.db.read() as session:
            batch = list(
                session.scalars(
                    select(PlatformDelivery)
                    .where(
                        PlatformDelivery.target == self.target, PlatformDelivery.state == DeliveryState.PENDING.value
                    )
                    .order_by(PlatformDelivery.id)
                    .limit(BATCH)
                )
            )
            session.expunge_all()
        if not batch:
            return POLL_S
        tried: list[dict] = []
        flushed = time.monotonic()
        pause = 0.0
        try:
            for delivery in batch:
                wait = (delivery.next_attempt_at - utcnow()).total_seconds()
                if wait > 0:
                    pause = min(wait, 5.0)  # the oldest is put off: everything behind it waits too
                    break
                if self.stop.is_set():
                    break
                outcome = self.sender.deliver(delivery.message)
                tried.append(self._result(delivery, outcome))
                if not outcome.delivered and not outcome.final:
                    break  # the next round finds it put off and waits
                if len(tried) >= MARK_EVERY or time.monotonic() - flushed > MARK_AFTER_S:
                    self._mark(tried)
                    tried, flushed = [], time.monotonic()
        finally:
            self._mark(tried)
        return pause

    def _result(self, delivery: PlatformDelivery, outcome: Outcome) -> dict:
        """The delivery's row after this try (every row with the same keys, for one bulk update)."""
        now = utcnow()
        row = {
            "id": delivery.id,
            "attempts": delivery.attempts + 1,
            "last_attempt_at": now,
            "last_status": outcome.status,
            "state": delivery.state,
            "delivered_at": None,
            "last_error": outcome.error,
            "next_attempt_at": delivery.next_attempt_at,
        }
        if outcome.delivered:
            row |= {"state": DeliveryState.DELIVERED.value, "delivered_at": now}
        elif outcome.final:
            row |= {"state": DeliveryState.REFUSED.value}
            log.error("%s refused platform message %s: %s", self.target, delivery.message.message_id, outcome.error)
        else:
            pause = max(backoff_s(delivery.attempts + 1, self.retry_max_s, self.rng), outcome.retry_after_s or 0)
            row |= {"next_attempt_at": now + dt.timedelta(seconds=min(pause, self.retry_max_s))}
            if delivery.attempts == 0:
                log.warning("could not deliver to %s (%s); retrying with backoff", self.target, outcome.error)
        return row

    def _mark(self, rows: list[dict]) -> None:
        """One transaction for a run of tries: the single SQLite writer is shared with ingest."""
        if rows:
            with self.db.write() as session:
                session.execute(update(PlatformDelivery), rows)
