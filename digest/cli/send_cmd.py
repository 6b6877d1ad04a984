"""`digest send NEWSLETTER` and its operator commands: status, pause, resume, cancel."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.core.errors import NothingToSend
from digest.core.text import counted
from digest.pipeline import SendReport, work
from digest.pipeline import send as send_edition
from digest.sending import controls
from digest.sending.loop import Hooks
from digest.sending.stopping import Stop, on_signals
from digest.store.delivery_lists import LISTED

if TYPE_CHECKING:
    from rich.table import Table

log = logging.getLogger("digest.sending.loop")


class SendGroup(click.Group):
    """`digest send NEWSLETTER` sends; `digest send status|pause|resume|cancel ...` operate."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Route anything that is not a subcommand (or --help) to the `run` command."""
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@contextmanager
def _progress(stop: Stop) -> Iterator[Hooks]:
    """Hooks for a send: a rich bar with a real total, rate and ETA on a terminal, else a log
    line per batch; the operator's messages (waits, outages) go above the bar."""
    if not sys.stdout.isatty():
        done, total = [0], [0]

        def line(n: int) -> None:
            done[0] += n
            log.warning("settled %d more (%d/%d)", n, done[0], total[0])

        def more(n: int) -> None:
            total[0] += n

        yield Hooks(progress=line, more=more, stop=stop)
        return
    from digest.cli.send_bar import terminal_bar  # rich's bar: only on a terminal

    with terminal_bar(stop) as hooks:
        yield hooks


def _report(report: SendReport, provider: str) -> None:
    c = console()
    content = report.edition.content
    c.print(f"edition {report.edition.number} of {report.edition.newsletter}: {content.subject}")
    c.print(_counts_table(report.counts))
    if report.counts.get("claimed"):
        c.print(
            f"{report.counts['claimed']} deliveries are in flight with other workers; "
            "the last one to finish marks the edition sent"
        )
    s = report.summary
    c.print(
        f"this run: sent {s.counts['sent']}, skipped {s.counts['skipped']}, "
        f"rejected {s.counts['rejected']}, retrying {s.counts['retrying']}, "
        f"uncertain {s.counts['uncertain']}, provider waits {s.counts['retried']}, "
        f"recovered {s.recovered} in {s.elapsed:.2f}s ({s.rate:.0f}/s) via {provider}"
    )


def _counts_table(counts: dict[str, int]) -> Table:
    from rich.table import Table

    table = Table("status", "deliveries")
    for status, n in sorted(counts.items()):
        table.add_row(status, f"{n:,}")
    return table


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
        # SIGINT and SIGTERM stop it between batches (see digest.sending.stopping).
        with on_signals(Stop()) as stop, _progress(stop) as hooks:
            if worker:
                report = work(app, newsletter, resend_uncertain=resend_uncertain, hooks=hooks)
            else:
                report = send_edition(
                    app, newsletter, resend_uncertain=resend_uncertain, hooks=hooks
                )
    except NothingToSend as exc:
        # Not a failure: a scheduled run with nothing new simply sends nothing.
        click.echo(f"nothing sent: {exc.message}")
        return
    _report(report, app.settings.provider)


@send.command("status")
@click.argument("newsletter")
@click.option("--edition", "number", type=int, help="Edition number (default: the newest).")
@click.option(
    "--only",
    type=click.Choice(LISTED),
    multiple=True,
    help="List only readers in this state (repeatable; default: all of them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every listed reader).")
@click.pass_obj
def status(
    state: State, newsletter: str, number: int | None, only: tuple[str, ...], as_json: bool
) -> None:
    """Where the send stands, and every reader who is uncertain, failed, skipped, rejected or
    waiting to be retried, by address (streamed: complete for any size of list).

    Example: digest send status weekly --edition 3 --only uncertain --json
    """
    app = state.app()
    st = controls.status(app, newsletter, number)
    wanted = only or LISTED
    rows = controls.readers(app, st.edition.id, wanted)
    if as_json:
        # Written as it is read, so a list of millions never sits in memory.
        head = json.dumps(st.as_dict(), indent=2)
        click.echo(head[:-2] + ',\n  "readers": [', nl=False)
        for n, row in enumerate(rows):
            click.echo(("," if n else "") + "\n    " + json.dumps(row.as_dict()), nl=False)
        click.echo("\n  ]\n}")
        return
    c = console()
    c.print(f"edition {st.edition.number} of {newsletter}: {st.state}; {st.total:,} deliveries")
    c.print(_counts_table(st.counts))
    left = st.counts.get("pending", 0) + st.counts.get("claimed", 0)
    if str(st.edition.status) == "sending" and st.control == "running" and left:
        c.print(
            f"{left:,} not sent yet: a `digest send` that is running carries on; if none is "
            f"(it was stopped, or its machine went down), `digest send {newsletter}` resumes "
            "where it stopped"
        )
    for n, row in enumerate(rows):
        if not n:
            click.echo("delivery\tstatus\temail\twhy")
        why = row.error or ""
        if row.status == "retrying" and row.retry_at is not None:
            why = f"{why} (next try {row.retry_at:%Y-%m-%d %H:%M} UTC)"
        click.echo(f"{row.delivery_id}\t{row.status}\t{row.email}\t{why}")
    if st.counts.get("uncertain") and "uncertain" in wanted:
        c.print(
            f"{st.counts['uncertain']:,} uncertain: the provider may or may not have sent them. "
            f"Resend with `digest send {newsletter} --resend-uncertain` (some may get two), "
            "or leave them."
        )
    if str(st.edition.status) == "failed":
        c.print(f"the edition failed; `digest send {newsletter}` tries the unsent readers again")


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


@send.command("settle")
@click.argument("newsletter")
@click.pass_obj
def settle(state: State, newsletter: str) -> None:
    """Leave the uncertain deliveries as they are: never resent, so the edition can finish.

    The provider may have sent them (its answer was lost); they stay listed as `unconfirmed`
    in `digest send status`. Run `digest send NEWSLETTER` afterwards (the scheduler does it
    within a minute) to finish the edition.

    Example: digest send settle weekly
    """
    edition, n = controls.settle(state.app(), newsletter, actor="cli")
    click.echo(
        f"edition {edition.number} of {newsletter}: {counted(n, 'uncertain delivery')} left "
        f"as they are (never resent); `digest send {newsletter}` finishes the edition"
    )
