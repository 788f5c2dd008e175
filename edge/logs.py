"""Structured logs for the box: one JSON object per line, with the event's fields as keys.

Log shippers (journald, Vector, Loki) index the keys; a person can still read the
``msg``. Fields passed as ``extra={...}`` (``event_id``, ``bin_id``, ``flags`` …) appear as
top-level keys. Native libraries write to file descriptor 2 behind Python's back (FFmpeg
inside OpenCV: ``[tcp @ 0x…] Connection refused``; OpenCV's own warnings);
``native_stderr_as_json`` turns each such line into a JSON entry of the logger ``native``,
so that the log stays JSON and keeps what they say.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_json_logs() -> None:
    """Switch every handler of the root logger to JSON lines."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())


@contextlib.contextmanager
def native_stderr_as_json() -> Iterator[None]:
    """While inside: file descriptor 2 is a pipe whose lines are logged by ``native`` at WARNING;
    Python's own ``sys.stderr`` (and with it the log handlers) keeps writing to the real stderr."""
    real_fd = os.dup(2)
    real = open(real_fd, "w", encoding="utf-8", errors="backslashreplace", buffering=1)  # noqa: SIM115
    read_fd, write_fd = os.pipe()
    old_stderr = sys.stderr
    old_stderr.flush()
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is old_stderr]
    for handler in handlers:
        handler.setStream(real)  # type: ignore[attr-defined]
    sys.stderr = real
    os.dup2(write_fd, 2)
    os.close(write_fd)
    relay = threading.Thread(target=_relay, args=(read_fd,), name="native-stderr", daemon=True)
    relay.start()
    try:
        yield
    finally:
        os.dup2(real_fd, 2)  # closes the pipe's last writer: the relay reads to its end and stops
        relay.join(timeout=2)
        sys.stderr = old_stderr
        for handler in handlers:
            handler.setStream(old_stderr)  # type: ignore[attr-defined]
        real.close()


def _relay(read_fd: int) -> None:
    log = logging.getLogger("native")
    with open(read_fd, "rb") as pipe:
        for raw in pipe:
            if line := raw.decode("utf-8", "replace").strip():
                log.warning(line)
