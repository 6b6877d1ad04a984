"""`digest edition ...` and `digest schedule ...`."""

from __future__ import annotations

import getpass
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from rich.table import Column, Table

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.core.app import App
from digest.core.text import in_zone
from digest.editions.editorial import act, find_edition
from digest.editions.lifecycle import history
from digest.editions.timeline import timeline
from digest.pipeline import send as send_edition
from digest.schedule.scheduler import job_overview
from digest.schedule.scheduler import run as run_scheduler
from digest.store.editions import EditionRow


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@cli.group()
def edition() -> None:
    """See and move editions through their life: approve, reopen, cancel."""


@edition.command("list")
@click.argument("newsletter")
@click.pass_obj
def list_(state: State, newsletter: str) -> None:
    """List a newsletter's editions, newest first, with the weeks skipped or missed and why.

    Times are in the newsletter's time zone.

    Example: digest edition list weekly
    """
    app = state.app()
    app.settings.newsletter(newsletter)
    with app.engine.connect() as conn:
        weeks = timeline(conn, newsletter)
    zone = _zone(app, newsletter)
    table = Table(
        "no.", Column("status", no_wrap=True), Column("send time", no_wrap=True),
        Column("sent", no_wrap=True), "subject",
    )  # fmt: skip
    for week in weeks:
        e = week.edition
        subject = e.content.subject if e else ""
        if week.reason:
            subject = f"{subject}\n[dim]{week.reason}[/]" if subject else f"[dim]{week.reason}[/]"
        table.add_row(
            str(e.number) if e else "-", week.outcome,
            in_zone(week.when, zone) if e is None or e.scheduled_for else "by hand",
            in_zone(e.sent_at, zone) if e and e.sent_at else "", subject,
        )  # fmt: skip
    console().print(table)


def _zone(app: App, newsletter: str) -> str:
    nl = app.settings.newsletters.get(newsletter)
    return (nl.timezone if nl else None) or app.settings.timezone


@edition.command()
@click.argument("newsletter")
@click.argument("number", type=int, required=False)
@click.pass_obj
def show(state: State, newsletter: str, number: int | None) -> None:
    """Show an edition (the current one unless NUMBER is given) and its history.

    Example: digest edition show weekly 3
    """
    app = state.app()
    e = find_edition(app, newsletter, number)
    c = console()
    c.print(f"[bold]{e.content.subject}[/]  edition {e.number} of {newsletter}: {e.status}")
    c.print(f"preheader: {e.content.preheader}")
    zone = _zone(app, newsletter)
    if e.scheduled_for:
        c.print(f"send time: {in_zone(e.scheduled_for, zone)}")
    if e.sent_at:
        c.print(f"sent: {in_zone(e.sent_at, zone)}")
    for section in e.content.sections:
        c.print(f"\n[bold]{section.title}[/]")
        for story in section.stories:
            c.print(f"  • {story.headline} ({story.source})")
    with app.engine.connect() as conn:
        events = history(conn, e.id)
    if events:
        table = Table("when", "from", "to", "by", "why")
        for ev in events:
            table.add_row(in_zone(ev.at, zone), ev.from_status, ev.to_status, ev.actor, ev.reason)
        c.print(table)


def _move(
    state: State, newsletter: str, number: int | None, action: str, reason: str
) -> EditionRow:
    app = state.app()
    e, status = act(app, newsletter, number, action, _actor(), reason)
    console().print(f"edition {e.number} of {newsletter} is now {status}")
    return e


@edition.command()
@click.argument("newsletter")
@click.argument("number", type=int, required=False)
@click.option("--send-now", is_flag=True, help="Send it at once instead of at the scheduled time.")
@click.option("--reason", default="", help="Why, for the edition's history.")
@click.pass_obj
def approve(state: State, newsletter: str, number: int | None, send_now: bool, reason: str) -> None:
    """Approve a draft so it goes out at its send time (or now, with --send-now).

    Example: digest edition approve weekly 3 --send-now
    """
    e = _move(state, newsletter, number, "approve", reason)
    from digest.email.prepare import prepare  # the mail stack, for this command only

    # Rendered now: the email checks speak before the send time (as warnings), and the send
    # reads this rendering instead of making it again (digest.email.rendered).
    prepare(state.app(), e)
    if send_now:
        report = send_edition(state.app(), newsletter, actor=_actor())
        console().print(f"sent to {report.counts.get('sent', 0)} subscribers")


@edition.command()
@click.argument("newsletter")
@click.argument("number", type=int, required=False)
@click.option("--reason", default="", help="Why, for the edition's history.")
@click.pass_obj
def reopen(state: State, newsletter: str, number: int | None, reason: str) -> None:
    """Take an approved edition back to draft, to change it before it is sent.

    Example: digest edition reopen weekly 3 --reason "wrong headline"
    """
    _move(state, newsletter, number, "reopen", reason)


@edition.command()
@click.argument("newsletter")
@click.argument("number", type=int, required=False)
@click.option("--reason", default="", help="Why, for the edition's history.")
@click.pass_obj
def cancel(state: State, newsletter: str, number: int | None, reason: str) -> None:
    """Cancel a draft or approved edition: it will never be sent.

    Example: digest edition cancel weekly 3 --reason "holiday week"
    """
    _move(state, newsletter, number, "cancel", reason)


@cli.group()
def schedule() -> None:
    """The scheduler: list its jobs, run it."""


@schedule.command("list")
@click.pass_obj
def schedule_list(state: State) -> None:
    """Show each job, its next run in its newsletter's time zone, and its last run's outcome.

    Reads only: the jobs are synced with the config when `digest schedule run` starts.

    Example: digest schedule list
    """
    console().print(_job_table(state.app()))


def _job_table(app: App) -> Table:
    """The jobs with each one's next and last run, in the newsletter's time zone."""
    table = Table(Column("job", no_wrap=True), "next run", "last run")
    year = app.clock().year
    for job in job_overview(app):
        tz = ZoneInfo(_zone(app, job.id.split(":", 1)[1]))

        def shown(when: datetime, tz: ZoneInfo = tz) -> str:
            local = when.astimezone(tz)
            return (
                f"{local:%a %d %b}{f' {local.year}' if local.year != year else ''} {local:%H:%M %Z}"
            )

        upcoming = shown(job.next_run) if job.next_run else "never"
        if job.missed_since is not None:
            upcoming += f"\n[yellow]missed {shown(job.missed_since)}[/]: handled at start"
        last = ""
        if job.last_run is not None:
            last = f"{job.last_run.outcome}, {shown(job.last_run.at)}"
            if job.last_run.message:
                last += f"\n[dim]{job.last_run.message}[/]"
        table.add_row(f"{job.id}\n[dim]{job.description}[/]", upcoming, last)
    return table


@schedule.command("run")
@click.pass_obj
def schedule_run(state: State) -> None:
    """Run the scheduler until stopped (Ctrl-C); re-reads the config every minute.

    Safe to run on several hosts against one PostgreSQL database.

    Example: digest schedule run
    """
    app = state.app()
    c = console()
    c.print(_job_table(app))
    c.print("scheduler running; Ctrl-C (or SIGTERM) stops it")
    # One line per job run, with its outcome, at the default level (more with --verbose).
    runs = logging.getLogger("digest.schedule")
    if not state.verbose:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        runs.addHandler(handler)
        runs.propagate = False
    runs.setLevel(logging.INFO)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # a line per second
    run_scheduler(app, reload=lambda: state.loaded().settings)
    c.print("scheduler stopped")
