"""Tell the collector the box is alive and how it is doing, every ``collector.heartbeat_s``.

Heartbeats are not queued: a stale one says nothing, so a failed one is only logged (once
per outage, not once per beat) and the next one carries the news.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from binwatch.edge.client import CollectorClient, Outcome
from binwatch.events.schema import Heartbeat

log = logging.getLogger(__name__)


class HeartbeatSender:
    def __init__(self, client: CollectorClient, interval_s: float, build: Callable[[], Heartbeat]):
        self.client, self.interval_s, self.build = client, interval_s, build
        self.failing = False
        self.sent = 0
        self._wake = threading.Event()

    def wake(self) -> None:
        """Beat now (something worth telling changed, or the agent is stopping), not at the next interval."""
        self._wake.set()

    def beat(self) -> bool:
        heartbeat = self.build()
        answer = self.client.post_heartbeat(heartbeat)
        if answer.outcome is Outcome.DONE:
            if self.failing:
                log.info("heartbeats get through again")
            self.failing = False
            self.sent += 1
            return True
        if not self.failing:
            log.warning("heartbeat not accepted (%s); will keep trying every %.0f s", answer.detail, self.interval_s)
        self.failing = True
        return False

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.beat()
            self._wake.wait(self.interval_s)
            self._wake.clear()
