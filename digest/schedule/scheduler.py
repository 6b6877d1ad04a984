"""The scheduler process: APScheduler jobs from the config, kept in the project's database.

Jobs live in an SQLAlchemyJobStore (table `apscheduler_jobs`), so their next run times survive
restarts. At start, in this order: the runs missed while no scheduler ran are found from those
stored times and dealt with (see `catch_up`), sends a dead process left half done are resumed,
and only then are the jobs synced with the config and moved on to their next times. While it
runs, interrupted sends are looked for every minute, so one whose process died is resumed
without waiting for a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import MetaData, Table, func, inspect, select

from digest.core.app import App
from digest.core.db import schema_lock
from digest.core.errors import DigestError
from digest.core.models import ScheduleRun
from digest.core.workers import worker_id
from digest.schedule.expressions import LeadTrigger, last_fire, next_fire
from digest.schedule.jobs import (
    PROCESS_STOP,
    JobResult,
    draft_job,
    ingest_job,
    logged,
    missed_send,
    resume_interrupted,
    send_job,
    send_trigger,
)
from digest.sending.stopping import on_signals
from digest.settings import Settings
from digest.settings.base import format_duration

log = logging.getLogger(__name__)
JOBS_TABLE = "apscheduler_jobs"

# APScheduler stores a job as a reference to a module-level function plus its arguments, so the
# running App cannot travel with it; `run` sets it here for the life of the scheduler process.
_RUNNING: dict[str, App] = {}


@dataclass(frozen=True)
class JobSpec:
    """One job the config asks for."""

    id: str
    kind: str
    target: str
    trigger: BaseTrigger
    description: str


def job_specs(app: App) -> list[JobSpec]:
    """The jobs the config asks for: draft and send per scheduled newsletter, ingest per source."""
    specs = []
    for name, nl in app.settings.newsletters.items():
        trigger = send_trigger(app, name)
        if trigger is None:
            continue
        specs.append(JobSpec(f"send:{name}", "send", name, trigger, f"sends {nl.schedule}"))
        specs.append(
            JobSpec(f"draft:{name}", "draft", name, LeadTrigger(trigger, nl.draft_lead),
                    f"drafts {format_duration(nl.draft_lead)} before each send")
        )  # fmt: skip
    for name, src in app.settings.sources.items():
        interval: timedelta | None = getattr(src, "interval", None)
        if src.enabled and interval:
            every = IntervalTrigger(seconds=interval.total_seconds())
            specs.append(
                JobSpec(
                    f"ingest:{name}",
                    "ingest",
                    name,
                    every,
                    f"reads every {format_duration(interval)}",
                )
            )
    return specs


_KINDS: dict[str, Callable[[App, str, datetime, str], JobResult]] = {
    "draft": draft_job, "send": send_job, "ingest": ingest_job,
}  # fmt: skip


def run_job(kind: str, target: str) -> None:
    """Entry point APScheduler calls: one job of the running scheduler."""
    app = _RUNNING["app"]
    _run_one(app, kind, target, app.clock(), worker_id())


def _run_one(app: App, kind: str, target: str, now: datetime, owner: str) -> JobResult:
    """One job, logged as it ends; an error in it is its outcome, never the end of the scheduler."""
    try:
        return logged(_KINDS[kind](app, target, now, owner))
    except DigestError as exc:
        return logged(JobResult(f"{kind}:{target}", "error", exc.message))


def resume_sends() -> None:
    """Every minute while running: take over sends whose process died."""
    app = _RUNNING["app"]
    resume_interrupted(app, worker_id())


def missed_runs(app: App) -> dict[str, datetime]:
    """Stored jobs whose next run time has passed: what no scheduler ran while none was up."""
    if not inspect(app.engine).has_table(JOBS_TABLE):
        return {}
    table = Table(JOBS_TABLE, MetaData(), autoload_with=app.engine)
    now = app.clock().timestamp()
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.next_run_time).where(table.c.next_run_time <= now)
        ).all()
    return {row.id: datetime.fromtimestamp(row.next_run_time, UTC) for row in rows}


def catch_up(app: App, missed: dict[str, datetime], owner: str) -> list[JobResult]:
    """Deal with the missed runs, before anything moves the stored times on.

    A send missed by at most `scheduler.misfire_grace_time` is made now, once; a later one is
    recorded as missed and the editors told (nothing goes out until someone says so). A
    missed draft is built now when its send is still ahead (a send already due drafts for
    itself). Ingestion missed within the grace runs once.
    """
    now = app.clock()
    grace = app.settings.scheduler.misfire_grace_time
    results = []
    for name in app.settings.newsletters:
        trigger = send_trigger(app, name)
        if trigger is None:
            continue
        if f"send:{name}" in missed:
            planned = last_fire(trigger, now)
            if planned is not None and now - planned <= grace:
                results.append(_run_one(app, "send", name, now, owner))
            elif planned is not None:
                try:
                    results.append(logged(missed_send(app, name, planned, now, owner)))
                except DigestError as exc:  # e.g. a broken template: said, and start-up goes on
                    results.append(logged(JobResult(f"send:{name}", "error", exc.message)))
        drafted_for = missed.get(f"draft:{name}")
        if drafted_for is not None:
            send_at = next_fire(trigger, drafted_for)
            if send_at is not None and send_at > now:
                results.append(_run_one(app, "draft", name, now, owner))
    for job_id, due in missed.items():
        kind, _, target = job_id.partition(":")
        if kind == "ingest" and target in app.settings.sources and now - due <= grace:
            results.append(_run_one(app, "ingest", target, now, owner))
    return results


def job_store(app: App) -> SQLAlchemyJobStore:
    """The persistent job store in the project's database."""
    return SQLAlchemyJobStore(engine=app.engine, tablename=JOBS_TABLE)


def _options(app: App) -> dict[str, Any]:
    return {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": int(app.settings.scheduler.misfire_grace_time.total_seconds()),
    }


def sync_jobs(scheduler: BaseScheduler, app: App) -> dict[str, str]:
    """Make the stored jobs match the config; returns {job id: added|changed|kept|removed}."""
    wanted = {spec.id: spec for spec in job_specs(app)}
    changes: dict[str, str] = {}
    for job in scheduler.get_jobs(jobstore="default"):
        if job.id not in wanted:
            job.remove()
            changes[job.id] = "removed"
    for spec in wanted.values():
        job = scheduler.get_job(spec.id)
        if (
            job is not None
            and str(job.trigger) == str(spec.trigger)
            and job.name == spec.description
        ):
            changes[spec.id] = "kept"
            continue
        scheduler.add_job(
            run_job,
            spec.trigger,
            args=[spec.kind, spec.target],
            id=spec.id,
            name=spec.description,
            replace_existing=True,
            **_options(app),
        )
        changes[spec.id] = "added" if job is None else "changed"
    return changes


class _StoreEditor(BaseScheduler):  # type: ignore[misc]  # APScheduler has no type hints
    """A scheduler with no loop: it edits the job store and never runs a job.

    A paused BackgroundScheduler is not enough: its thread wakes on shutdown, finds the jobs
    that are due, fails to submit them to the executor already shut down, and moves their
    run times on, so a missed send would be lost before anyone saw it.
    """

    def wakeup(self) -> None:
        """Nothing to wake: this scheduler never processes jobs."""

    def shutdown(self, wait: bool = True) -> None:
        """Close the stores and executors (there is no thread to stop)."""
        super().shutdown(wait)


@contextmanager
def editing_jobs(app: App) -> Iterator[BaseScheduler]:
    """The job store, to read and change jobs without running any."""
    store = job_store(app)
    # APScheduler creates its table when the store starts; two schedulers starting at once on
    # an empty database would both try, so it is created here first, under the schema lock.
    if not inspect(app.engine).has_table(JOBS_TABLE):
        with schema_lock(app.engine), app.engine.begin() as conn:
            store.jobs_t.create(conn, checkfirst=True)
    editor = _StoreEditor(jobstores={"default": store}, timezone="UTC")
    editor.start(paused=True)
    try:
        yield editor
    finally:
        editor.shutdown(wait=False)


def stored_jobs(app: App) -> list[tuple[str, str, datetime | None]]:
    """Sync the store with the config and move past run times on (after `catch_up` saw them).

    Returns (id, description, next run) of the jobs in the store.
    """
    with editing_jobs(app) as editor:
        sync_jobs(editor, app)
        now = app.clock()
        for job in editor.get_jobs(jobstore="default"):
            if job.next_run_time is not None and job.next_run_time <= now:
                job.modify(next_run_time=job.trigger.get_next_fire_time(None, now))
        return [(j.id, j.name, j.next_run_time) for j in editor.get_jobs(jobstore="default")]


def start_up(app: App, owner: str) -> list[JobResult]:
    """What `digest schedule run` does before it waits: catch up, resume, then sync the jobs."""
    missed = missed_runs(app)
    results = catch_up(app, missed, owner)
    results += resume_interrupted(app, owner)
    stored_jobs(app)
    return results


@dataclass(frozen=True)
class LastRun:
    """What a job's latest recorded run did, and when."""

    outcome: str
    message: str
    at: datetime


@dataclass(frozen=True)
class JobView:
    """One job as `digest schedule list` shows it."""

    id: str
    description: str
    next_run: datetime | None
    missed_since: datetime | None  # its stored run time passed while no scheduler ran
    last_run: LastRun | None


def job_overview(app: App) -> list[JobView]:
    """The jobs the config asks for, their next runs and last outcomes; reads, changes nothing."""
    now = app.clock()
    stored: dict[str, datetime | None] = {}
    if inspect(app.engine).has_table(JOBS_TABLE):
        table = Table(JOBS_TABLE, MetaData(), autoload_with=app.engine)
        with app.engine.connect() as conn:
            for row in conn.execute(select(table.c.id, table.c.next_run_time)):
                when = row.next_run_time
                stored[row.id] = None if when is None else datetime.fromtimestamp(when, UTC)
    with app.engine.connect() as conn:
        latest = select(ScheduleRun.job, func.max(ScheduleRun.id).label("id")).group_by(
            ScheduleRun.job
        )
        ids = [row.id for row in conn.execute(latest)]
        found = conn.execute(
            select(ScheduleRun.job, ScheduleRun.outcome, ScheduleRun.message, ScheduleRun.at).where(
                ScheduleRun.id.in_(ids)
            )
        )
        runs = {r.job: LastRun(r.outcome, r.message, r.at) for r in found}
    views = []
    for spec in job_specs(app):
        kept = stored.get(spec.id)
        missed = kept if kept is not None and kept <= now else None
        upcoming = kept if kept is not None and kept > now else None
        if upcoming is None:
            upcoming = spec.trigger.get_next_fire_time(None, now)
        views.append(JobView(spec.id, spec.description, upcoming, missed, runs.get(spec.id)))
    return views


def reload_config(scheduler: BaseScheduler, reload: Callable[[], Settings]) -> dict[str, str]:
    """Re-read the settings; when they changed, re-sync the jobs and use the new settings."""
    current = _RUNNING["app"]
    settings = reload()
    if settings == current.settings:
        return {}
    fresh = App(settings=settings, clock=current.clock)
    if settings.db_url == current.settings.db_url:
        fresh.__dict__["engine"] = current.engine  # keep the pool; the database did not move
    changes = {k: v for k, v in sync_jobs(scheduler, fresh).items() if v != "kept"}
    _RUNNING["app"] = fresh
    log.info("settings changed; jobs re-synced: %s", changes or "no job changed")
    return changes


def run(
    app: App,
    reload: Callable[[], Settings] | None = None,
    check_every: timedelta = timedelta(minutes=1),
) -> None:
    """`digest schedule run`: catch up, resume, sync (see `start_up`), then run jobs until stopped.

    SIGINT or SIGTERM stops it: no job starts after it, and a send under way ends between two
    batches, its rest left for the next start. With `reload`, the settings are re-read every
    `check_every` and the jobs re-synced when they changed, so editing the config needs no
    restart.
    """
    with on_signals(PROCESS_STOP):
        start_up(app, worker_id())  # each job run is logged as it ends
        if PROCESS_STOP.is_set():
            return
        _RUNNING["app"] = app
        scheduler = BlockingScheduler(
            jobstores={"default": job_store(app), "local": MemoryJobStore()}, timezone="UTC"
        )
        local = {"jobstore": "local", "coalesce": True}
        scheduler.add_job(resume_sends, "interval", minutes=1, id="resume-sends", **local)
        scheduler.add_job(
            _stop_when_asked, "interval", seconds=1, args=[scheduler], id="stop-watch", **local
        )
        if reload is not None:
            scheduler.add_job(
                reload_config, "interval", seconds=check_every.total_seconds(),
                args=[scheduler, reload], id="config-watch", **local,
            )  # fmt: skip
        try:
            scheduler.start()
        finally:
            _RUNNING.pop("app", None)


def _stop_when_asked(scheduler: BaseScheduler) -> None:
    """Shut the scheduler down once a signal asked to: running sends end between batches."""
    if PROCESS_STOP.is_set():
        scheduler.shutdown(wait=False)
