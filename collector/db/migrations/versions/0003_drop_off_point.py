"""The whole drop-off point: event kinds beside disposals, zones and bin capacities, the entity role,
work orders, and the queue of publication to the city platform.

Revision ID: 0003
Revises: 0002_login_throttle_retention

SQLite cannot drop a NOT NULL constraint in place: the events table is copied into a new one (Alembic's
batch mode). With foreign keys enforced, dropping the old table would first delete, by cascade, the
rows that refer to it (flags, evidence, the audit log), and foreign keys cannot be switched off inside
the migration's transaction. So those rows are kept aside in temporary tables and put back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002_login_throttle_retention"
branch_labels = None
depends_on = None


def _referring(connection, table: str) -> list[str]:
    """Tables whose rows a deletion in ``table`` reaches through foreign keys, each after those it refers to."""
    names = [n for (n,) in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
    parents = {n: {ref[2] for ref in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{n}")')} for n in names}
    reached = {table}
    while grown := {n for n in names if parents[n] & reached} - reached:
        reached |= grown
    ordered: list[str] = []
    waiting = reached - {table}
    while waiting:
        ready = sorted(n for n in waiting if not (parents[n] - {n}) & waiting)
        if not ready:
            raise RuntimeError(f"foreign keys run in a circle among {sorted(waiting)}")
        ordered += ready
        waiting -= set(ready)
    return ordered


def _recreate(table: str, alter) -> None:
    """Run ``alter(batch_op)`` on ``table``, keeping on SQLite the rows that refer to it."""
    connection = op.get_bind()
    kept = _referring(connection, table) if connection.dialect.name == "sqlite" else []
    for name in kept:
        connection.exec_driver_sql(f'CREATE TEMP TABLE "keep_{name}" AS SELECT * FROM "{name}"')
    with op.batch_alter_table(table, schema=None) as batch_op:
        alter(batch_op)
    for name in reversed(kept):
        connection.exec_driver_sql(f'DELETE FROM "{name}"')
    for name in kept:
        connection.exec_driver_sql(f'INSERT INTO "{name}" SELECT * FROM "keep_{name}"')
        connection.exec_driver_sql(f'DROP TABLE "keep_{name}"')


def upgrade() -> None:
    def alter(batch_op) -> None:
        batch_op.add_column(sa.Column("kind", sa.String(length=24), server_default="disposal", nullable=False))
        batch_op.add_column(sa.Column("zone_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fill_level", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("quantity_l", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("resolves", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=36), nullable=True))
        batch_op.alter_column("bin_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("bin_category", existing_type=sa.String(length=16), nullable=True)
        batch_op.create_index("ix_events_kind", ["kind", "started_at"], unique=False)
        batch_op.create_index("ix_events_resolves", ["resolves"], unique=False)

    _recreate("events", alter)

    op.add_column("bins", sa.Column("capacity_l", sa.Float(), nullable=True))
    op.create_table(
        "zones",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "id"),
    )

    # An added column with a foreign key: SQLite takes the reference inline, others as a named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users ADD COLUMN entity_id INTEGER REFERENCES entities (id)")
    else:
        op.add_column("users", sa.Column("entity_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_users_entity_id", "users", "entities", ["entity_id"], ["id"])
    op.create_index("ix_users_entity_id", "users", ["entity_id"], unique=False)

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("photo_size", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_orders_entity", "work_orders", ["entity_id", "state", "due_at"], unique=False)
    op.create_index("ix_work_orders_event_id", "work_orders", ["event_id"], unique=False)
    op.create_index("ix_work_orders_site", "work_orders", ["site_id", "created_at"], unique=False)
    op.create_index("ix_work_orders_state", "work_orders", ["state", "due_at"], unique=False)
    op.create_table(
        "work_order_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_order_steps_order_id", "work_order_steps", ["order_id"], unique=False)

    op.create_table(
        "platform_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_table(
        "platform_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["message_pk"], ["platform_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_platform_deliveries_message_pk", "platform_deliveries", ["message_pk"], unique=False)
    op.create_index("ix_platform_deliveries_queue", "platform_deliveries", ["target", "state", "id"], unique=False)
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("platform_deliveries")
    op.drop_table("platform_messages")
    op.drop_table("work_order_steps")
    op.drop_table("work_orders")
    op.execute("DELETE FROM users WHERE role = 'entity'")  # version 0001 knows only reviewers and admins
    op.drop_index("ix_users_entity_id", "users")
    if op.get_bind().dialect.name == "sqlite":
        _recreate("users", lambda batch_op: batch_op.drop_column("entity_id"))
    else:
        op.drop_constraint("fk_users_entity_id", "users", type_="foreignkey")
        op.drop_column("users", "entity_id")
    op.drop_table("zones")
    op.drop_column("bins", "capacity_l")
    op.execute("DELETE FROM events WHERE kind <> 'disposal'")  # version 0001 knows only disposals

    def alter(batch_op) -> None:
        batch_op.drop_index("ix_events_resolves")
        batch_op.drop_index("ix_events_kind")
        batch_op.alter_column("bin_category", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("bin_id", existing_type=sa.String(length=64), nullable=False)
        added = ("resolved_by", "resolved_at", "categories", "resolves", "quantity_l", "fill_level", "zone_id", "kind")
        for column in added:
            batch_op.drop_column(column)

    _recreate("events", alter)
