"""Each membership's status history; existing memberships start with their current status.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscribers.sqltypes import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "membership_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_membership_events_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_events")),
    )
    op.create_index(
        op.f("ix_membership_events_membership_id"), "membership_events", ["membership_id"]
    )
    op.execute(
        "INSERT INTO membership_events (membership_id, status, source, edition_id, at) "
        "SELECT id, status, status_source, status_edition_id, status_changed_at FROM memberships"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_membership_events_membership_id"), table_name="membership_events")
    op.drop_table("membership_events")
