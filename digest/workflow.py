"""The main job's steps wired together: draft an edition, preview it, send it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.abstractive import make_summarizer
from digest.app import App
from digest.edition import build_edition
from digest.errors import DigestError, NothingToSend
from digest.lifecycle import LifecycleError, Status, transition
from digest.message import PreparedEdition, Recipient, compose
from digest.providers import create_mailer
from digest.render import render_edition
from digest.select import History, select_articles, window_start
from digest.send import SendSummary, run_send
from digest.store import deliveries, editions, story_edits
from digest.store.articles import articles_since, sent_article_ids
from digest.store.editions import EditionRow
from digest.store.story_edits import last_sent_at
from digest.stories import make_stories
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
        history = History(
            frozenset(sent_article_ids(conn, newsletter)), last_sent_at(conn, newsletter)
        )
        pool = articles_since(conn, window_start(settings, now, history), now, settings.tags)
        chosen = select_articles(
            pool, settings, now, history.sent_article_ids, history.last_sent_at
        )
        if not chosen:
            raise NothingToSend(
                f"nothing new for {newsletter}: no unsent articles tagged "
                f"{', '.join(settings.tags)} since the last edition (at most "
                f"{settings.window_days} days back)",
                hint="ingest articles first (`digest ingest PATH`), or widen window_days",
            )
        number = current.number if current else editions.next_number(conn, newsletter)
        changes = story_edits.edits_for(conn, newsletter, number)
        groups = make_stories(
            chosen, settings, app.settings.stories, now, pinned=changes.pinned_keys
        )
        content = build_edition(
            newsletter,
            settings,
            chosen,
            number,
            now,
            app.settings.timezone,
            stories=changes.apply(groups),
            edits=changes,
            summarizer=make_summarizer(app.settings),
        )
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


def send(app: App, newsletter: str, actor: str = "cli") -> SendReport:
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
    summary = run_send(app.engine, mailer, prepared, app.signer, app.settings.base_url, app.clock)
    with app.engine.begin() as conn:
        counts = deliveries.counts(conn, edition.id)
        unfinished = (
            counts.get("pending", 0) + counts.get("claimed", 0) + counts.get("uncertain", 0)
        )
        if unfinished == 0:
            transition(conn, edition.id, "finish", actor, app.clock())
    if unfinished:
        raise DigestError(
            f"edition {edition.number} of {newsletter}: {unfinished} deliveries not finished",
            hint="run `digest send` again to resume; nobody already sent to gets it twice",
        )
    return SendReport(edition=edition, planned=planned, summary=summary, counts=counts)
