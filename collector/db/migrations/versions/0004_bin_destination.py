"""Where a bin's contents go (Art. 15(5) asks the ledger for kinds, quantities and destinations): the bin's
``destination``, and the emptying event's, kept as the bin recorded it when the event arrived.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bins", sa.Column("destination", sa.String(length=200), nullable=True))
    op.add_column("events", sa.Column("destination", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "destination")
    op.drop_column("bins", "destination")
