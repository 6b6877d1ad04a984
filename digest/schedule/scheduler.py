"""The scheduler process: APScheduler jobs from the config, kept in the project's database.

Jobs live in an SQLAlchemyJobStore (table `apscheduler_jobs`), so their next run times survive
restarts; a job missed while no scheduler ran still runs once (coalesced) if it is at most
`scheduler.misfire_grace_time` late. Jobs are re-synced from the config at every start: new
ones added, changed ones rescheduled, removed ones dropped, unchanged ones left alone (so
their stored next run time, and any misfire, is kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.core.app import App
from digest.schedule.expressions import LeadTrigger
from digest.schedule.jobs import (
    JobResult,
    draft_job,
    ingest_job,
    resume_interrupted,
    send_job,
    send_trigger,
)
from digest.sending.loop import worker_id
from digest.settings import Settings

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
        specs.append(JobSpec(f"send:{name}", "send", name, trigger, f"send {name} ({nl.schedule})"))
        specs.append(
            JobSpec(f"draft:{name}", "draft", name, LeadTrigger(trigger, nl.draft_lead),
                    f"draft {name}, {nl.draft_lead} before each send")
        )  # fmt: skip
    for name, src in app.settings.sources.items():
        interval: timedelta | None = getattr(src, "interval", None)
        if src.enabled and interval:
            every = IntervalTrigger(seconds=interval.total_seconds())
            specs.append(JobSpec(f"ingest:{name}", "ingest", name, every, f"ingest {name}"))
    return specs


def run_job(kind: str, target: str) -> None:
    """Entry point APScheduler calls: one job of the running scheduler."""
    app = _RUNNING["app"]
    run: Callable[[App, str, datetime, str], JobResult] = {
        "draft": draft_job, "send": send_job, "ingest": ingest_job,
    }[kind]  # fmt: skip
    result = run(app, target, app.clock(), worker_id())
    log.info("%s: %s %s", result.job, result.outcome, result.message)


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


def stored_jobs(app: App) -> list[tuple[str, str, datetime | None]]:
    """(id, description, next run) of the jobs in the store, after syncing them with the config."""
    scheduler = BackgroundScheduler(jobstores={"default": job_store(app)}, timezone="UTC")
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, app)
        return [(j.id, j.name, j.next_run_time) for j in scheduler.get_jobs(jobstore="default")]
    finally:
        scheduler.shutdown(wait=False)


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
    """`digest schedule run`: sync jobs, finish interrupted sends, then run jobs until stopped.

    With `reload`, the settings are re-read every `check_every` and the jobs re-synced when
    they changed, so editing the config needs no restart.
    """
    stored_jobs(app)  # sync with the config before the blocking scheduler loads the store
    for result in resume_interrupted(app, worker_id()):
        log.info("%s: %s %s", result.job, result.outcome, result.message)
    _RUNNING["app"] = app
    scheduler = BlockingScheduler(
        jobstores={"default": job_store(app), "local": MemoryJobStore()}, timezone="UTC"
    )
    if reload is not None:
        scheduler.add_job(
            reload_config, "interval", seconds=check_every.total_seconds(),
            args=[scheduler, reload], id="config-watch", jobstore="local", coalesce=True,
        )  # fmt: skip
    try:
        scheduler.start()
    finally:
        _RUNNING.pop("app", None)
