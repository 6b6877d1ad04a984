"""Editors correct grouping: an article split out of its story, or two stories merged.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Edits stored before this revision split and merge nothing.
    with op.batch_alter_table("story_edits") as batch:
        batch.add_column(
            sa.Column("split", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("merge_into", sa.Integer(), nullable=True))
    with op.batch_alter_table("story_edits") as batch:
        batch.alter_column("split", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("story_edits") as batch:
        batch.drop_column("merge_into")
        batch.drop_column("split")
