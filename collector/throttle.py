"""Login rate limit: attempts per user name and per client address in a sliding window, in the database.

Every worker process of every host counts in the same table, so W workers still allow only
``max_failures`` attempts per key and window. An attempt is written *before* its password is
checked and removed only when it succeeds, so attempts in flight count too: of attempts made
at once, on any workers, at most ``max_failures`` get their password checked. (The last of
those to commit its row counted every other one that was let through.) A refused attempt is
not counted, and its password is never checked, so the answer tells nothing about it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import LoginAttempt, utcnow

KEY_CHARS = 200  # the column's width; user names are at most 64 characters, addresses 45


class Throttled(Exception):
    """Too many recent attempts under a key; ``retry_after`` seconds until one of them leaves the window."""

    def __init__(self, retry_after: float):
        super().__init__(f"too many failed logins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """The rows that count one attempt, to be removed if it succeeds."""

    ids: tuple[int, ...]
    keys: tuple[str, ...]


class LoginThrottle:
    def __init__(self, db: Database, max_failures: int, window_s: float, clock: Callable[[], dt.datetime] = utcnow):
        self.db = db
        self.max_failures = max_failures
        self.window = dt.timedelta(seconds=window_s)
        self._clock = clock

    def begin(self, *keys: str) -> Attempt:
        """Count an attempt under each of ``keys``; ``Throttled`` (and not counted) when a key is at its limit."""
        keys = tuple(key[:KEY_CHARS] for key in keys)
        now = self._clock()
        with self.db.write() as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - self.window))
            rows = [LoginAttempt(key=key, at=now) for key in keys]
            session.add_all(rows)
            session.flush()
            attempt = Attempt(tuple(row.id for row in rows), keys)
        # Counted after the commit, so that every attempt committed before it is seen.
        with self.db.read() as session:
            recent = session.execute(
                select(LoginAttempt.key, func.count(), func.min(LoginAttempt.at))
                .where(LoginAttempt.key.in_(keys), LoginAttempt.at > now - self.window)
                .group_by(LoginAttempt.key)
            ).all()
        waits = [oldest + self.window - now for _key, count, oldest in recent if count > self.max_failures]
        if waits:
            with self.db.write() as session:
                session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(attempt.ids)))
            raise Throttled(max(max(waits).total_seconds(), 0.0))
        return attempt

    def succeeded(self, session: Session, attempt: Attempt, user_key: str) -> None:
        """The attempt was right: it no longer counts, nor do the earlier failures under ``user_key``.
        Runs in the caller's transaction (SQLite has one writer), so it commits with the login."""
        session.execute(
            delete(LoginAttempt).where(or_(LoginAttempt.id.in_(attempt.ids), LoginAttempt.key == user_key[:KEY_CHARS]))
        )
