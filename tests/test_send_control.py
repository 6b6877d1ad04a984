"""The ledger under an operator and under crashes: pause, resume, cancel, leases, uncertain rows."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from digest.cli import cli
from digest.core.app import App
from digest.core.errors import DigestError
from digest.core.models import Delivery, Edition
from digest.editions.lifecycle import transition
from digest.pipeline import prepare_draft, send
from digest.sending import controls
from digest.sending.endings import SendPaused
from digest.sending.loop import Hooks
from digest.sending.providers.sendgrid import SendgridMailer
from digest.store import claims, deliveries
from subscribers.models import Subscriber
from subscribers.store import recipient_ids
from tests.conftest import NOW
from tests.fakes.sendgrid_api import FakeSendGrid, Faults
from tests.send_support import (
    add_articles,
    add_readers,
    child_env,
    make_app,
    running_fake,
    sendgrid_settings,
)


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with running_fake() as server:
        yield server


def _statuses(app: App) -> dict[str, str]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(Subscriber.email, Delivery.status).join(
                Subscriber, Subscriber.id == Delivery.subscriber_id
            )
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def _app(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid, n: int, batch: int = 10
) -> App:
    app = make_app(db_url, config_file, **sendgrid_settings(fake, **{"send.batch_size": batch}))
    add_articles(app, tmp_path / "arts")
    add_readers(app, n)
    return app


def test_pause_stops_after_the_batch_and_resume_finishes_once(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = _app(db_url, config_file, tmp_path, fake, 50)
    with pytest.raises(SendPaused, match="send resume weekly"):
        send(app, "weekly", hooks=Hooks(progress=lambda n: controls.pause(app, "weekly")))
    assert sum(fake.accepted.values()) == 10
    status = controls.status(app, "weekly")
    assert status.control == "paused" and status.counts == {"sent": 10, "pending": 40}
    with pytest.raises(SendPaused):  # a paused send does not go on by itself
        send(app, "weekly")
    assert sum(fake.accepted.values()) == 10
    controls.resume(app, "weekly")
    report = send(app, "weekly")
    assert report.counts == {"sent": 50}
    assert len(fake.accepted) == 50 and set(fake.accepted.values()) == {1}
    app.close()


def test_cancel_mid_send_sends_no_more_and_cancels_the_edition(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = _app(db_url, config_file, tmp_path, fake, 30)
    with pytest.raises(DigestError, match="cancelled"):
        send(app, "weekly", hooks=Hooks(progress=lambda n: controls.cancel(app, "weekly")))
    status = controls.status(app, "weekly")
    assert status.counts == {"sent": 10, "cancelled": 20}
    assert status.edition.status == "cancelled"
    assert sum(fake.accepted.values()) == 10
    # Ten readers have its stories: the next draft does not bring them back.
    with pytest.raises(DigestError, match="nothing new"):
        prepare_draft(app, "weekly", app.clock())
    # Unless the newsletter says so: then they come back, for everyone.
    carried = set(status.edition.content.article_ids)
    again = app.settings.newsletters["weekly"].model_copy(update={"repeat_partly_sent": True})
    app.settings = app.settings.model_copy(update={"newsletters": {"weekly": again}})
    assert set(prepare_draft(app, "weekly", app.clock()).content.article_ids) == carried
    app.close()


def _plan_with_claims(app: App, worker: str, claimed_at: Any, n: int) -> int:
    edition = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW)
        claims.claim(conn, edition.id, worker, n, claimed_at)
        conn.execute(update(Edition).where(Edition.id == edition.id).values(status="sending"))
    return edition.id


def test_expired_claims_become_uncertain_listed_and_resent_only_on_request(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = _app(db_url, config_file, tmp_path, fake, 20)
    # A worker on another machine claimed five rows an hour ago and was never heard from again.
    _plan_with_claims(app, "elsewhere:4242:deadbeef", NOW - timedelta(hours=1), 5)
    with pytest.raises(DigestError, match="5 deliveries are uncertain"):
        send(app, "weekly")
    statuses = _statuses(app)
    uncertain = {e for e, s in statuses.items() if s == "uncertain"}
    assert len(uncertain) == 5
    assert set(fake.accepted) == set(statuses) - uncertain  # not resent silently
    edition_id = controls.status(app, "weekly").edition.id
    listed = list(controls.readers(app, edition_id, ["uncertain"]))
    assert {u.email for u in listed} == uncertain
    assert {u.claimed_by for u in listed} == {"elsewhere:4242:deadbeef"}
    report = send(app, "weekly", resend_uncertain=True)
    assert report.counts == {"sent": 20}
    assert set(fake.accepted) == set(statuses) and set(fake.accepted.values()) == {1}
    app.close()


def test_a_live_workers_claims_are_left_alone(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = _app(db_url, config_file, tmp_path, fake, 12)
    _plan_with_claims(app, "elsewhere:4242:alive", NOW - timedelta(minutes=1), 4)
    report = send(app, "weekly")  # the rest goes; those four are the other worker's
    assert report.counts == {"sent": 8, "claimed": 4}
    assert controls.status(app, "weekly").edition.status == "sending"
    assert sorted(_statuses(app).values()).count("claimed") == 4
    assert len(fake.accepted) == 8
    app.close()


def test_status_command_prints_json(
    config_file: Path, tmp_path: Path, fake: FakeSendGrid, isolated: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = _app(db_url, config_file, tmp_path, fake, 3)
    _plan_with_claims(app, "elsewhere:1:x", NOW - timedelta(hours=1), 1)
    with pytest.raises(DigestError):
        send(app, "weekly")
    app.close()
    args = ["--config", str(config_file), "--database-url", db_url, "send"]
    result = CliRunner().invoke(cli, [*args, "status", "weekly", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {"sent": 2, "uncertain": 1}
    [row] = data["readers"]
    assert row["status"] == "uncertain" and row["claimed_by"] == "elsewhere:1:x"
    result = CliRunner().invoke(cli, [*args, "status", "weekly"])
    assert "--resend-uncertain" in result.output
    result = CliRunner().invoke(cli, [*args, "pause", "weekly"])
    assert result.exit_code == 0 and "paused" in result.output
    result = CliRunner().invoke(cli, [*args, "status", "weekly", "--json"])
    assert json.loads(result.output)["control"] == "paused"


def test_status_says_what_an_interrupted_send_needs_and_a_finished_one_is_done(
    config_file: Path, tmp_path: Path, fake: FakeSendGrid, isolated: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = _app(db_url, config_file, tmp_path, fake, 30)

    def interrupt(n: int) -> None:  # Ctrl-C after the first batch, as far as the loop knows
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send(app, "weekly", hooks=Hooks(progress=interrupt))
    args = ["--config", str(config_file), "--database-url", db_url, "send", "status", "weekly"]
    said = CliRunner().invoke(cli, args).output
    assert "edition 1 of weekly: sending; 30 deliveries" in said
    assert "20 not sent yet" in said and "`digest send weekly` resumes where it stopped" in said
    assert send(app, "weekly").counts == {"sent": 30}
    said = CliRunner().invoke(cli, args).output
    assert "edition 1 of weekly: sent; 30 deliveries" in said
    assert "not sent yet" not in said and "running" not in said
    app.close()


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception`."""


@pytest.mark.parametrize("seed", range(20))
def test_killed_at_random_points_never_doubles_or_loses_silently(
    seed: int,
    config_file: Path,
    tmp_path: Path,
    fake: FakeSendGrid,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(seed)
    app = _app(f"sqlite:///{tmp_path / 'kill.db'}", config_file, tmp_path, fake, 60)
    points = ["before request", "after request", "before record"]
    where, when = rng.choice(points), rng.randrange(1, 6)
    calls = {"post": 0, "mark": 0}
    post, mark = SendgridMailer._post, deliveries.mark

    def dying_post(self: SendgridMailer, edition: Any, items: Any) -> str:
        calls["post"] += 1
        if where == "before request" and calls["post"] == when:
            raise Killed
        answer = post(self, edition, items)
        if where == "after request" and calls["post"] == when:
            raise Killed  # the provider has it; the ledger does not know
        return answer

    def dying_mark(conn: Any, ids: Any, status: str, *args: Any, **kwargs: Any) -> None:
        if status == "sent":
            calls["mark"] += 1
            if where == "before record" and calls["mark"] == when:
                raise Killed
        mark(conn, ids, status, *args, **kwargs)

    monkeypatch.setattr(SendgridMailer, "_post", dying_post)
    monkeypatch.setattr(deliveries, "mark", dying_mark)
    with pytest.raises(Killed):
        send(app, "weekly")
    monkeypatch.setattr(SendgridMailer, "_post", post)
    monkeypatch.setattr(deliveries, "mark", mark)
    try:
        send(app, "weekly")  # the restart: resume
    except DigestError as exc:
        assert "uncertain" in exc.message
    statuses = _statuses(app)
    assert max(fake.accepted.values()) == 1  # nobody accepted twice
    for email, status in statuses.items():
        assert status in ("sent", "uncertain"), (email, status)
        if status == "sent":
            assert fake.accepted[email] == 1
    if where == "before request":
        # The dead worker's batch never left, but nobody can know that: listed, not sent.
        assert all(fake.accepted[e] == 0 for e, s in statuses.items() if s == "uncertain")
    app.close()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkill_of_a_real_send_process_then_resume(
    config_file: Path, tmp_path: Path, fake: FakeSendGrid, request: pytest.FixtureRequest, db: str
) -> None:
    fake.faults = Faults(rate_slow=1.0, slow_seconds=0.03)
    # On PostgreSQL more readers than the first planning step, so the ledger is planned in
    # steps while the child sends.
    readers, batch, kill_after = (400, 10, 50) if db == "sqlite" else (6000, 100, 300)
    db_url = (
        f"sqlite:///{tmp_path / 'sigkill.db'}"
        if db == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    app = _app(db_url, config_file, tmp_path, fake, readers, batch)
    # Approved ahead, so the child (on the real clock) sends this edition as it is.
    edition = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        transition(conn, edition.id, "approve", "editor", NOW)
    env = child_env(
        tmp_path / "home", config_file, db_url, fake, DIGEST_SEND__BATCH_SIZE=str(batch)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()", "send", "weekly"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while sum(fake.accepted.values()) < kill_after and time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the send ended early: {out.decode()} {err.decode()}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < sum(fake.accepted.values()) < readers
    try:
        send(app, "weekly")
    except DigestError as exc:
        assert "uncertain" in exc.message
    statuses = _statuses(app)
    assert len(statuses) == readers  # everyone planned, whatever step the kill came in
    assert max(fake.accepted.values()) == 1
    for email, status in statuses.items():
        assert status in ("sent", "uncertain")
        assert status == "uncertain" or fake.accepted[email] == 1
    app.close()
