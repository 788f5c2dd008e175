"""How fast the pipeline runs: per-stage latency and the frame rate, for heartbeats and the demo.

Stages: ``capture`` (read and decode), ``motion`` (the small normalised frame and what moves
in it), ``openings`` (each opening's background, rim test and hysteresis), ``footage`` (the
small frames kept while a disposal goes on), ``early`` and ``early_classify`` (with an announcer:
watching for landed items, and judging one, ``early``), ``views`` (the clear full-resolution views of the
openings), ``buffer`` (clip ring buffer), ``isolate``, ``classify``, ``evidence`` and
``deliver``. Heartbeats report exponential moving averages, the recent state rather than the
mean since boot; benchmarks read the plain means.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SMOOTHING = 0.1
RATE_WINDOW_S = 10.0


class Timing:
    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        """``clock`` in seconds: the wall clock, or (benchmarks) ``time.process_time``."""
        self._clock = clock
        self._ms: dict[str, float] = {}
        self._totals: dict[str, tuple[float, int]] = {}
        self._frames: deque[float] = deque()
        self._lock = threading.Lock()

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        start = self._clock()
        try:
            yield
        finally:
            self.add(stage, (self._clock() - start) * 1000.0)

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            previous = self._ms.get(stage)
            self._ms[stage] = ms if previous is None else previous + SMOOTHING * (ms - previous)
            total, count = self._totals.get(stage, (0.0, 0))
            self._totals[stage] = (total + ms, count + 1)

    def stage_ms(self) -> dict[str, float]:
        with self._lock:
            return {stage: round(ms, 3) for stage, ms in self._ms.items()}

    def mean_ms(self) -> dict[str, dict[str, float]]:
        """Per stage, the mean since start and how often it ran."""
        with self._lock:
            return {
                stage: {"mean_ms": round(total / count, 3), "runs": count}
                for stage, (total, count) in self._totals.items()
            }

    def frame_done(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._frames.append(now)
            while self._frames and self._frames[0] < now - RATE_WINDOW_S:
                self._frames.popleft()

    def fps(self) -> float:
        """Frames processed per second over the last ``RATE_WINDOW_S`` seconds."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._frames if t >= now - RATE_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / max(now - recent[0], 1e-6), 2)
