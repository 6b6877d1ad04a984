"""What the scheduler runs: build a draft ahead of a send, send on time, ingest a source.

Each job takes `now` and an owner name, holds a database lease while it works (so two
scheduler processes never run the same job at once), and records one `schedule_runs` row per
planned time (so a job that already ran for a time does not run for it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from digest.core.app import App
from digest.core.errors import DigestError, NothingToSend
from digest.core.leases import job_lock
from digest.core.models import Edition, ScheduleRun
from digest.core.text import counted
from digest.editions.lifecycle import Status, history, note, transition
from digest.ingest.service import ingest_sources
from digest.pipeline import prepare_draft, send
from digest.schedule.expressions import last_fire, next_fire, parse_schedule
from digest.schedule.notices import (
    draft_ready_text,
    late_text,
    local_time,
    missed_text,
    notify_editors,
)
from digest.sending.endings import SendFailed, SendUncertain
from digest.sending.loop import Hooks
from digest.sending.stopping import Stop
from digest.settings.base import format_duration
from digest.store import deliveries, editions, sendctl
from digest.store.editions import EditionRow

log = logging.getLogger(__name__)

# The scheduler process's stop request (SIGINT, SIGTERM): a send a job started ends cleanly
# between two batches when it is set, and the next start resumes it. One per process, as the
# signals it answers are.
PROCESS_STOP = Stop()


@dataclass(frozen=True)
class JobResult:
    """What one run of a job did, for logs and tests."""

    job: str
    outcome: str
    message: str = ""
    planned_for: datetime | None = None


def send_trigger(app: App, newsletter: str) -> CronTrigger | None:
    """The newsletter's send schedule in its time zone, or None when it is sent by hand."""
    nl = app.settings.newsletter(newsletter)
    if nl.schedule is None:
        return None
    return parse_schedule(nl.schedule, nl.timezone or app.settings.timezone)


def _ran(engine: Engine, job: str, planned_for: datetime) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            select(ScheduleRun.id).where(
                ScheduleRun.job == job, ScheduleRun.planned_for == planned_for
            )
        ).first()
    return found is not None


def logged(result: JobResult) -> JobResult:
    """One line in the scheduler's log for a job run: what it did (errors at error level)."""
    failed = result.outcome in ("error", "blocked", "interrupted")
    level = logging.ERROR if failed else logging.INFO
    log.log(level, "%s: %s %s", result.job, result.outcome, result.message)
    return result


def _record(app: App, result: JobResult) -> JobResult:
    assert result.planned_for is not None
    try:
        with app.engine.begin() as conn:
            conn.execute(
                insert(ScheduleRun).values(
                    job=result.job, planned_for=result.planned_for, outcome=result.outcome,
                    message=result.message, at=app.clock(),
                )
            )  # fmt: skip
    except IntegrityError:  # another process recorded this planned time first
        pass
    return result


def draft_job(app: App, newsletter: str, now: datetime, owner: str) -> JobResult:
    """Build the draft for the next send and tell the editors; skip (and say so) when empty."""
    job = f"draft:{newsletter}"
    trigger = send_trigger(app, newsletter)
    send_at = next_fire(trigger, now) if trigger else None
    if send_at is None:
        return JobResult(job, "unscheduled")
    nl = app.settings.newsletter(newsletter)
    with job_lock(app.engine, job, owner, now, app.settings.scheduler.lock_lease) as held:
        if not held:
            return JobResult(job, "locked", "another scheduler is running it", send_at)
        if _ran(app.engine, job, send_at):
            return JobResult(job, "done", "already ran for this send", send_at)
        try:
            edition = prepare_draft(app, newsletter, now, scheduled_for=send_at)
        except NothingToSend as exc:
            return _record(app, JobResult(job, "skipped", exc.message, send_at))
        if edition.status != Status.DRAFT:
            return _record(
                app,
                JobResult(job, "kept", f"edition {edition.number} is {edition.status}", send_at),
            )
        stories = len(edition.content.stories)
        if stories < nl.min_stories and nl.skip_if_empty:
            reason = f"{stories} stories, fewer than min_stories = {nl.min_stories}"
            with app.engine.begin() as conn:
                transition(conn, edition.id, "skip", "scheduler", now, reason)
            return _record(app, JobResult(job, "skipped", reason, send_at))
        subject = f"Draft ready: {edition.content.subject}"
        notify_editors(app, edition, "draft", subject, draft_ready_text(app, edition, send_at))
        return _record(
            app, JobResult(job, "drafted", f"edition {edition.number}, {stories} stories", send_at)
        )


def send_job(app: App, newsletter: str, now: datetime, owner: str) -> JobResult:
    """Send the edition due now: approved, or any draft when approval is auto; else mark it late."""
    job = f"send:{newsletter}"
    trigger = send_trigger(app, newsletter)
    send_at = last_fire(trigger, now) if trigger else None
    if send_at is None:
        return JobResult(job, "unscheduled")
    nl = app.settings.newsletter(newsletter)
    with job_lock(app.engine, job, owner, now, app.settings.scheduler.lock_lease) as held:
        if not held:
            return JobResult(job, "locked", "another scheduler is running it", send_at)
        with app.engine.connect() as conn:
            done = conn.execute(
                select(Edition.number, Edition.status).where(
                    Edition.newsletter == newsletter,
                    Edition.scheduled_for == send_at,
                    Edition.status.in_([Status.SENT, Status.SKIPPED, Status.CANCELLED]),
                )
            ).first()
            current = editions.open_edition(conn, newsletter)
        if done is not None and current is None:
            return JobResult(job, "done", f"edition {done.number} is {done.status}", send_at)
        if _ran(app.engine, job, send_at) and (current is None or current.status != Status.SENDING):
            return JobResult(job, "done", "already ran for this send", send_at)
        if current is None or (current.status == Status.DRAFT and nl.approval == "auto"):
            try:
                current = prepare_draft(app, newsletter, now, scheduled_for=send_at)
            except NothingToSend as exc:
                return _record(app, JobResult(job, "skipped", exc.message, send_at))
        if current.status == Status.DRAFT:
            stories = len(current.content.stories)
            if stories < nl.min_stories and nl.skip_if_empty:
                reason = f"{stories} stories, fewer than min_stories = {nl.min_stories}"
                with app.engine.begin() as conn:
                    transition(conn, current.id, "skip", "scheduler", now, reason)
                return _record(app, JobResult(job, "skipped", reason, send_at))
            if nl.approval == "required":
                with app.engine.begin() as conn:
                    note(conn, current.id, "scheduler", now, "late: not approved by the send time")
                subject = f"Not sent, awaiting approval: {current.content.subject}"
                notify_editors(app, current, "late", subject, late_text(app, current, send_at))
                return _record(
                    app, JobResult(job, "late", f"edition {current.number} not approved", send_at)
                )
        try:
            report = send(app, newsletter, actor="scheduler", hooks=Hooks(stop=PROCESS_STOP))
        except NothingToSend as exc:
            return _record(app, JobResult(job, "skipped", exc.message, send_at))
        except NEEDS_OPERATOR as exc:
            return _record(app, replace(_block(app, current, job, exc), planned_for=send_at))
        except DigestError as exc:
            # Not recorded as done: the next run (or a restart) resumes through the ledger.
            return JobResult(job, "interrupted", str(exc), send_at)
        sent = report.counts.get("sent", 0)
        return _record(
            app,
            JobResult(
                job,
                "sent",
                f"edition {report.edition.number} to {counted(sent, 'reader')}",
                send_at,
            ),
        )


def missed_send(
    app: App, newsletter: str, planned: datetime, now: datetime, owner: str
) -> JobResult:
    """A send time that passed beyond the grace while no scheduler ran: say so, send nothing.

    The edition for it is drafted (when there is none) so an editor can look at it and send
    it late with `digest edition approve --send-now`; the miss is recorded so no later run
    sends it by itself.
    """
    job = f"send:{newsletter}"
    with job_lock(app.engine, job, owner, now, app.settings.scheduler.lock_lease) as held:
        if not held:
            return JobResult(job, "locked", "another scheduler is running it", planned)
        if _ran(app.engine, job, planned):
            return JobResult(job, "done", "already ran for this send", planned)
        try:
            edition = prepare_draft(app, newsletter, now, scheduled_for=planned)
        except NothingToSend as exc:
            return _record(app, JobResult(job, "skipped", exc.message, planned))
        grace = app.settings.scheduler.misfire_grace_time
        reason = (
            f"missed: no scheduler was running at {local_time(app, newsletter, planned)}; "
            f"it started {_span(now - planned)} later, beyond scheduler.misfire_grace_time "
            f"({format_duration(grace)}), so nothing was sent"
        )
        with app.engine.begin() as conn:
            note(conn, edition.id, "scheduler", now, reason)
        subject = f"Not sent, missed its send time: {edition.content.subject}"
        notify_editors(app, edition, "missed", subject, missed_text(app, edition, planned, now))
        return _record(
            app, JobResult(job, "missed", f"edition {edition.number}: {reason}", planned)
        )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def resume_interrupted(app: App, owner: str) -> list[JobResult]:
    """Finish every send that a stopped process left half done, one newsletter at a time.

    Run at start-up and then every minute, so a send whose process died is taken over at
    once on the same machine, and after its lease on another. A send that needs the operator
    (uncertain readers, given up after an outage, paused) blocks only its own edition: the
    editors are told once, and every other newsletter goes on.
    """
    results = []
    for name in app.settings.newsletters:
        with app.engine.connect() as conn:
            current = editions.open_edition(conn, name)
        if current is None or current.status != Status.SENDING:
            continue
        job = f"send:{name}"
        lease = app.settings.scheduler.lock_lease
        with job_lock(app.engine, job, owner, app.clock(), lease) as held:
            if not held or _waits_for_operator(app, current.id):
                continue
            try:
                report = send(app, name, actor="scheduler", hooks=Hooks(stop=PROCESS_STOP))
            except NEEDS_OPERATOR as exc:
                results.append(logged(_block(app, current, job, exc)))
                continue
            except DigestError as exc:
                results.append(logged(JobResult(job, "interrupted", exc.message)))
                continue
            done = JobResult(job, "resumed", f"edition {report.edition.number}")
            results.append(logged(done))
    return results


BLOCKED = "blocked: "
# Ends of a send that only the operator can move on from; any other error is tried again.
NEEDS_OPERATOR = (SendUncertain, SendFailed)


def _waits_for_operator(app: App, edition_id: int) -> bool:
    """Paused by an operator, or blocked (and told) with nothing that a resume could send."""
    with app.engine.connect() as conn:
        if sendctl.state(conn, edition_id) == "paused":
            return True
        last = history(conn, edition_id)[-1:]
        if not last or not last[0].reason.startswith(BLOCKED):
            return False
        counts = deliveries.counts(conn, edition_id)
    return not any(counts.get(s, 0) for s in ("pending", "retrying", "claimed"))


def _block(app: App, edition: EditionRow, job: str, exc: DigestError) -> JobResult:
    """Note (once) that the edition's send needs the operator, and tell its editors."""
    reason = BLOCKED + exc.message
    with app.engine.begin() as conn:
        note(conn, edition.id, "scheduler", app.clock(), reason)
    subject = f"Send stopped, needs you: {edition.content.subject}"
    body = f"{exc.message}\n\n{exc.hint or ''}\n\nSee: digest send status {edition.newsletter}"
    notify_editors(app, edition, "blocked", subject, body)
    return JobResult(job, "blocked", exc.message)


def ingest_job(app: App, source: str, now: datetime, owner: str) -> JobResult:
    """Ingest one configured source."""
    job = f"ingest:{source}"
    with job_lock(app.engine, job, owner, now, app.settings.scheduler.lock_lease) as held:
        if not held:
            return JobResult(job, "locked", "another scheduler is running it")
        [report] = ingest_sources(app.engine, app.settings, now, [source])
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()) if v)
        outcome = "ok" if report.ok else "errors"
        return JobResult(job, outcome, "; ".join([counts, *report.errors]))
