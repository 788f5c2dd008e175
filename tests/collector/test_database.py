"""The database: migrations from an empty one, matching the tables and reversible; SQLite settings; WAL checkpoints."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from binwatch.collector.db.engine import Database
from binwatch.collector.db.migrate import alembic_config, current_revision, head_revision, upgrade
from binwatch.collector.db.tables import Base


def test_empty_database_to_head_matches_the_tables(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert current_revision(db.write_engine) is None
    upgrade(db.write_engine)
    assert current_revision(db.write_engine) == head_revision() is not None
    with db.write_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    upgrade(db.write_engine)  # again: nothing to do
    db.dispose()


def test_downgrade_to_nothing_and_back(tmp_path):
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}")
    upgrade(db.write_engine)
    config = alembic_config(db.url)
    with db.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(db.write_engine).get_table_names()) == {"alembic_version"}
    upgrade(db.write_engine)
    assert {"events", "reviews", "model_versions"} <= set(inspect(db.write_engine).get_table_names())
    db.dispose()


def test_sqlite_runs_in_wal_mode(app):
    with app.state.db.read_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_wal_is_checkpointed_in_the_background(tmp_path):
    """Writes land in the WAL; the checkpointer thread, not the writer, copies them into the database file."""
    import time

    from binwatch.collector.provisioning import create_entity

    path = tmp_path / "wal.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db.write_engine)
    db.dispose()  # stops the background threads, which checkpoint once more on the way out
    size_before = path.stat().st_size
    with db.write() as session:  # starts them again
        for i in range(300):
            create_entity(session, name=f"entity {i} " + "x" * 150, type="other")
    deadline = time.monotonic() + 5
    while path.stat().st_size == size_before:
        assert time.monotonic() < deadline, "nothing was checkpointed into the database file"
        time.sleep(0.05)
    with db.write_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 20_000  # the writer's valve only
    db.dispose()


def test_a_checkpointer_that_cannot_open_its_file_stops_with_a_warning_not_an_exception(tmp_path, caplog, monkeypatch):
    """A database whose folder went away (a test's temporary folder, a volume unmounted) used to kill the
    checkpoint thread with an unhandled exception."""
    import threading

    from binwatch.collector.db.checkpoint import WalCheckpointer

    raised = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    checkpointer = WalCheckpointer(str(tmp_path / "gone" / "db.sqlite3"), None, lambda work: None)  # type: ignore[arg-type]
    checkpointer.stop()
    assert raised == []
    assert "WAL checkpoints stopped" in caplog.text
