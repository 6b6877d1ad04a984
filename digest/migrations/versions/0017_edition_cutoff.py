"""Each edition remembers when its candidates were drawn, so later arrivals go in the next one.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscribers.sqltypes import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("editions", sa.Column("drawn_at", UTCDateTime(), nullable=True))
    # Editions built before this column: their first build is the earliest their candidates
    # can have been drawn, so nothing that arrived after it is taken as already considered.
    op.execute("UPDATE editions SET drawn_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("drawn_at")
