"""The ledger's rows are rewritten in place during a send: no index on their status.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_edition_status", table_name="deliveries")
    op.create_index("ix_deliveries_edition", "deliveries", ["edition_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Free room on each page for the new version of a row; pages written before keep
        # theirs until rewritten.
        op.execute("ALTER TABLE deliveries SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries RESET (fillfactor)")
    op.drop_index("ix_deliveries_edition", table_name="deliveries")
    op.create_index("ix_deliveries_edition_status", "deliveries", ["edition_id", "status", "id"])
