"""Empty the outbox into the collector: at least once, oldest first, politely when it is down.

Each event is posted, then its evidence files are put one by one; a row is marked only after
the collector's answer, so a crash in between repeats a request (the collector dedupes on
``event_id`` and on the file) and never skips one. A failed try backs off twice: the row
waits its own exponential delay, and the whole loop pauses by the count of failures in a
row, so a collector that is down sees one request per pause, not the whole backlog.
"""

from __future__ import annotations

import logging
import random
import threading
import time

from binwatch.edge.backoff import backoff_s
from binwatch.edge.client import Answer, CollectorClient, Outcome
from binwatch.edge.config import CollectorConfig
from binwatch.edge.outbox import Outbox, OutboxEvent
from binwatch.edge.timing import Timing

log = logging.getLogger(__name__)

IDLE_S = 5.0  # look again this often when nothing is due (new events also wake the loop)


class Delivery:
    def __init__(
        self,
        outbox: Outbox,
        client: CollectorClient,
        config: CollectorConfig,
        timing: Timing | None = None,
        rng: random.Random | None = None,
    ):
        self.outbox, self.client, self.config = outbox, client, config
        self.timing = timing or Timing()
        self.rng = rng or random.Random()
        self.failures = 0  # tries in a row that did not get through
        self._wake = threading.Event()

    def wake(self) -> None:
        """A new event is in the outbox: try it without waiting for the pause to run out."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            pause = self.step()
            if pause > 0:
                self._wake.wait(pause)
                self._wake.clear()

    def drain(self, stop: threading.Event, timeout_s: float) -> bool:
        """Deliver until the outbox is empty (True), ``stop`` is set or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set() and self.outbox.depth() > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            pause = self.step()
            if pause > 0:
                stop.wait(min(pause, remaining))
        return self.outbox.depth() == 0

    def step(self) -> float:
        """Try the next due event; return how long to wait before the next step."""
        row = self.outbox.due()
        if row is None:
            when = self.outbox.next_attempt_at()
            return IDLE_S if when is None else min(IDLE_S, max(0.0, when - time.time()))
        start = time.perf_counter()
        if self._deliver(row):
            self.failures = 0
            self.timing.add("deliver", (time.perf_counter() - start) * 1000.0)
            return 0.0
        self.failures += 1
        return backoff_s(self.failures, self.config.retry_max_s, self.rng)

    def _deliver(self, row: OutboxEvent) -> bool:
        """Move ``row`` as far as the collector lets it; False when a try failed for now."""
        if row.state == "pending":
            answer = self.client.post_event(row.body)
            if answer.outcome is not Outcome.DONE:
                return self._failed(row, "event", answer)
            self.outbox.mark_sent(row.event_id)
        for file in self.outbox.pending_files(row.event_id):
            try:
                data = (self.outbox.layout.evidence / file.name).read_bytes()
            except FileNotFoundError:
                log.error(
                    "evidence %s of event %s vanished from disk; delivering the event without it",
                    file.kind,
                    row.event_id,
                )
                self.outbox.settle_file(row.event_id, file, "evicted")
                continue
            answer = self.client.put_evidence(row.event_id, file.kind, data)
            if answer.outcome is Outcome.REFUSED:
                log.error(
                    "the collector refused the %s of event %s for good (%s); it is dropped",
                    file.kind,
                    row.event_id,
                    answer.detail,
                    extra={"event_id": row.event_id},
                )
                self.outbox.settle_file(row.event_id, file, "refused")
            elif answer.outcome is Outcome.DONE:
                self.outbox.settle_file(row.event_id, file, "uploaded")
            else:
                return self._failed(row, file.kind, answer)
        self.outbox.mark_delivered(row.event_id)
        log.info("delivered event %s", row.event_id, extra={"event_id": row.event_id, "flagged": row.flagged})
        return True

    def _failed(self, row: OutboxEvent, what: str, answer: Answer) -> bool:
        if answer.outcome is Outcome.REFUSED:
            # 409 included: the collector holds another body under this id. Retrying cannot help.
            log.error(
                "PARKED event %s: the collector refused its %s for good (%s); see `binwatch edge status`",
                row.event_id,
                what,
                answer.detail,
                extra={"event_id": row.event_id},
            )
            self.outbox.park(row.event_id, f"{what}: {answer.detail}")
            return True
        if answer.outcome is Outcome.UNAUTHORIZED:
            log.error(
                "the collector does not accept this device's token (%s); check collector.token and "
                "device_id; retrying in %.0f s",
                answer.detail,
                self.config.retry_max_s,
            )
            delay = self.config.retry_max_s
        else:
            delay = max(backoff_s(row.attempts + 1, self.config.retry_max_s, self.rng), answer.retry_after_s or 0.0)
            log.warning(
                "could not deliver the %s of event %s (%s); retry %d in %.1f s",
                what,
                row.event_id,
                answer.detail,
                row.attempts + 1,
                delay,
            )
        self.outbox.retry_later(row.event_id, min(delay, self.config.retry_max_s), f"{what}: {answer.detail}")
        return False
