"""Bring a database to the newest schema with the Alembic migrations shipped in this package.

On PostgreSQL the upgrade first takes a transaction-level advisory lock, so hosts that start
(or run ``binwatch collector migrate``) at the same time take turns: the first applies the
migrations, the others wait, then find the schema at its head and do nothing. Alembic takes
no lock of its own. The lock ends with the migration's transaction, also when its process dies.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
# The advisory lock's key: any 64-bit number that nothing else in the database uses for a lock.
MIGRATION_LOCK = int.from_bytes(b"bwmigrat", "big") >> 1

log = logging.getLogger("collector")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _wait_for_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _wait_for_lock(connection: Connection) -> None:
    """Take the migration lock for this transaction, saying so when another process holds it."""
    if not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}):
        log.warning("another process is migrating the database; waiting for it to finish")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
