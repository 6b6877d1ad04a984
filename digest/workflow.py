"""The main job's steps wired together: draft an edition, preview it, send it."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from digest.app import App
from digest.edition import build_edition
from digest.errors import DigestError, NothingToSend
from digest.lifecycle import LifecycleError, Status, transition
from digest.message import PreparedEdition, Recipient, compose
from digest.providers import create_mailer
from digest.render import render_edition
from digest.select import select_articles
from digest.send import SendOptions, SendSummary, run_send
from digest.store import deliveries, editions
from digest.store.articles import articles_since, sent_article_ids
from digest.store.editions import EditionRow
from subscribers.store import recipients


def prepare_draft(
    app: App, newsletter: str, now: datetime, scheduled_for: datetime | None = None
) -> EditionRow:
    """Build (or rebuild) the newsletter's draft from the articles in its window.

    An edition past the draft stage (approved, sending, failed) is returned as it is: what an
    editor approved is what goes out, and an interrupted send resumes with the same content.
    """
    settings = app.settings.newsletter(newsletter)
    with app.engine.begin() as conn:
        current = editions.open_edition(conn, newsletter)
        if current is not None and current.status != Status.DRAFT:
            return current
        sent = sent_article_ids(conn, newsletter)
        pool = articles_since(conn, now - timedelta(days=settings.window_days), now, settings.tags)
        chosen = select_articles(pool, settings, now, sent)
        if not chosen:
            raise NothingToSend(
                f"nothing new for {newsletter}: no unsent articles tagged "
                f"{', '.join(settings.tags)} in the last {settings.window_days} days",
                hint="ingest articles first (`digest ingest PATH`), or widen window_days",
            )
        number = current.number if current else editions.next_number(conn, newsletter)
        content = build_edition(newsletter, settings, chosen, number, now, app.settings.timezone)
        editions.save_draft(conn, content, now, scheduled_for)
        row = editions.get_edition(conn, newsletter, number)
    assert row is not None
    return row


def prepare(app: App, edition: EditionRow) -> PreparedEdition:
    """Render the edition once and gather what every recipient's message shares."""
    s = app.settings
    nl = s.newsletter(edition.newsletter)
    context: dict[str, Any] = {
        "description": nl.description,
        "postal_address": s.sender.postal_address,
        "sender_name": s.sender.name,
        "base_url": s.base_url,
        "view_url": f"{s.base_url}/archive/{edition.newsletter}/{edition.number}",
    }
    rendered = render_edition(app.templates, edition.content, context)
    return PreparedEdition(
        edition_id=edition.id,
        newsletter=edition.newsletter,
        number=edition.number,
        subject=edition.content.subject,
        from_name=s.sender.name,
        from_email=s.sender.email,
        reply_to=s.sender.reply_to,
        list_id=f"{nl.title} <{edition.newsletter}.{s.sender.domain}>",
        rendered=rendered,
    )


@dataclass(frozen=True)
class PreviewFiles:
    """Where `preview` wrote the edition."""

    html: Path
    text: Path
    eml: Path
    edition: EditionRow


def preview(app: App, newsletter: str, out: Path, now: datetime) -> PreviewFiles:
    """Write the draft's HTML, text and one sample .eml (to a made-up reader) to `out`."""
    edition = prepare_draft(app, newsletter, now)
    prepared = prepare(app, edition)
    sample = Recipient(
        delivery_id=0,
        subscriber_id=0,
        email="reader@example.com",
        name="Sample Reader",
        unsubscribe_url=f"{app.settings.base_url}/u/"
        + app.signer.unsubscribe_token(0, newsletter, edition.id),
    )
    values = sample.slot_values()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{newsletter}-{edition.number}"
    files = PreviewFiles(out / f"{stem}.html", out / f"{stem}.txt", out / f"{stem}.eml", edition)
    files.html.write_text(prepared.rendered.html.fill(values, escape=html.escape), encoding="utf-8")
    files.text.write_text(prepared.rendered.text.fill(values), encoding="utf-8")
    files.eml.write_bytes(bytes(compose(prepared, sample, now)))
    return files


@dataclass(frozen=True)
class SendReport:
    """What `send` did."""

    edition: EditionRow
    planned: int
    summary: SendSummary
    counts: dict[str, int]


def send_options(app: App, resend_uncertain: bool = False, worker: str = "") -> SendOptions:
    """The send settings as the loop's options."""
    s = app.settings.send
    return SendOptions(
        batch_size=s.batch_size,
        rate_limit=s.rate_limit,
        concurrency=s.concurrency,
        lease=s.lease,
        resend_uncertain=resend_uncertain,
        worker=worker,
    )


def send(
    app: App,
    newsletter: str,
    actor: str = "cli",
    resend_uncertain: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> SendReport:
    """Send the newsletter's current edition; run it again after an interruption to resume.

    A draft goes out only when the newsletter's approval is `auto` (it is rebuilt from the
    latest articles first); with `required`, an editor must approve it. The ledger holds one
    row per subscriber, so nobody is sent an edition twice.
    """
    now = app.clock()
    edition = prepare_draft(app, newsletter, now)
    with app.engine.begin() as conn:
        if edition.status == Status.DRAFT:
            if app.settings.newsletter(newsletter).approval == "required":
                raise LifecycleError(
                    f"edition {edition.number} of {newsletter} is a draft awaiting approval",
                    hint=f"check it (digest preview {newsletter}), then "
                    f"`digest edition approve {newsletter} {edition.number} --send-now`",
                )
            transition(conn, edition.id, "approve", "auto-approval", now, "approval is auto")
        if edition.status in (Status.DRAFT, Status.APPROVED):
            transition(conn, edition.id, "start", actor, now)
        elif edition.status == Status.FAILED:
            transition(conn, edition.id, "retry", actor, now)
        planned = deliveries.plan(conn, edition.id, recipients(app.engine, newsletter), now)
    prepared = prepare(app, edition)
    mailer = create_mailer(app.settings.provider, app.settings, app.clock)
    summary = run_send(
        app.engine,
        mailer,
        prepared,
        app.signer,
        app.settings.base_url,
        app.clock,
        on_batch=on_batch,
        options=send_options(app, resend_uncertain=resend_uncertain),
    )
    return _finish(app, edition, planned, summary, actor)


def _finish(
    app: App, edition: EditionRow, planned: int, summary: SendSummary, actor: str
) -> SendReport:
    """Mark the edition sent when every delivery is settled; else say what is left and why."""
    newsletter = edition.newsletter
    with app.engine.begin() as conn:
        counts = deliveries.counts(conn, edition.id)
        unfinished = sum(counts.get(s, 0) for s in deliveries.UNFINISHED)
        if unfinished == 0 and summary.stopped is None:
            current = editions.get_edition(conn, newsletter, edition.number)
            if current is not None and current.status == Status.SENDING:
                # Another worker may finish it at the same moment; once is enough.
                with contextlib.suppress(LifecycleError):
                    transition(conn, edition.id, "finish", actor, app.clock())
    if summary.stopped == "paused":
        raise SendPaused(
            f"the send of edition {edition.number} of {newsletter} is paused "
            f"({unfinished} deliveries left)",
            hint=f"`digest send resume {newsletter}` continues it",
        )
    if summary.stopped == "cancelled":
        raise DigestError(f"the send of edition {edition.number} of {newsletter} was cancelled")
    if counts.get("uncertain", 0):
        raise DigestError(
            f"edition {edition.number} of {newsletter}: {counts['uncertain']} deliveries are "
            "uncertain (a worker died while the provider had them)",
            hint=f"`digest send status {newsletter}` lists them; `digest send {newsletter} "
            "--resend-uncertain` sends them again (some readers may then get two)",
        )
    if unfinished - counts.get("claimed", 0):
        raise DigestError(
            f"edition {edition.number} of {newsletter}: {unfinished} deliveries not finished",
            hint="run `digest send` again to resume; nobody already sent to gets it twice",
        )
    return SendReport(edition=edition, planned=planned, summary=summary, counts=counts)


class SendPaused(DigestError):
    """The operator paused the send; it continues after `digest send resume`."""


def work(
    app: App,
    newsletter: str,
    actor: str = "worker",
    resend_uncertain: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> SendReport:
    """Join the newsletter's send in progress as one more worker (planning is done already)."""
    with app.engine.connect() as conn:
        edition = editions.open_edition(conn, newsletter)
    if edition is None or edition.status != Status.SENDING:
        raise DigestError(
            f"{newsletter} has no send in progress",
            hint=f"start one with `digest send {newsletter}`; workers then join it",
        )
    prepared = prepare(app, edition)
    mailer = create_mailer(app.settings.provider, app.settings, app.clock)
    summary = run_send(
        app.engine,
        mailer,
        prepared,
        app.signer,
        app.settings.base_url,
        app.clock,
        on_batch=on_batch,
        options=send_options(app, resend_uncertain=resend_uncertain),
    )
    return _finish(app, edition, 0, summary, actor)
