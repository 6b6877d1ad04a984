"""The scheduler's jobs driven by a fake clock: weeks of editions, skips, late drafts, restarts."""

from __future__ import annotations

import email
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from digest.core.app import App, create_app
from digest.core.models import Article, Delivery, Edition, ScheduleRun
from digest.ingest.service import ingest_path
from digest.schedule.expressions import LeadTrigger, next_fire, parse_schedule
from digest.schedule.jobs import draft_job, resume_interrupted, send_job
from digest.schedule.scheduler import _RUNNING, job_store, run_job, stored_jobs, sync_jobs
from digest.sending.providers.outbox import OutboxMailer
from digest.settings.loading import load_settings
from digest.store import editions
from subscribers.store import add_subscriber
from tests.conftest import write_article

START = datetime(2027, 3, 3, 12, 0, tzinfo=UTC)  # a Wednesday; DST starts in Warsaw on 28 March
READERS = 4
WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def make_app(db_url: str, tmp_path: Path, clock: Clock, **newsletter: Any) -> App:
    options = {
        "title": "Example Weekly", "tags": ["transit"], "schedule": "weekly mon 08:00",
        "timezone": "Europe/Warsaw", "draft_lead": "20h", "editors": ["editor@example.com"],
        **newsletter,
    }  # fmt: skip
    settings = load_settings(
        None, env={},
        overrides={"home": str(tmp_path / "home"), "database_url": db_url, "secret_key": "k",
                   "sender": {"email": "weekly@news.example.com"},
                   "newsletters": {"weekly": options}},
    )  # fmt: skip
    return create_app(settings, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def weekly(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[App]:
    app = make_app(db_url, tmp_path, clock)
    with app.engine.begin() as conn:
        for i in range(READERS):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", START)
    yield app
    app.close()


def add_articles(app: App, tmp_path: Path, when: datetime, n: int, tag: str = "transit") -> None:
    folder = tmp_path / f"arts-{when:%Y%m%d%H%M}"
    for i in range(n):
        body = f"News from {when:%A %d %B} number {i}. More detail follows."
        url = f"https://x.example/{when:%Y%m%d%H%M}/{i}"
        title = f"Story {when:%b %d} #{i}"
        write_article(
            folder, f"{i}.md", title=title, date=when.isoformat(), tags=[tag], body=body, url=url
        )
    ingest_path(app.engine, folder, app.clock())


def week_times(app: App, after: datetime) -> tuple[datetime, datetime]:
    nl = app.settings.newsletters["weekly"]
    send = parse_schedule(nl.schedule or "", nl.timezone or "UTC")
    draft_at = LeadTrigger(send, nl.draft_lead).get_next_fire_time(None, after)
    send_at = next_fire(send, draft_at)
    assert draft_at is not None and send_at is not None
    return draft_at, send_at


def outbox_count(app: App, number: int) -> int:
    return len(list((app.settings.outbox_dir / "weekly" / str(number)).glob("*.eml")))


@pytest.mark.parametrize("zone", ["Europe/Warsaw", "America/New_York"])
def test_eight_weeks(db_url: str, clock: Clock, tmp_path: Path, zone: str) -> None:
    """Eight weeks across both zones' DST changes (New York 14 March, Warsaw 28 March 2027)."""
    weekly = make_app(db_url, tmp_path, clock, timezone=zone)
    with weekly.engine.begin() as conn:
        for i in range(READERS):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", START)
    local = ZoneInfo(zone)
    seen: set[int] = set()
    after = START
    quiet_week = 4
    for week in range(8):
        if week != quiet_week:
            add_articles(weekly, tmp_path, after + timedelta(hours=1), n=2)
        draft_at, send_at = week_times(weekly, after + timedelta(hours=2))
        clock.now = draft_at
        drafted = draft_job(weekly, "weekly", clock.now, "host:1")
        clock.now = send_at
        sent = send_job(weekly, "weekly", clock.now, "host:1")
        if week == quiet_week:
            assert drafted.outcome == "skipped" and "nothing new" in drafted.message
            assert sent.outcome == "skipped"
        else:
            assert (drafted.outcome, sent.outcome) == ("drafted", "sent"), (drafted, sent)
            assert send_at.astimezone(local).hour == 8  # across the DST change too
        after = send_at + timedelta(minutes=1)
    with weekly.engine.connect() as conn:
        editions = conn.execute(select(Edition.number, Edition.status, Edition.content)).all()
        runs = conn.execute(select(ScheduleRun.job, ScheduleRun.outcome)).all()
    assert [e.status for e in editions] == ["sent"] * 7
    for e in editions:
        ids = {i for sec in e.content["sections"] for s in sec["stories"] for i in s["article_ids"]}
        assert len(ids) == 2 and not ids & seen  # only stories not sent before
        seen |= ids
        assert outbox_count(weekly, e.number) == READERS
    assert runs.count(("send:weekly", "skipped")) == 1
    notices = list((weekly.settings.outbox_dir / "weekly" / "notices-draft").rglob("*.eml"))
    assert len(notices) == 7  # the editor heard about every draft
    notice = email.message_from_bytes(notices[0].read_bytes(), policy=policy.default)
    assert notice["To"] == "editor@example.com" and notice["List-Unsubscribe"] is None
    assert "/desk/editions/" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    weekly.close()


def test_late_draft_is_not_sent_until_approved(db_url: str, tmp_path: Path, clock: Clock) -> None:
    app = make_app(db_url, tmp_path, clock, approval="required")
    with app.engine.begin() as conn:
        add_subscriber(conn, "reader@example.com", "weekly", START)
    add_articles(app, tmp_path, START, n=3)
    draft_at, send_at = week_times(app, START)
    clock.now = draft_at
    assert draft_job(app, "weekly", clock.now, "h").outcome == "drafted"
    clock.now = send_at
    late = send_job(app, "weekly", clock.now, "h")
    assert late.outcome == "late"
    assert outbox_count(app, 1) == 0
    late_notice = next((app.settings.outbox_dir / "weekly" / "notices-late").rglob("*.eml"))
    assert b"NOT sent" in late_notice.read_bytes()
    # The job does not run twice for the same send time.
    assert send_job(app, "weekly", clock.now + timedelta(minutes=5), "h").outcome == "done"
    # The editor approves later and sends at once.
    from click.testing import CliRunner

    from digest.cli import cli

    runner = CliRunner()
    args = ["--home", str(tmp_path / "home"), "--database-url", db_url, "--set", "secret_key=k"]
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[sender]\nemail = "weekly@news.example.com"\n[newsletters.weekly]\ntitle = "W"\n'
        'tags = ["transit"]\napproval = "required"\n'
    )
    result = runner.invoke(
        cli, ["--config", str(cfg), *args, "edition", "approve", "weekly", "--send-now"]
    )
    assert result.exit_code == 0, result.output
    assert "sent to 1 subscribers" in result.output
    assert outbox_count(app, 1) == 1
    app.close()


def test_killed_during_send_resumes_after_restart(
    weekly: App, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_articles(weekly, tmp_path, START, n=2)
    _, send_at = week_times(weekly, START)
    clock.now = send_at
    calls = {"n": 0}
    original = OutboxMailer.send

    def dies_on_second_batch(self: OutboxMailer, edition: Any, batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("killed")  # the process dies mid-send
        return original(self, edition, batch)

    monkeypatch.setattr(OutboxMailer, "max_batch", 1)
    monkeypatch.setattr(OutboxMailer, "send", dies_on_second_batch)
    with pytest.raises(SystemExit):
        send_job(weekly, "weekly", clock.now, "h:1")
    monkeypatch.setattr(OutboxMailer, "send", original)
    clock.now += timedelta(minutes=3)
    [resumed] = resume_interrupted(weekly, "h:2")  # what `digest schedule run` does at start
    assert resumed.outcome == "resumed"
    with weekly.engine.connect() as conn:
        statuses = conn.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
        assert conn.execute(select(Edition.status)).scalar_one() == "sent"
    assert dict(statuses) == {"sent": READERS}
    assert outbox_count(weekly, 1) == READERS
    # The missed run, coming in late after the restart, finds nothing left to do.
    assert send_job(weekly, "weekly", clock.now, "h:2").outcome == "done"


@pytest.mark.postgres
def test_two_schedulers_run_each_job_once(pg_url: str, tmp_path: Path) -> None:
    """Two schedulers on one database through four weeks: each draft and send made once."""
    clock = Clock(START)
    apps = [make_app(pg_url, tmp_path / f"p{i}", clock) for i in range(2)]
    with apps[0].engine.begin() as conn:
        for i in range(READERS):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", START)
    after = START
    outcomes: list[tuple[str, ...]] = []
    for _week in range(4):
        add_articles(apps[0], tmp_path, after + timedelta(hours=1), n=2)
        draft_at, send_at = week_times(apps[0], after + timedelta(hours=2))
        for job, at in ((draft_job, draft_at), (send_job, send_at)):
            clock.now = at
            barrier = threading.Barrier(2)
            results: list[str] = []

            def worker(
                i: int, job: Any = job, barrier: threading.Barrier = barrier, out: Any = results
            ) -> None:
                barrier.wait()
                out.append(job(apps[i], "weekly", clock.now, f"host{i}:1").outcome)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            outcomes.append(tuple(sorted(results)))
        after = send_at + timedelta(minutes=1)
    assert all(
        o in (("done", "drafted"), ("drafted", "locked"), ("done", "sent"), ("locked", "sent"))
        for o in outcomes
    ), outcomes
    with apps[0].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Edition)).scalar_one() == 4
        sent = conn.execute(
            select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        )
        assert sent.scalar_one() == READERS * 4
        runs = conn.execute(select(ScheduleRun.job, func.count()).group_by(ScheduleRun.job))
        assert {job: n for job, n in runs} == {"draft:weekly": 4, "send:weekly": 4}
    for number in range(1, 5):  # each edition's files are in the home of whoever sent it
        assert sum(outbox_count(app, number) for app in apps) == READERS
    for app in apps:
        app.close()


def test_jobs_survive_restarts_and_follow_config_changes(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    app = make_app(db_url, tmp_path, clock)
    first = {job_id: nxt for job_id, _, nxt in stored_jobs(app)}
    assert set(first) == {"send:weekly", "draft:weekly"}
    assert first["draft:weekly"] + timedelta(hours=20) == first["send:weekly"]
    # A restart keeps the stored jobs as they are.
    again = {job_id: nxt for job_id, _, nxt in stored_jobs(app)}
    assert again == first
    app.close()
    changed = make_app(db_url, tmp_path, clock, schedule="daily 07:30")
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = BackgroundScheduler(jobstores={"default": job_store(changed)}, timezone="UTC")
    sched.start(paused=True)
    assert sync_jobs(sched, changed) == {"send:weekly": "changed", "draft:weekly": "changed"}
    sched.shutdown(wait=False)
    manual = make_app(db_url, tmp_path, clock, schedule=None)
    assert stored_jobs(manual) == []
    changed.close()
    manual.close()


def test_apscheduler_runs_the_job(weekly: App, tmp_path: Path, clock: Clock) -> None:
    """The real scheduler thread calls run_job, which sends through the ledger."""
    from apscheduler.schedulers.background import BackgroundScheduler

    add_articles(weekly, tmp_path, START, n=2)
    _, send_at = week_times(weekly, START)
    clock.now = send_at
    sched = BackgroundScheduler(jobstores={"default": job_store(weekly)}, timezone="UTC")
    sched.start(paused=True)
    sync_jobs(sched, weekly)
    sched.modify_job("send:weekly", next_run_time=datetime.now(UTC) + timedelta(milliseconds=200))
    _RUNNING["app"] = weekly
    try:
        sched.resume()
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and status != "sent":
            time.sleep(0.1)
            with weekly.engine.connect() as conn:
                status = conn.execute(select(Edition.status)).scalar()
    finally:
        sched.shutdown(wait=True)
        _RUNNING.pop("app", None)
    assert status == "sent"
    assert outbox_count(weekly, 1) == READERS
    assert run_job.__module__ == "digest.schedule.scheduler"


def test_edition_and_schedule_commands(db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from digest.cli import cli

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'secret_key = "k"\n[newsletters.weekly]\ntitle = "W"\ntags = ["transit"]\n'
        'schedule = "weekly mon 08:00"\ntimezone = "America/New_York"\n'
    )
    base = ["--config", str(cfg), "--database-url", db_url]
    runner = CliRunner()
    listed = runner.invoke(cli, [*base, "schedule", "list"])
    assert listed.exit_code == 0, listed.output
    assert "send:weekly" in listed.output and "08:00 E" in listed.output  # EST/EDT
    folder = tmp_path / "a"
    write_article(
        folder, "a.md", title="Tram news", date="-1d", tags=["transit"], body="Trams. Yes."
    )
    assert runner.invoke(cli, [*base, "ingest", str(folder)]).exit_code == 0
    assert (
        runner.invoke(cli, [*base, "preview", "weekly", "--out", str(tmp_path / "p")]).exit_code
        == 0
    )
    approved = runner.invoke(cli, [*base, "edition", "approve", "weekly", "--reason", "fine"])
    assert "is now approved" in approved.output
    shown = runner.invoke(cli, [*base, "edition", "show", "weekly", "1"])
    assert "Tram news" in shown.output and "fine" in shown.output
    refused = runner.invoke(cli, [*base, "edition", "approve", "weekly", "1"])
    assert refused.exit_code == 1 and "cannot approve" in refused.output
    listing = runner.invoke(cli, [*base, "edition", "list", "weekly"])
    assert "approved" in listing.output


def test_config_changes_resync_a_running_scheduler(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.schedule.scheduler import reload_config

    app = make_app(db_url, tmp_path, clock)
    sched = BackgroundScheduler(jobstores={"default": job_store(app)}, timezone="UTC")
    sched.start(paused=True)
    sync_jobs(sched, app)
    _RUNNING["app"] = app
    try:
        assert reload_config(sched, lambda: app.settings) == {}
        daily = make_app(db_url, tmp_path, clock, schedule="daily 07:30").settings
        assert reload_config(sched, lambda: daily) == {
            "send:weekly": "changed",
            "draft:weekly": "changed",
        }
        assert _RUNNING["app"].settings is daily
        assert "07:30" in str(sched.get_job("send:weekly").next_run_time.astimezone(WARSAW))
    finally:
        _RUNNING.pop("app", None)
        sched.shutdown(wait=False)
        app.close()


def test_send_after_downtime_sends_the_missed_edition_once(
    weekly: App, clock: Clock, tmp_path: Path
) -> None:
    """The scheduler was down over the draft and the send; started 3 h late, it sends once."""
    add_articles(weekly, tmp_path, START, n=2)
    _, send_at = week_times(weekly, START)
    clock.now = send_at + timedelta(hours=3)  # within scheduler.misfire_grace_time (6 h)
    late = send_job(weekly, "weekly", clock.now, "host:1")
    assert late.outcome == "sent" and late.planned_for == send_at
    again = send_job(weekly, "weekly", clock.now + timedelta(minutes=5), "host:2")
    assert again.outcome == "done"
    with weekly.engine.connect() as conn:
        [(status, planned)] = conn.execute(select(Edition.status, Edition.scheduled_for)).all()
    assert (status, planned) == ("sent", send_at)
    assert outbox_count(weekly, 1) == READERS


@pytest.mark.parametrize(
    ("late_by", "runs"), [(timedelta(minutes=30), True), (timedelta(hours=8), False)]
)
def test_misfired_job_runs_within_the_grace_time_only(
    weekly: App, tmp_path: Path, clock: Clock, late_by: timedelta, runs: bool
) -> None:
    """A stored job whose run time passed while no scheduler ran: run if recent, else skipped."""
    from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
    from apscheduler.schedulers.background import BackgroundScheduler

    add_articles(weekly, tmp_path, START, n=2)
    _, send_at = week_times(weekly, START)
    clock.now = send_at + late_by
    sched = BackgroundScheduler(jobstores={"default": job_store(weekly)}, timezone="UTC")
    sched.start(paused=True)
    sync_jobs(sched, weekly)
    sched.modify_job("send:weekly", next_run_time=datetime.now(UTC) - late_by)
    seen: list[int] = []
    done = threading.Event()

    def listen(event: JobEvent) -> None:
        if event.job_id == "send:weekly":
            seen.append(event.code)
            done.set()

    sched.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    _RUNNING["app"] = weekly
    try:
        sched.resume()
        assert done.wait(20)
    finally:
        sched.shutdown(wait=True)
        _RUNNING.pop("app", None)
    assert seen == [EVENT_JOB_EXECUTED if runs else EVENT_JOB_MISSED]
    assert outbox_count(weekly, 1) == (READERS if runs else 0)


WORDS = [
    "tram",
    "ferry",
    "bridge",
    "harbour",
    "market",
    "library",
    "stadium",
    "river",
    "tunnel",
    "airport",
]


def arrive(app: App, clock: Clock, tmp_path: Path, at: datetime, dated: datetime) -> str:
    """One article first seen at `at` and dated `dated`; returns its title."""
    was, clock.now = clock.now, at
    word = WORDS[int(at.timestamp()) // 60 % len(WORDS)]
    title = f"The {word} report of {at:%d %B %H:%M}"
    folder = tmp_path / f"in-{at:%Y%m%d%H%M}"
    body = f"A report on the {word}, filed {at:%A %H:%M}. It names {title.lower()} and more."
    write_article(folder, "a.md", title=title, date=dated.isoformat(), tags=["transit"],
                  body=body, url=f"https://x.example/{at:%Y%m%d%H%M}")  # fmt: skip
    ingest_path(app.engine, folder, app.clock())
    clock.now = was
    return title


@pytest.mark.parametrize("approval", ["auto", "required"])
def test_articles_arriving_at_every_point_of_the_cycle_each_go_out_once(
    db_url: str, tmp_path: Path, clock: Clock, approval: str
) -> None:
    """Before the draft, between draft and send, just before the send, after it, and late."""
    from digest.editions.lifecycle import transition

    app = make_app(db_url, tmp_path, clock, approval=approval)
    with app.engine.begin() as conn:
        add_subscriber(conn, "reader@example.com", "weekly", START)
    arrived: list[str] = []
    after = START
    for _week in range(5):
        draft_at, send_at = week_times(app, after)
        hour = timedelta(hours=1)
        arrived.append(arrive(app, clock, tmp_path, draft_at - 2 * hour, draft_at - 2 * hour))
        clock.now = draft_at
        assert draft_job(app, "weekly", clock.now, "h").outcome == "drafted"
        if approval == "required":
            with app.engine.begin() as conn:
                edition = editions.open_edition(conn, "weekly")
                assert edition is not None
                transition(conn, edition.id, "approve", "editor", draft_at + hour / 2)
        arrived.append(arrive(app, clock, tmp_path, draft_at + hour, draft_at + hour))
        arrived.append(arrive(app, clock, tmp_path, send_at - hour / 60, send_at - hour))
        clock.now = send_at
        assert send_job(app, "weekly", clock.now, "h").outcome == "sent"
        # A feed that lags: dated before the draft, first seen after the send.
        arrived.append(arrive(app, clock, tmp_path, send_at + hour, draft_at - 3 * hour))
        arrived.append(arrive(app, clock, tmp_path, send_at + 2 * hour, send_at + 2 * hour))
        after = send_at + 3 * hour
    with app.engine.connect() as conn:
        ids = {t: i for t, i in conn.execute(select(Article.title, Article.id))}
        sent = conn.execute(select(Edition.content).where(Edition.status == "sent")).scalars()
        carried = [
            i for content in sent for sec in content["sections"] for story in sec["stories"]
            for i in story["article_ids"]
        ]  # fmt: skip
    assert len(ids) == len(arrived) == 25
    for title in arrived[:-5]:  # each in exactly one edition by the week after it arrived
        assert carried.count(ids[title]) == 1, title
    for title in arrived[-2:]:  # after the last send: waiting for the next edition
        assert ids[title] not in carried
    assert len(carried) == len(set(carried))
    app.close()
