"""The main job's steps wired together: draft an edition, preview it, send it."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.abstractive import make_summarizer
from digest.app import App
from digest.edition import build_edition
from digest.email_checks import check_email
from digest.errors import DigestError, NothingToSend
from digest.lifecycle import LifecycleError, Status, transition
from digest.message import PreparedEdition
from digest.planning import Planner
from digest.providers import create_mailer
from digest.render import VariantRenderer, render_edition
from digest.select import History, select_articles, window_start
from digest.send import SendOptions, SendSummary, active, is_dead, run_send, worker_id
from digest.store import deliveries, editions, story_edits
from digest.store.articles import articles_since, sent_article_ids
from digest.store.editions import EditionRow
from digest.store.story_edits import last_sent_at
from digest.stories import make_stories
from subscribers.store import members_after, recipient_ids

if TYPE_CHECKING:
    from digest.preview import PreviewFiles

log = logging.getLogger(__name__)


def prepare_draft(
    app: App,
    newsletter: str,
    now: datetime,
    scheduled_for: datetime | None = None,
    *,
    rebuild: bool = False,
) -> EditionRow:
    """Build (or rebuild) the newsletter's draft from the articles in its window.

    An edition past the draft stage (approved, sending, failed) is returned as it is: what an
    editor approved is what goes out, and an interrupted send resumes with the same content.
    A draft an editor changed by hand is kept too, unless `rebuild` says otherwise; a rebuild
    keeps the pins, removals and rewritten stories (they are stored apart), not the order.
    """
    settings = app.settings.newsletter(newsletter)
    with app.engine.begin() as conn:
        current = editions.open_edition(conn, newsletter)
        if current is not None and current.status != Status.DRAFT:
            return current
        if current is not None and current.content.edited and not rebuild:
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


def email_context(app: App, edition: EditionRow) -> dict[str, Any]:
    """What the email templates get besides the edition (the same for every variant)."""
    s = app.settings
    return {
        "description": s.newsletter(edition.newsletter).description,
        "postal_address": s.sender.postal_address,
        "sender_name": s.sender.name,
        "base_url": s.base_url,
        "view_url": f"{s.base_url}/archive/{edition.newsletter}/{edition.number}",
        "lang": s.email.language,
    }


def prepare(app: App, edition: EditionRow) -> PreparedEdition:
    """Render the edition once and gather what every recipient's message shares."""
    s = app.settings
    nl = s.newsletter(edition.newsletter)
    rendered = render_edition(app.templates, edition.content, email_context(app, edition))
    # The checks an editor sees in the preview, logged again here for unattended sends.
    sample = {name: f"{s.base_url}/u/x" for name in rendered.html.slots}
    for finding in check_email(rendered.html.fill(sample), s.base_url, s.email.clip_warning_kb):
        log.warning("edition %s of %s: %s", edition.number, edition.newsletter, finding)
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


def variants_of(
    app: App, edition: EditionRow, full: PreparedEdition
) -> Callable[[tuple[str, ...]], PreparedEdition | None]:
    """For a reader's topics, the copy of the edition they get: only their sections.

    Each distinct set of sections is rendered (and inlined) once per send, on first use; a
    reader whose topics cover every section gets `full` itself. None: no section is theirs.
    """
    renderer = VariantRenderer(app.templates, edition.content, email_context(app, edition))
    everything = renderer.key(None)
    made: dict[tuple[str, ...], PreparedEdition | None] = {}
    lock = threading.Lock()

    def for_topics(topics: tuple[str, ...]) -> PreparedEdition | None:
        key = renderer.key(topics or None)
        if key == everything:
            return full
        with lock:  # send threads share one renderer
            if key not in made:
                rendered = renderer.render(key)
                made[key] = None if rendered is None else replace(full, rendered=rendered)
            return made[key]

    return for_topics


def preview(
    app: App,
    newsletter: str,
    out: Path,
    now: datetime,
    number: int | None = None,
    subscriber: str | None = None,
) -> PreviewFiles:
    """Write the edition (the current draft by default) as HTML, text, .eml and index.html."""
    from digest.preview import find_edition, preview_edition, write_preview

    edition = find_edition(app, newsletter, number, now)
    return write_preview(app, preview_edition(app, edition, now, subscriber), out)


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
        planner = _planner(app, edition)
        owner = worker_id()
        after = planner.start(conn, owner)
    summary = _deliver(app, edition, on_batch, resend_uncertain, planner, (owner, after))
    return _finish(app, edition, planner.added, summary, actor)


def _planner(app: App, edition: EditionRow) -> Planner:
    """Who gets the edition: its newsletter's readers, less those none of whose topics it has."""
    sections = [sec.tag for sec in edition.content.sections]
    return Planner(
        app.engine,
        edition.id,
        partial(recipient_ids, edition.newsletter, sections),
        lambda conn, after, n: members_after(conn, edition.newsletter, after, n),
        app.clock,
        app.settings.send.lease,
        alive=lambda owner: not is_dead(owner),
    )


def _deliver(
    app: App,
    edition: EditionRow,
    on_batch: Callable[[int], None] | None,
    resend_uncertain: bool,
    planner: Planner,
    rest: tuple[str, int | None] = ("", None),
) -> SendSummary:
    """Render the edition (and its variants on demand) and work through its planned deliveries.

    With `rest` (owner, after), the rest of the ledger is planned meanwhile in a thread.
    """
    owner, after = rest
    planning = None
    if after is not None:
        running = threading.Event()
        planning = threading.Thread(
            target=_plan_rest, args=(planner, owner, after, running), name="plan", daemon=True
        )
        planning.start()
        running.wait()  # its owner counts as alive before any worker looks at the marker
    try:
        prepared = prepare(app, edition)
        mailer = create_mailer(app.settings.provider, app.settings, app.clock)
        return run_send(
            app.engine,
            mailer,
            prepared,
            app.signer,
            app.settings.base_url,
            app.clock,
            on_batch=on_batch,
            options=send_options(app, resend_uncertain=resend_uncertain),
            variants=variants_of(app, edition, prepared),
            settled=planner.settled,
        )
    finally:
        if planning is not None:
            planning.join()


def _plan_rest(planner: Planner, owner: str, after: int, running: threading.Event) -> None:
    """(thread) Plan the rest of the ledger; if this fails, a worker takes the planning over."""
    with active(owner):
        running.set()
        try:
            planner.finish(owner, after)
        except Exception:
            log.exception("planning the rest of edition %s stopped", planner.edition_id)


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
    summary = _deliver(app, edition, on_batch, resend_uncertain, _planner(app, edition))
    return _finish(app, edition, 0, summary, actor)
