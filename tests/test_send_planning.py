"""Planning the ledger in steps on PostgreSQL while workers send: nobody skipped, nobody twice.

The steps are made tiny here (3 readers, then 4 at a time) so that a 20-reader list takes
several; the marker in job_locks says planning is not complete until its last step.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.core.app import App
from digest.core.models import Delivery, JobLock
from digest.core.workers import active, worker_id
from digest.editions.lifecycle import transition
from digest.pipeline import SendReport, _planner, prepare_draft, send, work
from digest.sending import controls, planning
from tests.conftest import NOW
from tests.send_support import add_articles, add_readers, make_app

READERS = 20


@pytest.fixture
def pg_app(
    pg_url: str, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    monkeypatch.setattr(planning, "FIRST", 3)
    monkeypatch.setattr(planning, "STEP", 4)
    app = make_app(pg_url, config_file, **{"send.batch_size": 2})
    add_articles(app, tmp_path / "arts")
    add_readers(app, READERS)
    yield app
    app.close()


def _started(app: App, owner: str) -> tuple[planning.Planner, int | None]:
    """What `digest send` does first: start the send and plan the first step as `owner`."""
    edition = prepare_draft(app, "weekly", NOW)
    planner = _planner(app, edition)
    with app.engine.begin() as conn:
        transition(conn, edition.id, "approve", "editor", NOW)
        transition(conn, edition.id, "start", "editor", NOW)
        after = planner.start(conn, owner)
    return planner, after


def _rows(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        found = conn.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {status: int(n) for status, n in found}


def _markers(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(JobLock.name)).scalars())


def _outbox_count(app: App) -> int:
    return len(list((app.settings.outbox_dir / "weekly" / "1").glob("*.eml")))


@pytest.mark.postgres
def test_send_plans_in_steps_and_reaches_everyone_once(pg_app: App) -> None:
    report = send(pg_app, "weekly")
    assert report.planned == READERS
    assert report.counts == {"sent": READERS}
    assert _outbox_count(pg_app) == READERS
    assert _markers(pg_app) == []
    with pg_app.engine.connect() as conn:
        per_reader = conn.execute(
            select(func.count()).select_from(Delivery).group_by(Delivery.subscriber_id)
        ).scalars()
        assert set(per_reader) == {1}


@pytest.mark.postgres
def test_a_worker_waits_while_a_live_planner_is_still_planning(pg_app: App) -> None:
    owner = worker_id()
    with active(owner):
        planner, after = _started(pg_app, owner)
        assert after is not None and _rows(pg_app) == {"pending": 3}
        reports: list[SendReport] = []
        joined = threading.Thread(target=lambda: reports.append(work(pg_app, "weekly")))
        joined.start()
        time.sleep(1.0)
        # It sent what was planned, and waits for the rest instead of calling the send done.
        assert joined.is_alive()
        assert _rows(pg_app) == {"sent": 3}
        planner.finish(owner, after)
    joined.join(timeout=30)
    assert not joined.is_alive()
    assert reports[0].counts == {"sent": READERS}
    assert _outbox_count(pg_app) == READERS
    assert _markers(pg_app) == []


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["worker", "send again"])
def test_a_dead_planners_work_is_taken_over(pg_app: App, how: str) -> None:
    """The process that started the send died after the first step (its pid is gone)."""
    dead = f"{socket.gethostname()}:{2**22 + 12345}:gone"
    _started(pg_app, dead)
    assert _markers(pg_app) == ["plan:1"]
    report = work(pg_app, "weekly") if how == "worker" else send(pg_app, "weekly")
    assert report.counts == {"sent": READERS}
    assert _outbox_count(pg_app) == READERS
    assert _markers(pg_app) == []


@pytest.mark.postgres
def test_a_planning_thread_that_fails_is_taken_over_by_a_worker(
    pg_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish = planning.Planner.finish
    calls: list[str] = []

    def fails_once(self: planning.Planner, owner: str, after: int) -> None:
        calls.append(owner)
        if len(calls) == 1:
            raise RuntimeError("the planning thread lost its connection")
        finish(self, owner, after)

    monkeypatch.setattr(planning.Planner, "finish", fails_once)
    report = send(pg_app, "weekly")
    assert report.counts == {"sent": READERS}
    assert len(calls) == 2 and calls[0] != calls[1]  # the second is a worker's
    assert _markers(pg_app) == []


@pytest.mark.postgres
def test_a_planner_on_another_machine_is_taken_over_once_its_lease_ran_out(
    pg_url: str, config_file: Path, pg_app: App
) -> None:
    _started(pg_app, "elsewhere.example:4242:abcd")
    later = make_app(pg_url, config_file, **{"send.batch_size": 2})
    later.clock = lambda: NOW + pg_app.settings.send.lease + timedelta(seconds=1)
    try:
        assert work(later, "weekly").counts == {"sent": READERS}
    finally:
        later.close()
    assert _markers(pg_app) == []


@pytest.mark.postgres
def test_cancel_during_planning_leaves_nothing_pending(pg_app: App) -> None:
    owner = worker_id()
    with active(owner):
        planner, after = _started(pg_app, owner)
        assert after is not None
        _, cancelled = controls.cancel(pg_app, "weekly")
        assert cancelled == 3
        planner.finish(owner, after)  # its next step sees the edition cancelled
    assert _rows(pg_app) == {"cancelled": 3}
    assert _markers(pg_app) == []


def test_sqlite_plans_everything_before_sending(app: App, tmp_path: Path) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans in steps (the tests above)")
    add_articles(app, tmp_path / "arts")
    add_readers(app, 5)
    planner, after = _started(app, worker_id())
    assert after is None and planner.added == 5
    assert _rows(app) == {"pending": 5} and _markers(app) == []
