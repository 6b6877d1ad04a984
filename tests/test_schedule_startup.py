"""What `digest schedule run` does when it starts: catch up on missed runs, resume, then sync.

Driven in-process with the project's clock; tests/test_schedule_process.py drives the real
process.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from digest.cli import cli
from digest.core import leases
from digest.core.app import App, create_app
from digest.core.models import Delivery, Edition, ScheduleRun
from digest.core.workers import _started, is_dead, worker_id
from digest.editions.lifecycle import history
from digest.editions.timeline import timeline
from digest.pipeline import send
from digest.schedule.jobs import send_job
from digest.schedule.scheduler import job_overview, missed_runs, start_up, stored_jobs
from digest.sending.providers.base import Outcome, SendResult
from digest.sending.providers.outbox import OutboxMailer
from digest.settings.loading import load_settings
from subscribers.store import add_subscriber
from tests.test_jobs import (
    READERS,
    START,
    WARSAW,
    Clock,
    add_articles,
    make_app,
    outbox_count,
    week_times,
)


def _notices(app: App, kind: str, newsletter: str = "weekly") -> list[Path]:
    return sorted((app.settings.outbox_dir / newsletter / f"notices-{kind}").rglob("*.eml"))


def _runs(app: App) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(ScheduleRun.job, ScheduleRun.outcome))]


@pytest.fixture
def weekly(db_url: str, tmp_path: Path, clock: Clock) -> Any:
    app = make_app(db_url, tmp_path, clock)
    with app.engine.begin() as conn:
        for i in range(READERS):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", START)
    add_articles(app, tmp_path, START, n=2)
    stored_jobs(app)  # a scheduler ran once, at START, and stored its jobs
    yield app
    app.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def test_a_send_missed_within_the_grace_goes_out_once_at_start(weekly: App, clock: Clock) -> None:
    _, send_at = week_times(weekly, START)
    clock.now = send_at + timedelta(hours=3)  # down over the send, back within 6 h
    assert set(missed_runs(weekly)) == {"send:weekly", "draft:weekly"}
    results = start_up(weekly, worker_id())
    assert [(r.job, r.outcome) for r in results] == [("send:weekly", "sent")]
    assert outbox_count(weekly, 1) == READERS
    # The sync ran after the catch-up and moved every job on: nothing is missed any more.
    assert missed_runs(weekly) == {}
    assert all(j.next_run is not None and j.next_run > clock.now for j in job_overview(weekly))
    assert start_up(weekly, worker_id()) == []  # a second start sends nothing
    assert outbox_count(weekly, 1) == READERS


def test_a_send_missed_beyond_the_grace_is_marked_missed_and_told(
    weekly: App, clock: Clock, tmp_path: Path
) -> None:
    _, send_at = week_times(weekly, START)
    clock.now = send_at + timedelta(hours=8)
    [result] = start_up(weekly, worker_id())
    assert result.outcome == "missed" and result.planned_for == send_at
    assert outbox_count(weekly, 1) == 0  # nothing sent until someone says so
    with weekly.engine.connect() as conn:
        edition = conn.execute(select(Edition.id, Edition.status)).one()
        reasons = [e.reason for e in history(conn, edition.id)]
    assert edition.status == "draft"
    assert any(r.startswith("missed: no scheduler was running at Mon") for r in reasons)
    [notice] = _notices(weekly, "missed")
    assert notice.parent.name == "1"  # the notices of edition 1 sit in its folder
    text = notice.read_text()
    assert "NOT sent" in text and "digest edition approve weekly 1 --send-now" in text
    [job] = [j for j in job_overview(weekly) if j.id == "send:weekly"]
    assert job.last_run is not None and job.last_run.outcome == "missed"
    # The editor sends it late; the restarted scheduler does not send it again.
    from digest.editions.editorial import act

    act(weekly, "weekly", 1, "approve", "editor")
    assert send(weekly, "weekly").counts == {"sent": READERS}
    assert start_up(weekly, worker_id()) == []
    assert outbox_count(weekly, 1) == READERS


def test_a_missed_draft_is_built_at_start_when_its_send_is_ahead(weekly: App, clock: Clock) -> None:
    draft_at, send_at = week_times(weekly, START)
    clock.now = draft_at + timedelta(hours=2)
    [result] = start_up(weekly, worker_id())
    assert (result.job, result.outcome) == ("draft:weekly", "drafted")
    assert result.planned_for == send_at
    assert len(_notices(weekly, "draft")) == 1


def test_schedule_list_reads_only(weekly: App, clock: Clock, db_url: str, tmp_path: Path) -> None:
    """`schedule list` during downtime shows the miss and moves nothing."""
    _, send_at = week_times(weekly, START)
    clock.now = send_at + timedelta(hours=1)
    before = missed_runs(weekly)
    [send_job] = [j for j in job_overview(weekly) if j.id == "send:weekly"]
    assert send_job.missed_since == send_at
    assert missed_runs(weekly) == before


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_at_once(db_url: str) -> None:
    from digest.core.db import open_database

    engine = open_database(db_url)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    host = socket.gethostname()
    gone = f"{host}:{2**22 + 12345}:1:deadbeef"  # a process id no process has
    assert is_dead(gone)
    # A live process id that a later process reuses: its start time tells them apart.
    parent = os.getppid()
    assert not is_dead(f"{host}:{parent}:{_started(parent)}:a")
    assert is_dead(f"{host}:{parent}:{_started(parent)}0:a")
    elsewhere = f"other-host:{2**22 + 12345}:1:beef"
    assert not is_dead(elsewhere)  # another machine: only its lease can tell
    lease = timedelta(minutes=30)
    assert leases.acquire(engine, "send:weekly", gone, now, lease)
    assert leases.take(engine, "send:weekly", worker_id(), now, lease)
    assert leases.acquire(engine, "draft:weekly", elsewhere, now, lease)
    assert not leases.take(engine, "draft:weekly", worker_id(), now, lease)
    assert leases.take(engine, "draft:weekly", worker_id(), now + lease * 2, lease)
    engine.dispose()


def _two_newsletters(db_url: str, tmp_path: Path, clock: Clock) -> App:
    options = {
        "tags": ["transit"], "schedule": "weekly mon 08:00", "timezone": "Europe/Warsaw",
        "draft_lead": "20h", "editors": ["editor@example.com"],
    }  # fmt: skip
    settings = load_settings(
        None, env={},
        overrides={"home": str(tmp_path / "home"), "database_url": db_url, "secret_key": "k",
                   "sender": {"email": "news@news.example.com"},
                   "newsletters": {"weekly": {"title": "Weekly", **options},
                                   "other": {"title": "Other", **options}}},
    )  # fmt: skip
    return create_app(settings, clock=clock)


def test_an_uncertain_send_blocks_only_its_own_edition(
    db_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _two_newsletters(db_url, tmp_path, clock)
    with app.engine.begin() as conn:
        for name in ("weekly", "other"):
            for i in range(3):
                add_subscriber(conn, f"{name}{i}@example.com", name, START)
    add_articles(app, tmp_path, START, n=2)
    stored_jobs(app)
    original = OutboxMailer.send

    def answer_lost(self: OutboxMailer, edition: Any, batch: Any) -> list[SendResult]:
        return [SendResult(r.delivery_id, Outcome.UNKNOWN, error="connection reset") for r in batch]

    monkeypatch.setattr(OutboxMailer, "send", answer_lost)
    with pytest.raises(Exception, match="uncertain"):
        send(app, "weekly")  # the answers were lost: the edition waits for the operator
    monkeypatch.setattr(OutboxMailer, "send", original)
    _, send_at = week_times(app, START)
    clock.now = send_at + timedelta(minutes=10)
    results = {(r.job, r.outcome) for r in start_up(app, worker_id())}
    assert ("send:other", "sent") in results
    assert ("send:weekly", "blocked") in results
    other = sorted((app.settings.outbox_dir / "other" / "1").glob("*.eml"))
    assert len(other) == 3
    assert len(_notices(app, "blocked")) == 1
    # Told once: the next look (every minute while running) does not tell again.
    clock.now += timedelta(minutes=1)
    assert start_up(app, worker_id()) == []
    assert len(_notices(app, "blocked")) == 1
    with app.engine.connect() as conn:
        statuses = set(conn.execute(select(Delivery.status)).scalars())
    assert statuses == {"uncertain", "sent"}
    app.close()


def test_schedule_list_shows_draft_lead_as_written_and_the_last_outcome(
    weekly: App, clock: Clock, tmp_path: Path
) -> None:
    _, send_at = week_times(weekly, START)
    clock.now = send_at + timedelta(hours=3)
    start_up(weekly, worker_id())
    [view] = [j for j in job_overview(weekly) if j.id == "draft:weekly"]
    assert view.description == "drafts 20h before each send"
    [view] = [j for j in job_overview(weekly) if j.id == "send:weekly"]
    assert view.last_run is not None and view.last_run.outcome == "sent"
    out = _cli(weekly, tmp_path, "schedule", "list")
    assert "20h before each send" in out.output
    assert "sent, Mon 08 Mar" in out.output and "edition 1 to 4 readers" in out.output


def _cli(app: App, tmp_path: Path, *args: str) -> Any:
    """Run a digest command on the test's database and newsletter."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'secret_key = "k"\n[newsletters.weekly]\ntitle = "W"\ntags = ["transit"]\n'
        'schedule = "weekly mon 08:00"\ntimezone = "Europe/Warsaw"\n'
    )
    url = str(app.engine.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(cli, ["--config", str(cfg), "--database-url", url, *args])
    assert out.exit_code == 0, out.output
    return out


def test_edition_list_shows_skipped_and_missed_weeks_with_the_reason(
    weekly: App, clock: Clock, tmp_path: Path
) -> None:
    _, first = week_times(weekly, START)
    clock.now = first
    assert send_job(weekly, "weekly", clock.now, "h").outcome == "sent"
    _, second = week_times(weekly, first + timedelta(hours=1))
    clock.now = second  # nothing new arrived: the week is skipped
    assert send_job(weekly, "weekly", clock.now, "h").outcome == "skipped"
    clock.now = second + timedelta(days=1)
    add_articles(weekly, tmp_path, clock.now, n=1)
    _, third = week_times(weekly, clock.now)
    clock.now = third + timedelta(hours=9)  # down over the third send, beyond the grace
    start_up(weekly, worker_id())
    listing = " ".join(_cli(weekly, tmp_path, "edition", "list", "weekly").output.split())
    assert "draft (missed)" in listing and "skipped" in listing and "sent" in listing
    assert f"{second.astimezone(WARSAW):%d %b %Y} 08:00 CET" in listing
    with weekly.engine.connect() as conn:
        weeks = [(w.edition.number if w.edition else None, w.outcome, w.reason, w.when)
                 for w in timeline(conn, "weekly")]  # fmt: skip
    assert [w[:2] for w in weeks] == [(2, "draft (missed)"), (None, "skipped"), (1, "sent")]
    assert "missed: no scheduler was running at Mon 22 Mar 2027 08:00 CET" in weeks[0][2]
    assert weeks[1][2].startswith("nothing new for weekly") and weeks[1][3] == second
    shown = _cli(weekly, tmp_path, "edition", "show", "weekly", "2").output
    assert f"send time: {third.astimezone(WARSAW):%a %d %b %Y} 08:00 CET" in shown


def _empty_databases(db_url: str, tmp_path: Path, n: int) -> Iterator[str]:
    """`n` fresh, empty databases of the same kind as `db_url` (schemas on PostgreSQL)."""
    if db_url.startswith("sqlite"):
        for i in range(n):
            yield f"sqlite:///{tmp_path / f'race{i}.db'}"
        return
    from sqlalchemy import create_engine, text

    base, _, _ = db_url.partition("?")
    admin = create_engine(base)
    for i in range(n):
        schema = f"race_{os.getpid()}_{i}"
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{base}?options=-csearch_path%3D{schema}"
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _start_two_at_once(url: str, tmp_path: Path, clock: Clock) -> list[set[str] | BaseException]:
    """Two schedulers' start-up (migrations, job table, job sync) at the same instant."""
    barrier = threading.Barrier(2)
    outcomes: list[set[str] | BaseException] = []

    def start(i: int) -> None:
        app = make_app(url, tmp_path / f"s{i}", clock)
        try:
            barrier.wait()
            outcomes.append({job_id for job_id, _, _ in stored_jobs(app)})
        except BaseException as exc:  # the test reports any, from either thread
            outcomes.append(exc)
        finally:
            app.close()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_schedulers_starting_at_once_on_an_empty_database(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Migrations and the job table are made under a lock: 20 simultaneous starts, no crash."""
    for url in _empty_databases(db_url, tmp_path, 20):
        outcomes = _start_two_at_once(url, tmp_path, clock)
        assert outcomes == [{"send:weekly", "draft:weekly"}] * 2


def test_the_desk_shows_skipped_and_missed_weeks_with_the_reason(
    weekly: App, clock: Clock, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from digest.web.server import create_web_app
    from tests.webkit import make_user, sign_in

    _, first = week_times(weekly, START)
    clock.now = first + timedelta(hours=9)  # down over the first send, beyond the grace
    start_up(weekly, worker_id())
    make_user(weekly, "ada", "editor")
    with TestClient(create_web_app(weekly), base_url="https://testserver") as client:
        sign_in(client, "ada")
        page = client.get("/desk").text
    assert "draft (missed)" in page and "missed: no scheduler was running" in page
    assert f"{first.astimezone(WARSAW):%a %d %b %Y} 08:00 CET" in page
