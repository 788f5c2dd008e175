"""Login rate limit: failed attempts per user name and per client address in a sliding window.

Kept in memory, per process: enough to make password guessing slow on one server; with
several workers each counts on its own (documented). A blocked key is refused before its
password is checked, so the answer tells nothing about the password.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginThrottle:
    def __init__(self, max_failures: int, window_s: float, clock=time.monotonic):
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> float:
        """Seconds until a blocked key may try again; 0 when none of ``keys`` is blocked."""
        now = self._clock()
        with self._lock:
            waits = []
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    waits.append(q[0] + self.window_s - now)
                if not q:
                    del self._failures[key]
            return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
