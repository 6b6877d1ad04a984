"""`digest preview` and `digest send`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from digest.cli import State, cli
from digest.cli.common import console
from digest.errors import NothingToSend
from digest.workflow import preview as preview_edition
from digest.workflow import send as send_edition


@cli.command()
@click.argument("newsletter")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder for the files (default HOME/preview)."
)
@click.pass_obj
def preview(state: State, newsletter: str, out: Path | None) -> None:
    """Build the draft edition and write its HTML, text and a sample .eml.

    Example: digest preview weekly --out ./preview
    """
    app = state.app()
    files = preview_edition(app, newsletter, out or app.settings.home / "preview", app.clock())
    c = console()
    content = files.edition.content
    c.print(
        f"[bold]{content.subject}[/] — edition {content.number}, {len(content.stories)} stories"
    )
    for label, path in (("HTML", files.html), ("text", files.text), ("email", files.eml)):
        c.print(f"{label:>5}: {path}")


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
