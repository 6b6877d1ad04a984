"""`digest preview`."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli import State, cli
from digest.cli.common import console
from digest.workflow import preview as preview_edition


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
