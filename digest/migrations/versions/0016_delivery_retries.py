"""Temporary failures wait for their turn: when a delivery is due again, and since when it fails.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscribers.sqltypes import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no table rewrite, whatever the ledger's size.
    op.add_column("deliveries", sa.Column("retry_at", UTCDateTime(), nullable=True))
    op.add_column("deliveries", sa.Column("failing_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("failing_since")
        batch.drop_column("retry_at")
