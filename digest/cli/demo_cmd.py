"""`digest demo`."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import console
from digest.cli.root import cli
from digest.core.text import counted
from digest.demo import run_demo


@cli.command()
@click.option(
    "--dir",
    "home",
    type=click.Path(path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Home for the demo's state: a new or empty folder, or one an earlier demo made "
    "(emptied first).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Empty --dir even if the demo did not make it (deletes its files).",
)
def demo(home: Path, force: bool) -> None:
    """Run the whole flow on the bundled sample: ingest, preview, send to the outbox.

    Example: digest demo --dir /tmp/digest-demo
    """
    result = run_demo(home, force)
    c = console()
    counts = result.ingest.counts
    c.print(
        f"ingested {counts['new']} articles from the sample"
        + (f" ({len(result.ingest.errors)} errors)" if result.ingest.errors else "")
    )
    c.print(f"imported {result.subscribers.added} subscribers")
    content = result.preview.edition.content
    c.print(f"built edition {content.number}: [bold]{content.subject}[/]")
    c.print(
        f"  {counted(len(content.stories), 'story')} in {counted(len(content.sections), 'section')}"
    )
    c.print(f"preview: {result.preview.html}")
    c.print(f"         {result.preview.text}")
    c.print(f"sent {result.send.summary.counts['sent']} emails to the outbox: {result.outbox}")
