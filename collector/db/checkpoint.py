"""Moving SQLite's WAL checkpoints off the path of a request.

By default the connection that commits when the write-ahead log passes 1,000 pages copies
the log into the database and syncs it, inside that commit: every hundred or so events one
ingest waited several milliseconds, and under sustained load the log only ever restarted
after a long copy. Here a background thread, a few times a second,

1. checkpoints beside the writer (PASSIVE: it blocks neither the writer nor the readers),
   copying the bulk of the log, then
2. checkpoints again on the writer thread, between two of its transactions, copying only
   what was committed meanwhile. With everything copied, the next write starts the log
   from the beginning, so the log stays small. (Waiting for the writer's connection from
   another thread would starve: the writer thread takes it back before a waiter wakes.)

The writer's own automatic checkpoint is kept only as a safety valve at a much larger log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy import Engine

log = logging.getLogger(__name__)

INTERVAL_S = 0.1
SAFETY_VALVE_PAGES = 20_000
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


class WalCheckpointer:
    def __init__(
        self,
        path: str,
        writer: Engine,
        on_writer_thread: Callable[[Callable[[], None]], Future],
        interval_s: float = INTERVAL_S,
    ):
        self.path = path
        self.writer = writer
        self.on_writer_thread = on_writer_thread
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        connection.execute(CHECKPOINT).fetchone()
        self.on_writer_thread(self._catch_up).result(timeout=60)

    def _catch_up(self) -> None:
        borrowed = self.writer.raw_connection()  # free: this is the writer thread, between transactions
        try:
            cursor = borrowed.cursor()
            cursor.execute(CHECKPOINT)
            cursor.fetchone()
        finally:
            borrowed.close()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:  # the file's folder is gone: nothing to checkpoint, the writer's valve remains
            log.warning("WAL checkpoints stopped: cannot open %s: %s", self.path, exc)
            return
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.checkpoint(connection)
                except Exception as exc:  # the next round tries again; the writer's valve remains
                    log.warning("WAL checkpoint failed: %s", exc)
            self.checkpoint(connection)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
