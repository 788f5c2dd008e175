"""Migration 0003 on a database with data: SQLite copies the events and users tables, and nothing that
refers to them (flags, evidence, the audit log, logins) may be lost on the way up or down."""

from __future__ import annotations

from alembic import command

from binwatch.collector.db.engine import Database
from binwatch.collector.db.migrate import alembic_config, upgrade

ROWS = [
    "INSERT INTO entities (id, type, name, contact, created_at) VALUES (1, 'other', 'e', '', '2026-01-01')",
    "INSERT INTO sites (id, name, address, entity_id, created_at) VALUES ('s', 'n', 'a', 1, '2026-01-01')",
    "INSERT INTO devices (id, site_id, description, token_hash, created_at) VALUES ('d', 's', '', 'h', '2026-01-01')",
    "INSERT INTO users (id, username, password_hash, role, active, created_at) "
    "VALUES (1, 'u', 'p', 'admin', 1, '2026-01-01')",
    "INSERT INTO logins VALUES ('t', 1, 'c', '2026-01-01', '2030-01-01')",
    "INSERT INTO events (id, device_id, site_id, bin_id, bin_category, started_at, ended_at, day, received_at, "
    "model_version, flagged, compliant, review_status, review_note, reviewed_by, body, body_sha256) VALUES "
    "('e1', 'd', 's', 'k1', 'kitchen', '2026-01-01', '2026-01-01', '2026-01-01', '2026-01-01', 'm', 1, 0, "
    "'confirmed', '', 1, '{}', 'x')",
    "INSERT INTO event_flags VALUES ('e1', 'mixed_disposal', 1, 1)",
    "INSERT INTO evidence VALUES ('e1', 'crop', 'c.jpg', 'h', 5, NULL)",
    "INSERT INTO reviews (id, event_id, user_id, action, note, before, after, created_at, undone) "
    "VALUES (1, 'e1', 1, 'confirm', '', '{}', '{}', '2026-01-01', 1)",
    "INSERT INTO reviews (id, event_id, user_id, action, note, before, after, created_at, undoes_id, undone) "
    "VALUES (2, 'e1', 1, 'undo', '', '{}', '{}', '2026-01-01', 1, 0)",
]
QUERIES = {
    "events": "SELECT id, bin_id, reviewed_by FROM events",
    "event_flags": "SELECT * FROM event_flags",
    "evidence": "SELECT event_id, kind FROM evidence",
    "reviews": "SELECT id, user_id, undoes_id FROM reviews ORDER BY id",
    "logins": "SELECT token_hash, user_id FROM logins",
}


def snapshot(db: Database) -> dict:
    with db.write_engine.connect() as connection:
        return {name: connection.exec_driver_sql(sql).all() for name, sql in QUERIES.items()}


def test_rows_survive_the_migration_both_ways(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(db.write_engine, "0001")
    with db.write_engine.begin() as connection:
        for sql in ROWS:
            connection.exec_driver_sql(sql)
    before = snapshot(db)
    assert before["reviews"] == [(1, 1, None), (2, 1, 1)] and before["logins"] == [("t", 1)]

    upgrade(db.write_engine, "0003")
    assert snapshot(db) == before
    with db.write_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT kind FROM events").scalar() == "disposal"
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    config = alembic_config(db.url)
    with db.write_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert snapshot(db) == before
    db.dispose()
