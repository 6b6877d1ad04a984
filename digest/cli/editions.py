"""`digest send` (the preview lives in preview_cmd)."""

from __future__ import annotations

import click
from rich.table import Table

from digest.cli import State, cli
from digest.cli.common import console
from digest.errors import NothingToSend
from digest.workflow import send as send_edition


@cli.command()
@click.argument("newsletter")
@click.pass_obj
def send(state: State, newsletter: str) -> None:
    """Send the newsletter's edition to its active subscribers (resumes an interrupted send).

    Example: digest send weekly
    """
    app = state.app()
    try:
        report = send_edition(app, newsletter)
    except NothingToSend as exc:
        # Not a failure: a scheduled run with nothing new simply sends nothing.
        click.echo(f"nothing sent: {exc.message}")
        return
    table = Table("status", "deliveries")
    for status, n in sorted(report.counts.items()):
        table.add_row(status, str(n))
    c = console()
    c.print(f"edition {report.edition.number} of {newsletter}: {report.edition.content.subject}")
    c.print(table)
    s = report.summary
    c.print(
        f"sent {s.counts['sent']} in {s.elapsed:.2f}s ({s.rate:.0f}/s) via {app.settings.provider}"
    )
