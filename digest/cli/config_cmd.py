"""`digest config ...`."""

from __future__ import annotations

import click
from rich.table import Table

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.settings.loading import effective_settings


@cli.group()
def config() -> None:
    """Inspect settings."""


@config.command("check")
@click.pass_obj
def check(state: State) -> None:
    """Validate the settings and print every effective value, secrets masked, with its origin.

    Example: DIGEST_HOME=/tmp/d digest config check
    """
    loaded = state.loaded()
    table = Table("setting", "value", "from")
    for key, value, origin in effective_settings(loaded):
        table.add_row(key, value, origin)
    c = console()
    c.print(f"config file: {loaded.path or '(none: built-in defaults)'}")
    c.print(table)
    c.print("[green]settings are valid[/]")
