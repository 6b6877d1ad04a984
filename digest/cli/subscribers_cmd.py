"""`digest subscribers ...`: thin commands over `subscribers.ops`, `importer` and `export`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Connection

from digest.cli.common import confirm_or_refuse
from digest.cli.root import State, cli
from digest.core.text import counted
from subscribers import ops
from subscribers.errors import NotFound
from subscribers.models import Method, Status
from subscribers.queries import count_members, counts, list_members
from subscribers.suppression import suppress, unsuppress

if TYPE_CHECKING:
    from subscribers.importer import ImportSummary

STATUSES = [s.value for s in Status]
SHOWN_REJECTIONS = 10  # the first rejections are echoed; the report has them all


@cli.group()
def subscribers() -> None:
    """Manage subscriber lists: members, consent, topics, suppression, import and export."""


def _summary_lines(summary: ImportSummary, report: Path | None) -> list[str]:
    verb = "would add" if summary.dry_run else "added"
    lines = [
        f"{verb} {summary.added}, updated {summary.updated}, unchanged {summary.unchanged}, "
        f"rejected {summary.rejected_total}"
    ]
    for reason, n in sorted(summary.rejected.items()):
        lines.append(f"  rejected, {reason}: {n}")
    for kind, n in sorted(summary.warned.items()):
        lines.append(f"  imported with a warning, {kind}: {n}")
    lines.append(f"read as {summary.encoding}, delimiter {summary.delimiter!r}")
    if summary.latin1_lines:
        lines.append(f"{summary.latin1_lines} line(s) were not UTF-8 and were read as Latin-1")
    if report is not None and (summary.rejected_total or summary.warned):
        lines.append(f"rejected rows and warnings with line numbers and reasons: {report}")
    return lines


def default_report(home: Path, file: Path, now: datetime) -> Path:
    """Where an import's report goes unless told: the digest home, which is always writable,
    rather than beside the input, which may be a read-only folder."""
    folder = home / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{file.stem}-{now:%Y%m%dT%H%M%S}.report.csv"


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", required=True, help="The list (newsletter) to add them to.")
@click.option(
    "--status",
    type=click.Choice(["active", "pending"]),
    default="active",
    show_default=True,
    help="Status of new members; pending ones await double opt-in.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report, but write nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where rejected rows and warnings go (default: HOME/imports/FILE-TIME.report.csv).",
)
@click.option(
    "--unknown-topics",
    type=click.Choice(["ignore", "reject"]),
    default="ignore",
    show_default=True,
    help="A topic the newsletter lacks: import the row without it (and warn), or reject the row.",
)
@click.pass_obj
def import_(
    state: State,
    file: Path,
    list_name: str,
    status: str,
    dry_run: bool,
    report: Path | None,
    unknown_topics: str,
) -> None:
    """Import subscribers from a CSV with a header row (email; name, topics and any others).

    Re-running an import changes nothing; people who left are never re-subscribed.

    Example: digest subscribers import people.csv --list weekly --report rejected.csv
    """
    # The importer (CSV reading, bulk writes) and the exporter load with their commands only:
    # `subscribers add` starts without them.
    from subscribers.importer import ImportInterrupted, import_file, read_report

    app = state.app()
    newsletter = app.settings.newsletter(list_name)
    report = report or default_report(app.settings.home, file, app.clock())
    try:
        summary = import_file(
            app.engine,
            file,
            list_name,
            now=app.clock(),
            status=Status(status),
            hasher=app.hasher,
            report_path=report,
            dry_run=dry_run,
            batch_size=app.settings.subscribers.import_batch_size,
            allowed_topics=newsletter.tags,
            unknown_topics=unknown_topics,
            check_deliverability=app.settings.subscribers.check_deliverability,
        )
    except ImportInterrupted as exc:
        for line in _summary_lines(exc.summary, report):
            click.echo(line, err=True)
        raise
    for line in _summary_lines(summary, report):
        click.echo(line)
    for n, (line_no, _email, reason) in enumerate(read_report(report)):
        if n == SHOWN_REJECTIONS:
            click.echo(f"... see {report} for the rest", err=True)
            break
        click.echo(f"{file}:{line_no}: {reason}", err=True)


@subscribers.command("add")
@click.argument("email")
@click.option("--list", "list_name", required=True, help="The list (newsletter).")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--status",
    type=click.Choice(["active", "pending"]),
    default="active",
    show_default=True,
    help="pending: awaits double opt-in.",
)
@click.option("--consent", "consent_text", default="", help="How and when they agreed.")
@click.option("--topic", "topics", multiple=True, help="A topic they chose (repeatable).")
@click.pass_obj
def add(
    state: State,
    email: str,
    list_name: str,
    name: str,
    status: str,
    consent_text: str,
    topics: tuple[str, ...],
) -> None:
    """Add one address to a list, with a consent record.

    Example: digest subscribers add ann@example.com --list weekly --consent "asked at the fair"
    """
    app = state.app()
    newsletter = app.settings.newsletter(list_name)
    with app.engine.begin() as conn:
        result = ops.add(
            conn,
            email,
            list_name,
            now=app.clock(),
            name=name,
            status=Status(status),
            method=Method.CLI,
            consent_text=consent_text,
            topics=topics,
            allowed_topics=newsletter.tags,
            hasher=app.hasher,
        )
    click.echo(
        f"{email}: {result.status} on {list_name}" + ("" if result.changed else " (no change)")
    )
    if result.needs_confirmation and result.subscriber_id is not None:
        # The mail stack (templates, CSS inlining) loads only when a confirmation goes out.
        from digest.sending.confirmations import send_confirmation

        sent_to = send_confirmation(app, result.subscriber_id, list_name)
        click.echo(f"confirmation email sent to {sent_to} via {app.settings.provider}")


@subscribers.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(state: State, email: str, as_json: bool) -> None:
    """Everything stored about one subscriber: lists, statuses, topics, consent.

    Example: digest subscribers show ann@example.com
    """
    app = state.app()
    with app.engine.connect() as conn:
        view = ops.show(conn, email, hasher=app.hasher)
    if as_json:
        click.echo(json.dumps(asdict(view), default=str, ensure_ascii=False, indent=2))
        return
    click.echo(f"{view.email}  {view.name}  (id {view.id})")
    if view.suppressed:
        click.echo("SUPPRESSED: never mailed")
    for m in view.memberships:
        topics = ", ".join(m.topics) or "all topics"
        click.echo(f"  {m.list_name}: {m.status} since {m.status_changed_at:%Y-%m-%d %H:%M} "
                   f"({m.status_source}); {topics}")  # fmt: skip
        for c in m.consents:
            click.echo(f"    consent {c['at']} {c['method']} {c['ip'] or ''} {c['text']}")


@subscribers.command("list")
@click.option("--list", "list_name", help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--topic", help="Only members who chose this topic.")
@click.option("--page", default=1, show_default=True, help="Page number.")
@click.option("--per-page", default=50, show_default=True, help="Rows per page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
@click.pass_obj
def list_(
    state: State,
    list_name: str | None,
    status: str | None,
    topic: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """List memberships, filtered and paged.

    Example: digest subscribers list --list weekly --status active --page 2
    """
    app = state.app()
    with app.engine.connect() as conn:
        rows = list_members(
            conn, list_name=list_name, status=status, topic=topic, page=page, per_page=per_page
        )
        total = count_members(conn, list_name=list_name, status=status, topic=topic)
    if as_json:
        for r in rows:
            click.echo(json.dumps(asdict(r), default=str, ensure_ascii=False))
        return
    if rows:
        click.echo("email\tname\tlist\tstatus")
    for r in rows:
        click.echo(f"{r.email}\t{r.name}\t{r.list_name}\t{r.status}")
    first = (max(page, 1) - 1) * per_page
    shown = f"{first + 1:,}-{first + len(rows):,} of " if rows else "none of "
    pages = max(1, -(-total // per_page))
    click.echo(f"{shown}{counted(total, 'membership')} (page {max(page, 1)} of {pages})", err=True)


def _subscriber(conn: Connection, email: str) -> int:
    sub_id = ops.find_subscriber(conn, email)
    if sub_id is None:
        raise NotFound(f"no subscriber {email}")
    return sub_id


@subscribers.command("unsubscribe")
@click.argument("email")
@click.option("--list", "list_name", required=True, help="The list they leave.")
@click.pass_obj
def unsubscribe_(state: State, email: str, list_name: str) -> None:
    """Take an address off a list at once.

    Example: digest subscribers unsubscribe ann@example.com --list weekly
    """
    app = state.app()
    with app.engine.begin() as conn:
        changed = ops.unsubscribe(
            conn, _subscriber(conn, email), list_name, source="cli", now=app.clock()
        )
    click.echo(f"{email}: unsubscribed from {list_name}" + ("" if changed else " (already)"))


@subscribers.command("resubscribe")
@click.argument("email")
@click.option("--list", "list_name", required=True, help="The list.")
@click.option(
    "--consent", "consent_text", required=True, help="The new consent: how and when they asked."
)
@click.pass_obj
def resubscribe_(state: State, email: str, list_name: str, consent_text: str) -> None:
    """Make someone who left active again; needs a new consent record.

    Example: digest subscribers resubscribe ann@example.com --list weekly --consent "email 1 Dec"
    """
    app = state.app()
    with app.engine.begin() as conn:
        changed = ops.resubscribe(
            conn,
            _subscriber(conn, email),
            list_name,
            consent_text=consent_text,
            now=app.clock(),
            hasher=app.hasher,
        )
    click.echo(f"{email}: active on {list_name}" + ("" if changed else " (already)"))


@subscribers.command("topics")
@click.argument("email")
@click.option("--list", "list_name", required=True, help="The list.")
@click.option("--topic", "topics", multiple=True, help="A topic (repeatable); none: all topics.")
@click.pass_obj
def topics_(state: State, email: str, list_name: str, topics: tuple[str, ...]) -> None:
    """Set which of the newsletter's topics a member gets (none given: every topic).

    Example: digest subscribers topics ann@example.com --list weekly --topic transit
    """
    app = state.app()
    newsletter = app.settings.newsletter(list_name)
    with app.engine.begin() as conn:
        stored = ops.set_topics(
            conn,
            _subscriber(conn, email),
            list_name,
            topics,
            now=app.clock(),
            allowed=newsletter.tags,
        )
    click.echo(f"{email}: {', '.join(stored) or 'all topics'}")


@subscribers.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget_(state: State, email: str, yes: bool) -> None:
    """Erase a person (GDPR): personal data deleted, a keyed hash kept so imports skip them.

    Example: digest subscribers forget ann@example.com --yes
    """
    confirm_or_refuse(yes, f"erase {email} for good?", f"digest subscribers forget {email} --yes")
    app = state.app()
    with app.engine.begin() as conn:
        found = ops.forget(conn, email, now=app.clock(), hasher=app.hasher)
    click.echo(("erased; " if found else "not a subscriber; ") + "the address stays suppressed")


@subscribers.command("suppress")
@click.argument("target")
@click.option("--reason", default="", help="Why (kept with the entry).")
@click.pass_obj
def suppress_(state: State, target: str, reason: str) -> None:
    """Never mail an address, or a whole domain (give 'example.com' or '@example.com').

    Example: digest subscribers suppress spamtrap@example.com --reason "spam trap"
    """
    app = state.app()
    with app.engine.begin() as conn:
        added = suppress(
            conn, target, reason=reason, source="cli", now=app.clock(), hasher=app.hasher
        )
    click.echo(f"{target}: suppressed" + ("" if added else " (already)"))


@subscribers.command("unsuppress")
@click.argument("target")
@click.pass_obj
def unsuppress_(state: State, target: str) -> None:
    """Remove an address or domain from the suppression list (statuses stay as they are).

    Example: digest subscribers unsuppress example.com
    """
    app = state.app()
    with app.engine.begin() as conn:
        removed = unsuppress(conn, target, hasher=app.hasher)
    click.echo(f"{target}: " + ("no longer suppressed" if removed else "was not suppressed"))


@subscribers.command("counts")
@click.option("--list", "list_name", help="Only this list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def counts_(state: State, list_name: str | None, as_json: bool) -> None:
    """Members per list and status.

    Example: digest subscribers counts --list weekly
    """
    app = state.app()
    with app.engine.connect() as conn:
        table = counts(conn, list_name)
    if as_json:
        click.echo(json.dumps(table, sort_keys=True))
        return
    for name, by_status in sorted(table.items()):
        parts = ", ".join(f"{s} {by_status.get(s, 0)}" for s in STATUSES)
        click.echo(f"{name}: {parts}")


@subscribers.command("export")
@click.option("--list", "list_name", required=True, help="The list to export.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
    help="CSV (formula-safe cells) or JSON Lines.",
)  # fmt: skip
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout).",
)
@click.pass_obj
def export_(state: State, list_name: str, status: str | None, fmt: str, out: Path | None) -> None:
    """Export a list with statuses, topics and consent.

    Example: digest subscribers export --list weekly --out weekly.csv
    """
    from subscribers.export import export_list

    app = state.app()
    with app.engine.connect() as conn:
        if out is None:
            n = export_list(conn, list_name, sys.stdout, fmt=fmt, status=status)  # type: ignore[arg-type]
        else:
            with out.open("w", newline="", encoding="utf-8") as fh:
                n = export_list(conn, list_name, fh, fmt=fmt, status=status)  # type: ignore[arg-type]
            click.echo(f"exported {n} member(s) to {out}", err=True)
