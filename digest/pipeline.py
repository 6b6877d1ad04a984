"""The one module that wires the stages together: draft an edition, preview it, send it.

No stage imports it; the CLI, the web app, the scheduler and the demo call it."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from digest.core.app import App
from digest.core.errors import DigestError, NothingToSend
from digest.core.workers import active, is_dead, worker_id
from digest.editions.lifecycle import LifecycleError, Status, transition
from digest.email.message import PreparedEdition
from digest.email.prepare import prepare, variants_of
from digest.sending.endings import (
    SendCancelled,
    SendFailed,
    SendPaused,
    SendStopped,
    SendUncertain,
    SendUnfinished,
)
from digest.sending.loop import Hooks, SendOptions, SendSummary, run_send
from digest.sending.planning import Planner
from digest.sending.providers import SendResult, create_mailer
from digest.sending.retries import RetryPolicy
from digest.store import deliveries, editions
from digest.store.editions import EditionRow
from subscribers.addresses import normalise_email
from subscribers.store import members_after, recipient_ids

if TYPE_CHECKING:
    from digest.email.preview import PreviewFiles

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
        # Choosing articles, grouping, summarising and building are imported only when a
        # draft is built: a send of an approved edition (and every other command) starts
        # without them.
        from digest.editions.build import build_edition
        from digest.store import story_edits
        from digest.store.articles import articles_since, carried_article_ids, last_drawn_at
        from digest.stories.abstractive import make_summarizer
        from digest.stories.assemble import make_stories
        from digest.stories.select import History, select_articles, window_start

        history = History(
            frozenset(carried_article_ids(conn, newsletter, not settings.repeat_partly_sent)),
            last_drawn_at(conn, newsletter, not settings.repeat_partly_sent),
        )
        pool = articles_since(conn, window_start(settings, now), now, settings.tags)
        chosen = select_articles(pool, settings, now, history)
        if not chosen:
            raise NothingToSend(
                f"nothing new for {newsletter}: no article tagged {', '.join(settings.tags)} "
                f"and dated in the last {settings.window_days} days has arrived since the "
                "last edition",
                hint="ingest articles first (`digest ingest PATH`), or widen window_days",
            )
        number = current.number if current else editions.next_number(conn, newsletter)
        changes = story_edits.edits_for(conn, newsletter, number)
        groups = make_stories(
            chosen, settings, app.settings.stories, now, changes.pinned_keys, changes
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


def find_edition(app: App, newsletter: str, number: int | None, now: datetime) -> EditionRow:
    """Edition `number`, or (without one) the current draft, built from the latest articles."""
    app.settings.newsletter(newsletter)  # unknown newsletter → ConfigError listing the known
    if number is None:
        return prepare_draft(app, newsletter, now)
    with app.engine.connect() as conn:
        row = editions.get_edition(conn, newsletter, number)
    if row is None:
        raise DigestError(
            f"{newsletter} has no edition {number}",
            hint=f"`digest edition list {newsletter}` shows the editions there are",
        )
    return row


def preview(
    app: App,
    newsletter: str,
    out: Path,
    now: datetime,
    number: int | None = None,
    subscriber: str | None = None,
) -> PreviewFiles:
    """Write the edition (the current draft by default) as HTML, text, .eml and index.html."""
    edition = find_edition(app, newsletter, number, now)
    from digest.email.preview import preview_edition, write_preview

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
        retry=RetryPolicy(s.retry_delay, s.retry_max_delay, s.retry_window),
    )


def send(
    app: App,
    newsletter: str,
    actor: str = "cli",
    resend_uncertain: bool = False,
    hooks: Hooks | None = None,
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
            # The operator tries again: readers given up on get a new retry window.
            reopened = deliveries.reopen_failed(conn, edition.id, now)
            transition(conn, edition.id, "retry", actor, now, f"{reopened} failed readers again")
        planner = _planner(app, edition, hooks)
        owner = worker_id()
        after = planner.start(conn, owner)
    summary = _deliver(app, edition, hooks, resend_uncertain, planner, (owner, after))
    return _finish(app, edition, planner.added, summary, actor)


def _planner(app: App, edition: EditionRow, hooks: Hooks | None = None) -> Planner:
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
        on_added=None if hooks is None else hooks.more,
    )


def _deliver(
    app: App,
    edition: EditionRow,
    hooks: Hooks | None,
    resend_uncertain: bool,
    planner: Planner,
    rest: tuple[str, int | None] = ("", None),
) -> SendSummary:
    """Render the edition (and its variants on demand) and work through its planned deliveries.

    With `rest` (owner, after), the rest of the ledger is planned meanwhile in a thread.
    """
    owner, after = rest
    if hooks is not None and hooks.more is not None:
        # What is left from before, counted before planning goes on; the planner then tells
        # `more` of every step it adds (its first step is already in `added`, and told).
        with app.engine.connect() as conn:
            found = deliveries.counts(conn, edition.id)
        hooks.more(sum(found.get(s, 0) for s in deliveries.UNFINISHED) - planner.added)
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
            hooks=hooks,
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
    """Mark the edition sent when every delivery is settled; else say what is left and why.

    Sent only when nobody is left unsent: readers given up on (failed) make it `failed`, and
    the readers are listed by `digest send status`.
    """
    newsletter = edition.newsletter
    name = f"edition {edition.number} of {newsletter}"
    status_hint = f"`digest send status {newsletter}` lists them by address"
    with app.engine.begin() as conn:
        if summary.stopped == "outage":
            window = app.settings.send.retry_window
            deliveries.fail_unsent(
                conn, edition.id, app.clock(), f"not sent: {summary.outage}, for over {window}"
            )
        counts = deliveries.counts(conn, edition.id)
        unfinished = sum(counts.get(s, 0) for s in deliveries.UNFINISHED)
        failed = counts.get("failed", 0)
        current = editions.get_edition(conn, newsletter, edition.number)
        sending = current is not None and current.status == Status.SENDING
        gave_up = summary.stopped == "outage" or (unfinished == 0 and failed)
        if sending and gave_up:
            why = summary.outage or f"{failed} readers failed for longer than send.retry_window"
            # Another worker may end it at the same moment; once is enough.
            with contextlib.suppress(LifecycleError):
                transition(conn, edition.id, "fail", actor, app.clock(), why)
        elif sending and unfinished == 0 and summary.stopped is None:
            with contextlib.suppress(LifecycleError):
                transition(conn, edition.id, "finish", actor, app.clock())
    left = unfinished - counts.get("claimed", 0)
    if summary.stopped == "signal":
        raise SendStopped(
            f"the send of {name} was stopped: {summary.counts['sent']} sent in this run, "
            f"{left} deliveries left for later",
            hint=f"`digest send {newsletter}` resumes it; nobody already sent to gets it twice",
            exit_code=summary.exit_code,
        )
    if summary.stopped == "paused":
        raise SendPaused(
            f"the send of {name} is paused ({unfinished} deliveries left)",
            hint=f"`digest send resume {newsletter}` continues it",
        )
    if summary.stopped == "cancelled":
        raise SendCancelled(f"the send of {name} was cancelled")
    if gave_up:
        why = summary.outage or "their temporary failures lasted longer than send.retry_window"
        raise SendFailed(
            f"{name} is marked failed: {failed} readers were not sent ({why})",
            hint=f"{status_hint}; `digest send {newsletter}` tries them again",
        )
    if counts.get("uncertain", 0):
        raise SendUncertain(
            f"{name}: {counts['uncertain']} deliveries are uncertain (the provider may or may "
            "not have sent them: its answer was lost, or a worker died while it had them)",
            hint=f"{status_hint}; `digest send {newsletter} --resend-uncertain` sends them "
            f"again (some readers may then get two), `digest send settle {newsletter}` leaves "
            "them as they are",
        )
    if left:
        raise SendUnfinished(
            f"{name}: {unfinished} deliveries not finished",
            hint="run `digest send` again to resume; nobody already sent to gets it twice",
        )
    return SendReport(edition=edition, planned=planned, summary=summary, counts=counts)


def work(
    app: App,
    newsletter: str,
    actor: str = "worker",
    resend_uncertain: bool = False,
    hooks: Hooks | None = None,
) -> SendReport:
    """Join the newsletter's send in progress as one more worker (planning is done already)."""
    with app.engine.connect() as conn:
        edition = editions.open_edition(conn, newsletter)
    if edition is None or edition.status != Status.SENDING:
        raise DigestError(
            f"{newsletter} has no send in progress",
            hint=f"start one with `digest send {newsletter}`; workers then join it",
        )
    summary = _deliver(app, edition, hooks, resend_uncertain, _planner(app, edition, hooks))
    return _finish(app, edition, 0, summary, actor)


def send_test_copy(
    app: App, newsletter: str, to: str, now: datetime, number: int | None = None
) -> SendResult:
    """Send one copy of the edition, marked as a test, to `to` through the configured provider.

    Nothing is written to the deliveries ledger: a test send never counts as a delivery.
    """
    edition = find_edition(app, newsletter, number, now)
    prepared: PreparedEdition = replace(prepare(app, edition), test=True)
    from digest.email.preview import reader

    recipient = reader(app, edition, None)._replace(email=normalise_email(to), name="")
    mailer = create_mailer(app.settings.provider, app.settings, app.clock)
    try:
        [result] = mailer.send(prepared, [recipient])
    finally:
        mailer.close()
    return result
