"""`digest db ...`."""

from __future__ import annotations

import click

from digest.cli.root import State, cli
from digest.core.db import create_db_engine, current_revision, head_revision, upgrade


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: State) -> None:
    """Apply schema migrations (they also run by themselves on first use).

    Example: DIGEST_DATABASE_URL=postgresql://localhost/digest digest db upgrade
    """
    engine = create_db_engine(state.loaded().settings.db_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        click.echo(f"database schema: {before or 'empty'} → {head_revision()}")
    finally:
        engine.dispose()
