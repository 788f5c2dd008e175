"""The login throttle shared by all workers (``login_attempts``) and evidence retention (``evidence.expired_at``).

Revision ID: 0002_login_throttle_retention
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_login_throttle_retention"
down_revision = "0001"
branch_labels = None
depends_on = None

LIVE_EVIDENCE = "uploaded_at IS NOT NULL AND expired_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_at", ["at"], unique=False)
        batch_op.create_index("ix_login_attempts_key", ["key", "at"], unique=False)

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_evidence_live",
            ["uploaded_at"],
            unique=False,
            sqlite_where=sa.text(LIVE_EVIDENCE),
            postgresql_where=sa.text(LIVE_EVIDENCE),
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_evidence_live", sqlite_where=sa.text(LIVE_EVIDENCE), postgresql_where=sa.text(LIVE_EVIDENCE)
        )
        batch_op.drop_column("expired_at")

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key")
        batch_op.drop_index("ix_login_attempts_at")

    op.drop_table("login_attempts")
