"""`digest send NEWSLETTER` and its operator commands: status, pause, resume, cancel."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.core.errors import NothingToSend
from digest.pipeline import SendReport, work
from digest.pipeline import send as send_edition
from digest.sending import controls

log = logging.getLogger("digest.sending.loop")


class SendGroup(click.Group):
    """`digest send NEWSLETTER` sends; `digest send status|pause|resume|cancel ...` operate."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Route anything that is not a subcommand (or --help) to the `run` command."""
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A rich bar with rate and ETA on a terminal; a log line per batch otherwise."""
    if not sys.stdout.isatty():
        done = [0]

        def line(n: int) -> None:
            done[0] += n
            log.warning("sent batch of %d (%d/%d)", n, done[0], total)

        yield line
        return
    columns = (
        TextColumn("sending"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console()) as bar:
        task = bar.add_task("send", total=total or None)
        yield lambda n: bar.advance(task, n)


def _report(report: SendReport, provider: str) -> None:
    c = console()
    table = Table("status", "deliveries")
    for status, n in sorted(report.counts.items()):
        table.add_row(status, str(n))
    content = report.edition.content
    c.print(f"edition {report.edition.number} of {report.edition.newsletter}: {content.subject}")
    c.print(table)
    if report.counts.get("claimed"):
        c.print(
            f"{report.counts['claimed']} deliveries are in flight with other workers; "
            "the last one to finish marks the edition sent"
        )
    s = report.summary
    c.print(
        f"sent {s.counts['sent']}, rejected {s.counts['rejected']}, "
        f"retried {s.counts['retried']}, skipped {s.counts['skipped']}, "
        f"recovered {s.recovered} in {s.elapsed:.2f}s ({s.rate:.0f}/s) via {provider}"
    )


@cli.group(cls=SendGroup)
def send() -> None:
    """Send an edition, or see and steer a send in progress.

    \b
    Examples:
      digest send weekly                      send (or resume) the current edition
      digest send weekly --worker             join a send in progress (PostgreSQL)
      digest send status weekly --json        counts, and the uncertain deliveries
      digest send pause weekly / resume weekly / cancel weekly
    """


@send.command("run")
@click.argument("newsletter")
@click.option("--worker", is_flag=True, help="Join the send in progress instead of starting one.")
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Send again the deliveries a crashed worker left uncertain (some may get two).",
)
@click.option(
    "--resume", "resume_", is_flag=True, help="Accepted for clarity: sends always resume."
)
@click.pass_obj
def run(state: State, newsletter: str, worker: bool, resend_uncertain: bool, resume_: bool) -> None:
    """Send the newsletter's edition to its active subscribers (resumes an interrupted send).

    Example: digest send run weekly   (the same as `digest send weekly`)
    """
    app = state.app()
    try:
        with _progress(0) as tick:
            if worker:
                report = work(app, newsletter, resend_uncertain=resend_uncertain, on_batch=tick)
            else:
                report = send_edition(
                    app, newsletter, resend_uncertain=resend_uncertain, on_batch=tick
                )
    except NothingToSend as exc:
        # Not a failure: a scheduled run with nothing new simply sends nothing.
        click.echo(f"nothing sent: {exc.message}")
        return
    _report(report, app.settings.provider)


@send.command("status")
@click.argument("newsletter")
@click.option("--edition", "number", type=int, help="Edition number (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status(state: State, newsletter: str, number: int | None, as_json: bool) -> None:
    """Deliveries per status, whether the send is paused, and every uncertain delivery.

    Example: digest send status weekly --edition 3 --json
    """
    st = controls.status(state.app(), newsletter, number)
    if as_json:
        click.echo(json.dumps(st.as_dict(), indent=2))
        return
    c = console()
    c.print(
        f"edition {st.edition.number} of {newsletter}: {st.edition.status}, send {st.control}, "
        f"{st.total} deliveries"
    )
    table = Table("status", "deliveries")
    for name, n in sorted(st.counts.items()):
        table.add_row(name, str(n))
    c.print(table)
    if st.uncertain:
        c.print(f"{len(st.uncertain)} uncertain (the provider may or may not have sent them):")
        for u in st.uncertain:
            c.print(f"  {u.delivery_id}\t{u.email}\tclaimed by {u.claimed_by} at {u.claimed_at}")
        c.print(f"resend them with: digest send {newsletter} --resend-uncertain")


def _control(verb: str, action: Callable[..., Any], done: str) -> None:
    @send.command(verb)
    @click.argument("newsletter")
    @click.pass_obj
    def command(state: State, newsletter: str) -> None:
        result = action(state.app(), newsletter)
        edition = result[0] if isinstance(result, tuple) else result
        extra = f" ({result[1]} deliveries will not be sent)" if isinstance(result, tuple) else ""
        click.echo(f"edition {edition.number} of {newsletter}: {done}{extra}")

    command.help = {
        "pause": "Pause the send: workers stop after their current batch.\n\n"
        "Example: digest send pause weekly",
        "resume": "Resume a paused send (then run `digest send NEWSLETTER` or workers).\n\n"
        "Example: digest send resume weekly",
        "cancel": "Cancel the send for good: deliveries not yet claimed are never sent.\n\n"
        "Example: digest send cancel weekly",
    }[verb]


_control("pause", controls.pause, "send paused")
_control("resume", controls.resume, "send resumed; run `digest send` or start workers")
_control("cancel", controls.cancel, "send cancelled")
