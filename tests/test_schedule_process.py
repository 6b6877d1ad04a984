"""The real `digest schedule run` process: killed mid-send, down across a send time, restarted.

The process runs on the real clock, so each test sets a daily send time a few minutes (or
hours) before now and stores the jobs as a scheduler that stopped before that time left them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.core.app import App, create_app
from digest.core.models import Delivery, Edition
from digest.ingest.service import ingest_path
from digest.schedule.scheduler import editing_jobs, stored_jobs
from digest.settings.loading import load_settings
from tests.conftest import write_article
from tests.send_support import add_readers, child_env

READERS = 150


def _config(tmp_path: Path, send_at: datetime) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(
        'base_url = "https://news.example.com"\nsecret_key = "test-secret-key"\n'
        '[sender]\nname = "W"\nemail = "weekly@news.example.com"\npostal_address = "1 St"\n'
        '[newsletters.weekly]\ntitle = "Weekly"\ntags = ["transit"]\n'
        f'schedule = "daily {send_at:%H:%M}"\ntimezone = "UTC"\n'
        'editors = ["editor@example.com"]\n',
        encoding="utf-8",
    )
    return path


def _env(tmp_path: Path, config: Path, db_url: str) -> dict[str, str]:
    # Slow enough (20 a second) to be killed halfway.
    return child_env(
        tmp_path / "home", config, db_url,
        DIGEST_SEND__RATE_LIMIT="20", DIGEST_SEND__BATCH_SIZE="5",
    )  # fmt: skip


def _down_since(tmp_path: Path, db_url: str, late_by: timedelta) -> tuple[App, datetime]:
    """A newsletter whose send time passed `late_by` ago while no scheduler ran."""
    now = datetime.now(UTC)
    planned = (now - late_by).replace(second=0, microsecond=0)
    config = _config(tmp_path, planned)
    app = create_app(load_settings(config, overrides={"database_url": db_url}))
    add_readers(app, READERS)
    folder = tmp_path / "articles"
    for i, word in enumerate(["tram", "ferry", "bridge"]):
        write_article(folder, f"{i}.md", title=f"The {word} opens", date="-3h",
                      tags=["transit"], body=f"The {word} opens today. Crowds came.")  # fmt: skip
    ingest_path(app.engine, folder, now - late_by - timedelta(hours=1))
    stored_jobs(app)  # a scheduler ran before the send time and stored its jobs ...
    with editing_jobs(app) as editor:  # ... and stopped before it came
        editor.modify_job("send:weekly", next_run_time=planned)
    return app, planned


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _start(env: dict[str, str], log: Path, started: list[subprocess.Popen[bytes]]) -> None:
    command = [sys.executable, "-c", "from digest.cli import main; main()", "schedule", "run"]
    out = log.open("w")
    started.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))


def _sent(app: App) -> int:
    with app.engine.connect() as conn:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        return int(conn.execute(query).scalar_one())


def _wait(what: str, done: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_mid_send_the_restarted_scheduler_finishes_it_once(
    db_url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    app, _planned = _down_since(tmp_path, db_url, timedelta(minutes=10))
    env = _env(tmp_path, tmp_path / "digest.toml", db_url)
    _start(env, tmp_path / "first.log", processes)
    _wait("40 readers sent", lambda: _sent(app) >= 40)
    processes[0].send_signal(signal.SIGKILL)  # no clean-up of any kind
    processes[0].wait(timeout=10)
    killed_at = _sent(app)
    assert killed_at < READERS, "the send finished before it could be killed"
    with app.engine.connect() as conn:
        assert conn.execute(select(Edition.status)).scalar_one() == "sending"
    time.sleep(2)
    _start(env, tmp_path / "second.log", processes)
    _wait("the edition sent", lambda: _edition_status(app) == "sent")
    processes[1].send_signal(signal.SIGTERM)
    processes[1].wait(timeout=15)
    _assert_each_reader_once(app, tmp_path)
    second = (tmp_path / "second.log").read_text()
    # Killed in its start-up catch-up, before the job sync: the restart sees the send still
    # due (within the grace) and finishes it through the ledger.
    assert "send:weekly: sent edition 1 to 150 readers" in second, second
    app.close()


def _assert_each_reader_once(app: App, tmp_path: Path) -> None:
    """Every reader sent in the ledger, and one message each in the outbox: nobody twice."""
    assert _sent(app) == READERS
    files = list((tmp_path / "home" / "outbox" / "weekly" / "1").glob("*.eml"))
    assert len(files) == READERS


def _edition_status(app: App) -> str | None:
    with app.engine.connect() as conn:
        return conn.execute(select(Edition.status)).scalar()


def test_down_beyond_the_grace_nothing_is_sent_and_the_editors_are_told(
    db_url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    app, planned = _down_since(tmp_path, db_url, timedelta(hours=8))
    env = _env(tmp_path, tmp_path / "digest.toml", db_url)
    _start(env, tmp_path / "run.log", processes)
    _wait(
        "the scheduler to start", lambda: "scheduler running" in (tmp_path / "run.log").read_text()
    )
    notices = tmp_path / "home" / "outbox" / "weekly" / "notices-missed"
    _wait("the missed notice", lambda: any(notices.rglob("*.eml")))
    processes[0].send_signal(signal.SIGTERM)
    processes[0].wait(timeout=15)
    log = (tmp_path / "run.log").read_text()
    assert "send:weekly: missed edition 1" in log, log
    assert _sent(app) == 0 and _edition_status(app) == "draft"
    assert f"{planned:%H:%M}" in next(notices.rglob("*.eml")).read_text()
    app.close()


def test_sigterm_mid_send_stops_between_batches_and_the_next_start_finishes(
    db_url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """What systemd, Docker and Kubernetes send: the scheduler stops cleanly, nothing uncertain."""
    app, _planned = _down_since(tmp_path, db_url, timedelta(minutes=10))
    env = _env(tmp_path, tmp_path / "digest.toml", db_url)
    _start(env, tmp_path / "first.log", processes)
    _wait("40 readers sent", lambda: _sent(app) >= 40)
    asked = time.monotonic()
    processes[0].send_signal(signal.SIGTERM)
    assert processes[0].wait(timeout=15) == 0
    assert time.monotonic() - asked < 5  # not the rest of the list first
    with app.engine.connect() as conn:
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        left = {status: n for status, n in conn.execute(query)}
    assert set(left) <= {"sent", "pending"} and left.get("pending", 0) > 0, left
    assert "scheduler stopped" in (tmp_path / "first.log").read_text()
    _start(env, tmp_path / "second.log", processes)
    _wait("the edition sent", lambda: _edition_status(app) == "sent")
    _assert_each_reader_once(app, tmp_path)
    app.close()
