"""Engines and sessions: many readers, one writer.

SQLite allows one writer at a time. Rather than let threads collide on the database lock
and sleep in SQLite's busy handler, every write goes through a pool of one connection that
starts its transactions with ``BEGIN IMMEDIATE``: writers queue in Python, in order, and a
read never has to be upgraded to a write mid-transaction. The ingest path runs on one
writer thread (``run_write``), and WAL checkpoints run on another (``checkpoint``).
PostgreSQL gets one ordinary pool per process, ``pool_size`` connections kept open and up to
``max_overflow`` more in a burst (the settings ``DB_POOL_SIZE`` and ``DB_MAX_OVERFLOW``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from binwatch.collector.db.checkpoint import SAFETY_VALVE_PAGES, WalCheckpointer

if TYPE_CHECKING:
    from binwatch.collector.settings import Settings

T = TypeVar("T")


def make_engine(
    url: str, *, writer: bool = False, sqlite_synchronous: str = "NORMAL", pool_size: int = 10, max_overflow: int = 10
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if writer else {"pool_size": 8, "max_overflow": 8}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, decides when to BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if writer:
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_VALVE_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The collector's database: ``read()`` for queries, ``write()`` for one committed transaction."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10, max_overflow: int = 10):
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.read_engine = make_engine(
            url, sqlite_synchronous=sqlite_synchronous, pool_size=pool_size, max_overflow=max_overflow
        )
        self.write_engine = (
            make_engine(url, writer=True, sqlite_synchronous=sqlite_synchronous) if self.is_sqlite else self.read_engine
        )
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._writer: ThreadPoolExecutor | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._background_lock = threading.Lock()
        database = make_url(url).database
        self._checkpoint_path = database if self.is_sqlite and database not in (None, "", ":memory:") else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.db_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )

    async def run_write(self, fn: Callable[..., T], *args) -> T:
        """Run ``fn(*args)`` off the event loop; with SQLite on the one writer thread, so that writes
        queue in order without a crowd of threads contending for the write connection and the GIL."""
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread(), fn, *args)

    def _writer_thread(self) -> ThreadPoolExecutor | None:
        if not self.is_sqlite:
            return None  # the event loop's default pool
        self._start_background()
        return self._writer

    def _start_background(self) -> None:
        """SQLite's writer thread and WAL checkpointer, started with the first write (again after ``dispose``)."""
        if not self.is_sqlite or (self._writer is not None and self._checkpointer is not None):
            return
        with self._background_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            if self._checkpointer is None and self._checkpoint_path:
                self._checkpointer = WalCheckpointer(self._checkpoint_path, self.write_engine, self._writer.submit)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without an exception."""
        self._start_background()
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close the connections and stop the background threads; the next use starts them again."""
        with self._background_lock:
            writer, self._writer = self._writer, None
            checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()  # before the writer thread, which its last checkpoint uses
        if writer is not None:
            writer.shutdown(wait=True)
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()
