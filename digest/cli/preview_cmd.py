"""`digest preview` and `digest test-send`: what editors check before an edition goes out."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.email.preview import open_in_browser
from digest.pipeline import preview as preview_edition
from digest.pipeline import send_test_copy
from digest.sending.providers.base import Outcome


@cli.command()
@click.argument("newsletter")
@click.option("--edition", "number", type=int, help="Edition number (default: the current draft).")
@click.option("--subscriber", metavar="EMAIL", help="Render it as this subscriber gets it.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder for the files (default HOME/preview)."
)
@click.option("--open", "open_", is_flag=True, help="Open the preview page in a browser.")
@click.pass_obj
def preview(
    state: State,
    newsletter: str,
    number: int | None,
    subscriber: str | None,
    out: Path | None,
    open_: bool,
) -> None:
    """Write the edition as a reader gets it: index.html (phone and desktop widths, text,
    headers), the HTML, the text and the .eml. Checks size, links and images.

    Example: digest preview weekly --subscriber ada@example.com --open
    """
    app = state.app()
    folder = out or app.settings.home / "preview"
    files = preview_edition(app, newsletter, folder, app.clock(), number, subscriber)
    c = console()
    content = files.edition.content
    c.print(
        f"[bold]{content.subject}[/] — edition {content.number}, {len(content.stories)} stories"
    )
    for label, path in (
        ("page", files.index),
        ("HTML", files.html),
        ("text", files.text),
        ("email", files.eml),
    ):
        c.print(f"{label:>5}: {path}")
    for finding in files.findings:
        colour = "red" if finding.level == "error" else "yellow"
        c.print(f"[{colour}]{finding}[/]")
    if open_ and files.index is not None and not open_in_browser(files.index):
        click.echo(f"no browser found; open {files.index} yourself", err=True)


@cli.command("test-send")
@click.argument("newsletter")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Where the test copy goes.")
@click.option("--edition", "number", type=int, help="Edition number (default: the current draft).")
@click.pass_obj
def test_send(state: State, newsletter: str, to: str, number: int | None) -> None:
    """Send one copy marked [TEST] through the configured provider; no delivery is recorded.

    Example: digest test-send weekly --to me@example.com
    """
    app = state.app()
    result = send_test_copy(app, newsletter, to, app.clock(), number)
    if result.outcome != Outcome.ACCEPTED:
        raise click.ClickException(f"the provider did not accept the test copy: {result.error}")
    where = f" ({result.provider_id})" if result.provider_id else ""
    click.echo(f"test copy sent to {to} via {app.settings.provider}{where}")
