"""`digest subscribers ...`."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli import State, cli
from subscribers.store import import_csv


@cli.group()
def subscribers() -> None:
    """Manage subscriber lists."""


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", required=True, help="The list (newsletter) to add them to.")
@click.pass_obj
def import_(state: State, file: Path, list_name: str) -> None:
    """Import subscribers from a CSV with `email` and optional `name` columns.

    Example: digest subscribers import people.csv --list weekly
    """
    app = state.app()
    app.settings.newsletter(list_name)
    report = import_csv(app.engine, file, list_name, app.clock())
    click.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.rejected)}"
    )
    for line, reason in report.rejected:
        click.echo(f"{file}:{line}: {reason}", err=True)
