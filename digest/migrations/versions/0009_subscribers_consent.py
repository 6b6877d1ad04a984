"""Subscribers: case-blind identity, consent records, topic preferences, suppression list.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from subscribers.sqltypes import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("domain", sa.String(length=255), nullable=True))
    conn = op.get_bind()
    subs = sa.table(
        "subscribers",
        sa.column("id"),
        sa.column("email"),
        sa.column("email_key"),
        sa.column("domain"),
    )
    rows = conn.execute(sa.select(subs.c.id, subs.c.email)).all()
    for row in rows:
        key = row.email.lower()
        conn.execute(
            subs.update()
            .where(subs.c.id == row.id)
            .values(email_key=key, domain=key.rsplit("@", 1)[-1])
        )
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("email_key", existing_type=sa.String(length=320), nullable=False)
        batch.alter_column("domain", existing_type=sa.String(length=255), nullable=False)
        batch.drop_constraint("uq_subscribers_email", type_="unique")
        batch.create_unique_constraint("uq_subscribers_email_key", ["email_key"])
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(
            sa.Column("status_source", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("status_edition_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column("status_source", existing_type=sa.String(length=32), server_default=None)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_consents_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_membership_id"), "consents", ["membership_id"])
    op.create_table(
        "membership_topics",
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_membership_topics_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("membership_id", "topic", name=op.f("pk_membership_topics")),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "address_hash IS NOT NULL OR email_key IS NOT NULL OR domain IS NOT NULL",
            name=op.f("ck_suppressions_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("email_key", name=op.f("uq_suppressions_email_key")),
        sa.UniqueConstraint("address_hash", name=op.f("uq_suppressions_address_hash")),
        sa.UniqueConstraint("domain", name=op.f("uq_suppressions_domain")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("membership_topics")
    op.drop_index(op.f("ix_consents_membership_id"), table_name="consents")
    op.drop_table("consents")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("status_edition_id")
        batch.drop_column("status_source")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_email_key", type_="unique")
        batch.create_unique_constraint("uq_subscribers_email", ["email"])
        batch.drop_column("domain")
        batch.drop_column("email_key")
