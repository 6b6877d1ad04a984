"""Articles remember the outlet that published them, apart from the source they came through.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for what was stored before: the source's name stands for the outlet, as it did.
    op.add_column("articles", sa.Column("outlet", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("outlet")
