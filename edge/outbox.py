"""The box's crash-safe outbox: every committed event leaves the box, exactly as committed.

An event counts as acknowledged by the box once its row commits (SQLite, WAL,
``synchronous=FULL``); its evidence files are durable before that (``storage.place``).
The JSON body is stored and re-sent byte for byte, so a retry after a lost answer is the
same request and the collector's dedupe on ``event_id`` makes it harmless.

States of an event row: ``pending`` (not yet accepted by the collector), ``sent`` (accepted,
evidence files left to upload), ``delivered``, ``parked`` (refused for good; kept, logged).
An evidence row is ``pending`` while its file waits on disk, then ``uploaded``, ``evicted``
(dropped to stay within the storage budget, or lost) or ``refused`` (by the collector, for
good); a file stays on disk only while its row is ``pending``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from binwatch.edge.evidence import EvidenceFile
from binwatch.edge.storage import Layout
from binwatch.events.schema import Event

log = logging.getLogger(__name__)

# The schema's history, oldest first: MIGRATIONS[n] brings a file from version n (``PRAGMA user_version``)
# to n + 1, in one transaction with the version bump. Files of the first releases carry no version (0)
# and hold the tables of version 1 already, hence IF NOT EXISTS there. Only ever append.
MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS events (
        event_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        bin_id TEXT NOT NULL,
        flagged INTEGER NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'delivered', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        delivered_at REAL
    );
    CREATE INDEX IF NOT EXISTS events_due ON events (state, next_attempt_at);
    CREATE TABLE IF NOT EXISTS evidence (
        event_id TEXT NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'uploaded', 'evicted', 'refused')),
        PRIMARY KEY (event_id, kind)
    );
    """,
    # 2: events about a zone (littering, mixed collection: schema version 2) have no bin. SQLite cannot
    # drop a NOT NULL, so the table is rebuilt (its documented procedure; foreign keys are off meanwhile).
    """
    CREATE TABLE events_v2 (
        event_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        bin_id TEXT,
        flagged INTEGER NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'delivered', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        delivered_at REAL
    );
    INSERT INTO events_v2 SELECT event_id, created_at, bin_id, flagged, body, state, attempts, next_attempt_at,
        last_error, delivered_at FROM events;
    DROP TABLE events;
    ALTER TABLE events_v2 RENAME TO events;
    CREATE INDEX events_due ON events (state, next_attempt_at);
    """,
)
VERSION = len(MIGRATIONS)
UNDELIVERED = ("pending", "sent")
ROOM_BYTES = 4 * 2**20  # freed at least when a commit finds the disk full: room for SQLite's journal
SETTLE = "UPDATE evidence SET state = ? WHERE event_id = ? AND kind = ?"


class OutboxError(OSError):
    """The outbox cannot be opened or written (a read-only or failing disk, a file of a newer binwatch)."""


class OutboxFull(OutboxError):
    """The disk (or SQLite's page limit) is full: nothing more can be committed until room is made."""


@dataclass(frozen=True)
class OutboxEvent:
    event_id: str
    body: str
    state: str
    attempts: int
    flagged: bool


@dataclass(frozen=True)
class PendingFile:
    kind: str
    name: str
    size: int


class Outbox:
    """One SQLite file shared by the agent (adds), the delivery thread and ``edge status``.

    ``reserve_bytes`` of the device are kept free (``enforce_budget``); a write that fails for
    lack of room, or because the disk went read-only, is an ``OutboxError``, never a bare
    ``sqlite3`` exception.
    """

    def __init__(self, layout: Layout, readonly: bool = False, reserve_bytes: int = 0):
        self.layout, self.reserve_bytes = layout, reserve_bytes
        self._lock = threading.Lock()
        if readonly and not layout.database.is_file():
            raise FileNotFoundError(f"{layout.database}: no outbox here (has the agent run with this config?)")
        try:
            if readonly:
                uri = f"{layout.database.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                layout.create()
                self._db = sqlite3.connect(layout.database, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > VERSION:
                raise OutboxError(
                    f"{layout.database}: written by a newer binwatch (outbox schema {version}; this one knows up "
                    f"to {VERSION}); run that version, or move the file away to start an empty outbox"
                )
            if not readonly:
                self._migrate(version)
            self._db.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, OutboxError):
                raise
            raise OutboxError(
                f"{layout.database}: cannot open the outbox{'' if readonly else ' for writing'} ({exc}); "
                f"{layout.root} must be a writable folder on a working disk"
            ) from exc

    def _migrate(self, version: int) -> None:
        """Bring the file from ``version`` to ``VERSION``, one committed step at a time."""
        existing = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        for target in range(version + 1, VERSION + 1):
            self._db.execute("PRAGMA foreign_keys=OFF")  # a rebuilt table must not cascade to its children
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                if self._db.execute("PRAGMA foreign_key_check").fetchall():
                    raise OutboxError(f"{self.layout.database}: migration to schema {target} broke references")
                self._db.execute(f"PRAGMA user_version = {target}")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if existing:
                log.info("outbox %s upgraded to schema %d", self.layout.database, target)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: Sequence[tuple[str, tuple]]) -> int:
        """Run ``statements`` in one transaction; returns the rows they changed. A full disk first costs
        waiting evidence and the write-ahead log's spent pages (``make_room``), then the write is tried once
        more; ``OutboxFull`` when that fails too."""
        try:
            return self._commit(statements)
        except OutboxFull as exc:
            self.make_room(f"the disk is full ({exc.__cause__})")
            return self._commit(statements)

    def _commit(self, statements: Sequence[tuple[str, tuple]]) -> int:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                changed = sum(self._db.execute(sql, params).rowcount for sql, params in statements)
                self._db.execute("COMMIT")
                return changed
            except sqlite3.Error as exc:
                if self._db.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                    self._db.execute("ROLLBACK")
                error = OutboxFull if exc.sqlite_errorcode == sqlite3.SQLITE_FULL else OutboxError
                raise error(f"{self.layout.database}: cannot write ({exc})") from exc
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.layout.database}: cannot read ({exc})") from exc

    # -- the agent --------------------------------------------------------------------

    def add(self, event: Event, files: Sequence[EvidenceFile]) -> bool:
        """Commit the event and its (already durable) files: from here on it must leave the box.

        A full disk first costs waiting evidence (``make_room``), never a committed event; if
        the commit still fails, this event is lost, its files removed, and the loss logged at
        ERROR: False. Any other failure to write is an ``OutboxError``.
        """
        try:
            self._insert(event, files)
        except OutboxFull as exc:
            for file in files:
                file.path.unlink(missing_ok=True)
            log.error(
                "LOST disposal %s at bin %s: the disk is full even without the waiting evidence (%s)",
                event.event_id,
                event.bin_id,
                exc.__cause__,
                extra={"event_id": str(event.event_id)},
            )
            return False
        return True

    def stored(self, event_id: uuid.UUID) -> Event | None:
        """The event committed under ``event_id``, if any (a file source read again derives the same ids)."""
        rows = self._read("SELECT body FROM events WHERE event_id = ?", (str(event_id),))
        return Event.model_validate_json(rows[0][0]) if rows else None

    def _insert(self, event: Event, files: Sequence[EvidenceFile]) -> None:
        now = time.time()
        statements: list[tuple[str, tuple]] = [
            (
                "INSERT INTO events (event_id, created_at, bin_id, flagged, body, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                # The column names where it happened: the bin, or the zone of an event around the bins.
                (
                    str(event.event_id),
                    now,
                    event.bin_id or event.zone_id,
                    int(event.flagged),
                    event.model_dump_json(),
                    now,
                ),
            )
        ]
        statements += [
            (
                "INSERT INTO evidence (event_id, kind, name, size) VALUES (?, ?, ?, ?)",
                (str(event.event_id), f.evidence.kind.value, f.path.name, f.evidence.size),
            )
            for f in files
        ]
        self._write(statements)

    def recover(self) -> None:
        """After a crash: drop unfinished temporary files and files whose row never committed."""
        for tmp in self.layout.tmp.iterdir():
            log.warning("removing unfinished file %s", tmp.name)
            tmp.unlink()
        wanted = {name for (name,) in self._read("SELECT name FROM evidence WHERE state = 'pending'")}
        for path in self.layout.evidence.iterdir():
            if path.name not in wanted:
                log.warning("removing %s: its event was never committed or it was already uploaded", path.name)
                path.unlink()
        for event_id, *row in self._read("SELECT event_id, kind, name, size FROM evidence WHERE state = 'pending'"):
            file = PendingFile(*row)
            if not (self.layout.evidence / file.name).is_file():
                log.error(
                    "evidence %s of event %s is missing from disk; the event goes without it", file.kind, event_id
                )
                self.settle_file(event_id, file, "evicted")

    # -- delivery ---------------------------------------------------------------------

    def due(self) -> OutboxEvent | None:
        """The undelivered event to try next: due, oldest first."""
        rows = self._read(
            "SELECT event_id, body, state, attempts, flagged FROM events WHERE state IN (?, ?) AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, created_at LIMIT 1",
            (*UNDELIVERED, time.time()),
        )
        if not rows:
            return None
        event_id, body, state, attempts, flagged = rows[0]
        return OutboxEvent(event_id, body, state, attempts, bool(flagged))

    def next_attempt_at(self) -> float | None:
        (when,) = self._read("SELECT min(next_attempt_at) FROM events WHERE state IN (?, ?)", UNDELIVERED)[0]
        return when

    def pending_files(self, event_id: str) -> list[PendingFile]:
        rows = self._read(
            "SELECT kind, name, size FROM evidence WHERE event_id = ? AND state = 'pending' ORDER BY kind", (event_id,)
        )
        return [PendingFile(*row) for row in rows]

    def mark_sent(self, event_id: str) -> None:
        self._write([("UPDATE events SET state = 'sent', last_error = NULL WHERE event_id = ?", (event_id,))])

    def settle_file(self, event_id: str, file: PendingFile, state: str) -> None:
        """The file is done with (``uploaded``, ``evicted`` or ``refused``): record it, then delete it."""
        self._write([(SETTLE, (state, event_id, file.kind))])
        (self.layout.evidence / file.name).unlink(missing_ok=True)

    def mark_delivered(self, event_id: str) -> None:
        self._write(
            [
                (
                    "UPDATE events SET state = 'delivered', delivered_at = ?, last_error = NULL WHERE event_id = ?",
                    (time.time(), event_id),
                )
            ]
        )

    def retry_later(self, event_id: str, delay_s: float, error: str) -> None:
        self._write(
            [
                (
                    "UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE event_id = ?",
                    (time.time() + delay_s, error, event_id),
                )
            ]
        )

    def park(self, event_id: str, error: str) -> None:
        self._write(
            [
                (
                    "UPDATE events SET state = 'parked', attempts = attempts + 1, last_error = ? WHERE event_id = ?",
                    (error, event_id),
                )
            ]
        )

    def depth(self) -> int:
        return self._read("SELECT count(*) FROM events WHERE state IN (?, ?)", UNDELIVERED)[0][0]

    def prune_delivered(self, older_than_s: float) -> int:
        """Forget delivered events older than ``older_than_s`` (their files are long gone)."""
        cutoff = time.time() - older_than_s
        return self._write([("DELETE FROM events WHERE state = 'delivered' AND delivered_at < ?", (cutoff,))])

    # -- the storage budget -----------------------------------------------------------

    def stored_bytes(self) -> int:
        (files,) = self._read("SELECT coalesce(sum(size), 0) FROM evidence WHERE state = 'pending'")[0]
        database = sum(p.stat().st_size for p in self.layout.root.glob(self.layout.database.name + "*"))
        return files + database

    def free_bytes(self) -> int:
        """Free space on the device that holds the outbox, as an unprivileged process may use it."""
        return shutil.disk_usage(self.layout.root).free

    def enforce_budget(self, budget_bytes: int) -> list[PendingFile]:
        """Evict waiting files until the store fits the budget and the device keeps its reserve free:
        unflagged events' files first, then the clips of flagged events, then their snapshots and
        crops; oldest first within each. Event rows are never evicted: a disposal still reaches
        the collector, only without the file, and the log says which file went."""
        over_budget = self.stored_bytes() - budget_bytes
        under_reserve = self.reserve_bytes - self.free_bytes()
        if over_budget >= under_reserve:
            return self._evict(over_budget, f"storage budget ({budget_bytes / 2**20:g} MB) exceeded")
        return self._evict(under_reserve, f"less than the reserve of {self.reserve_bytes / 2**20:g} MB free")

    def make_room(self, why: str) -> list[PendingFile]:
        """After a write failed for lack of room: evict waiting files to free ``ROOM_BYTES`` (and the
        reserve), and give the write-ahead log's checkpointed pages back to the disk."""
        evicted = self._evict(max(ROOM_BYTES, self.reserve_bytes - self.free_bytes()), why)
        with contextlib.suppress(OutboxError):  # best effort: the retry tells whether there is room now
            self._read("PRAGMA wal_checkpoint(TRUNCATE)")
        return evicted

    def _evict(self, excess: int, why: str) -> list[PendingFile]:
        if excess <= 0:
            return []
        candidates = self._read(
            "SELECT ev.event_id, ev.kind, ev.name, ev.size, e.flagged FROM evidence ev JOIN events e USING (event_id)"
            " WHERE ev.state = 'pending' ORDER BY e.flagged, ev.kind != 'clip', e.created_at"
        )
        evicted = []
        for event_id, kind, name, size, flagged in candidates:
            if excess <= 0:
                break
            file = PendingFile(kind, name, size)
            (self.layout.evidence / name).unlink(missing_ok=True)  # first: on a full disk the update needs room
            with contextlib.suppress(OutboxFull):  # the file is gone either way; delivery records it missing
                self._commit([(SETTLE, ("evicted", event_id, kind))])
            log.warning(
                "%s: evicted the %s of %s event %s (%d bytes)",
                why,
                kind,
                "flagged" if flagged else "unflagged",
                event_id,
                size,
            )
            evicted.append(file)
            excess -= size
        if excess > 0:
            log.error("%s, and no waiting evidence is left to evict", why)
        return evicted

    # -- edge status ------------------------------------------------------------------

    def summary(self) -> dict:
        counts = {state: {"events": 0, "flagged": 0} for state in ("pending", "sent", "delivered", "parked")}
        for state, flagged, n in self._read("SELECT state, flagged, count(*) FROM events GROUP BY state, flagged"):
            counts[state]["events"] += n
            counts[state]["flagged"] += n * flagged
        oldest, attempts = self._read(
            "SELECT min(created_at), max(attempts) FROM events WHERE state IN (?, ?)", UNDELIVERED
        )[0]
        files, size = self._read("SELECT count(*), coalesce(sum(size), 0) FROM evidence WHERE state = 'pending'")[0]
        (evicted,) = self._read("SELECT count(*) FROM evidence WHERE state = 'evicted'")[0]
        (refused,) = self._read("SELECT count(*) FROM evidence WHERE state = 'refused'")[0]
        (last_delivered,) = self._read("SELECT max(delivered_at) FROM events")[0]
        errors = self._read(
            "SELECT last_error FROM events WHERE state IN (?, ?) AND last_error IS NOT NULL"
            " ORDER BY created_at DESC LIMIT 1",
            UNDELIVERED,
        )
        parked = self._read("SELECT event_id, last_error FROM events WHERE state = 'parked' ORDER BY created_at")
        return {
            "database": str(self.layout.database),
            "states": counts,
            "backlog": counts["pending"]["events"] + counts["sent"]["events"],
            "oldest_undelivered_at": oldest,
            "max_attempts": attempts or 0,
            "last_error": errors[0][0] if errors else None,
            "files_waiting": files,
            "bytes_waiting": size,
            "files_evicted": evicted,
            "files_refused": refused,
            "last_delivered_at": last_delivered,
            "parked": [{"event_id": e, "error": err} for e, err in parked],
        }
