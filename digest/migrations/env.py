"""Alembic environment: runs on the engine digest.core.db hands over, never on a URL in a file."""

from __future__ import annotations

from alembic import context

from digest.core.models import Base
from subscribers.models import SubscribersBase

target_metadata = [Base.metadata, SubscribersBase.metadata]
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
