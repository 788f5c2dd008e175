"""The agent's helper threads (delivery, heartbeats, roll-out), watched: none may stop quietly.

A thread whose loop raises is logged with its traceback and started again after a backoff,
for most failures pass (a disk briefly full, a locked database). One that keeps failing
(``max_failures`` within ``window_s``) would only hide a broken box behind a process that
looks alive: the supervisor then sets the agent's stop event and records why, the agent
exits with status 1, and the service manager (systemd's ``Restart=on-failure``) starts it
again, which reopens the outbox and the camera from scratch, or fails loudly at start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from binwatch.edge.backoff import backoff_s

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_S = 600.0
RESTART_MAX_S = 30.0


class Supervisor:
    def __init__(
        self,
        stop: threading.Event,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        restart_max_s: float = RESTART_MAX_S,
    ):
        self.stop, self.max_failures, self.window_s, self.restart_max_s = stop, max_failures, window_s, restart_max_s
        self.failed: str | None = None  # why the agent must stop, once a thread has given up
        self.threads: list[threading.Thread] = []

    def start(self, name: str, loop: Callable[[threading.Event], None]) -> threading.Thread:
        """Run ``loop(stop)`` in a thread of its own, again whenever it raises, until ``stop``."""
        thread = threading.Thread(target=self._watch, args=(name, loop), name=name, daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread

    def _watch(self, name: str, loop: Callable[[threading.Event], None]) -> None:
        failures: deque[float] = deque()
        while not self.stop.is_set():
            try:
                loop(self.stop)
                return
            except Exception as exc:
                now = time.monotonic()
                failures.append(now)
                while failures and failures[0] < now - self.window_s:
                    failures.popleft()
                if len(failures) >= self.max_failures:
                    self.failed = f"the {name} thread failed {len(failures)} times in {self.window_s:.0f} s ({exc})"
                    log.critical(
                        "%s; stopping the agent with status 1 so that its service manager restarts it",
                        self.failed,
                        exc_info=True,
                    )
                    self.stop.set()
                    return
                delay = backoff_s(len(failures), self.restart_max_s)
                log.error("the %s thread failed (%s); restarting it in %.1f s", name, exc, delay, exc_info=True)
                self.stop.wait(delay)

    def join(self, timeout_s: float) -> None:
        for thread in self.threads:
            thread.join(timeout=timeout_s)
