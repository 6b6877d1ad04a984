"""Sending through faults, with the official client against the SendGrid imitation.

Lost answers are listed uncertain and never resent on their own; a provider that cannot be
reached is waited for (on a clock that moves only when the send waits) and everyone is sent
once; past send.retry_window the edition fails and every reader is listed; readers who leave
while the send waits are not sent to; counts and progress never count a reader twice.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from digest.cli import cli
from digest.core.app import App
from digest.core.models import Delivery, Edition
from digest.pipeline import prepare_draft, send
from digest.sending.endings import SendFailed, SendUncertain
from digest.sending.loop import Hooks
from digest.store import claims, deliveries, delivery_lists, editions
from subscribers.ops import unsubscribe
from subscribers.store import lookup, recipient_ids
from subscribers.suppression import suppress
from tests.conftest import NOW
from tests.fakes.sendgrid_api import FakeSendGrid
from tests.send_support import (
    API_KEY,
    ClockStop,
    FakeClock,
    add_articles,
    add_readers,
    make_app,
    sendgrid_settings,
)

# The defaults, for tests on the fake clock (sendgrid_settings makes them milliseconds).
REAL_DELAYS = {"send.retry_delay": "30s", "send.retry_max_delay": "30m"}


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    server = FakeSendGrid(api_key=API_KEY, keep_bodies=False)
    server.start()
    yield server
    server.stop()


def _app(db_url: str, config_file: Path, fake: FakeSendGrid, **more: Any) -> App:
    settings = sendgrid_settings(fake, **{"send.batch_size": 10, "sendgrid.timeout": 1, **more})
    return make_app(db_url, config_file, **settings)


def _statuses(app: App) -> Counter[str]:
    with app.engine.connect() as conn:
        return Counter(conn.execute(select(Delivery.status)).scalars())


def _cli(db_url: str, config_file: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--config", str(config_file), "--database-url", db_url, "send", *args]
    )


@pytest.mark.parametrize("lost", ["accept_drop", "accept_timeout", "truncated"])
def test_a_lost_answer_is_uncertain_never_a_silent_double(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid, lost: str
) -> None:
    fake.faults.hang_seconds = 1.5  # past sendgrid.timeout
    fake.script = [202, lost, 202, lost]  # the 2nd and 4th requests lose their answers
    app = _app(db_url, config_file, fake)
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 50)
    with pytest.raises(SendUncertain, match="20 deliveries are uncertain"):
        send(app, "weekly")
    # SendGrid took everyone once; nobody was sent again on a guess.
    assert fake.accepted == Counter(emails)
    assert _statuses(app) == {"sent": 30, "uncertain": 20}
    result = _cli(db_url, config_file, "status", "weekly", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["readers"]
    assert len(listed) == 20 and {r["status"] for r in listed} == {"uncertain"}
    assert all("answer was lost" in r["error"] for r in listed)
    uncertain = {r["email"] for r in listed}
    # The operator decides to resend: those readers get exactly one more copy, nobody else.
    report = send(app, "weekly", resend_uncertain=True)
    assert report.counts == {"sent": 50}
    assert fake.accepted == Counter(emails) + Counter(uncertain)
    with app.engine.connect() as conn:
        assert editions.get_edition(conn, "weekly", 1).status == "sent"
    app.close()


def test_the_operator_may_leave_uncertain_readers_as_they_are(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    """`digest send settle`: never resent, listed as unconfirmed, and the edition finishes."""
    fake.script = [202, "accept_drop"]
    app = _app(db_url, config_file, fake)
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 20)
    with pytest.raises(SendUncertain, match="send settle weekly"):
        send(app, "weekly")
    settled = _cli(db_url, config_file, "settle", "weekly")
    assert settled.exit_code == 0, settled.output
    assert "10 uncertain deliveries left as they are" in settled.output
    report = send(app, "weekly")
    assert fake.accepted == Counter(emails)  # the ten were not sent again
    assert report.counts == {"sent": 10, "unconfirmed": 10}
    with app.engine.connect() as conn:
        assert editions.get_edition(conn, "weekly", 1).status == "sent"
    listed = json.loads(_cli(db_url, config_file, "status", "weekly", "--json").output)
    assert {r["status"] for r in listed["readers"]} == {"unconfirmed"}
    assert len(listed["readers"]) == 10
    app.close()


def _blackhole() -> tuple[socket.socket, list[socket.socket]]:
    """A port whose accept queue is full: connecting to it times out (SYNs are dropped)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = socket.create_connection(listener.getsockname())
    return listener, [held]


@pytest.mark.parametrize("down", ["refused", "connect_timeout", "503", "429"])
def test_a_request_that_never_landed_is_retried_and_everyone_gets_one(
    db_url: str, config_file: Path, tmp_path: Path, down: str
) -> None:
    clock = FakeClock()
    fake = FakeSendGrid(api_key=API_KEY, keep_bodies=False)
    hole: tuple[socket.socket, list[socket.socket]] | None = None
    if down == "connect_timeout":
        hole = _blackhole()
        port = hole[0].getsockname()[1]
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    if down in ("503", "429"):
        fake.script = [int(down)] * 3
        fake.start(port)
    settings = sendgrid_settings(fake) if fake.server else {"provider": "sendgrid"}
    settings.update(
        {
            "sendgrid.host": f"http://127.0.0.1:{port}",
            "sendgrid.api_key": fake.api_key,
            # Short only where the test waits on it (a connect that never completes); elsewhere
            # a slow machine must not turn a late answer into a lost one.
            "sendgrid.timeout": 1.0 if down == "connect_timeout" else 10.0,
            "send.batch_size": 10,
        }
    )
    app = make_app(db_url, config_file, clock=clock, **settings)
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 30)
    said: list[str] = []

    def say(text: str) -> None:
        said.append(text)
        if len(said) == 3 and fake.server is None:  # the provider comes back
            if hole is not None:
                hole[0].close()
                for s in hole[1]:
                    s.close()
            fake.start(port)

    try:
        report = send(app, "weekly", hooks=Hooks(stop=ClockStop(clock), say=say))
        assert report.counts == {"sent": 30}
        assert fake.accepted == Counter(emails)  # everyone exactly once
        assert report.summary.counts["retried"] == 3
        assert len(said) == 3 and all("trying again in" in line for line in said)
    finally:
        fake.stop()
        app.close()


def test_an_outage_of_hours_is_waited_out(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    clock = FakeClock()
    port = int(fake.url.rsplit(":", 1)[1])
    app = make_app(db_url, config_file, clock=clock, **sendgrid_settings(fake, **REAL_DELAYS))
    fake.stop()  # down for five hours, far past the old retry budget of about a minute
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 25)
    back = [False]

    def say(text: str) -> None:
        if clock.waited >= 5 * 3600 and not back[0]:
            back[0] = True
            fake.start(port)

    report = send(app, "weekly", hooks=Hooks(stop=ClockStop(clock), say=say))
    assert report.counts == {"sent": 25}
    assert fake.accepted == Counter(emails)
    # Five hours of outage, waited in delays that doubled up to send.retry_max_delay (30 min);
    # it is back during the last wait, or the one before.
    assert 5 * 3600 <= clock.waited <= 5 * 3600 + 2 * 30 * 60
    app.close()


def test_past_the_retry_window_the_edition_fails_and_every_reader_is_listed(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    clock = FakeClock()
    port = int(fake.url.rsplit(":", 1)[1])
    app = make_app(
        db_url,
        config_file,
        clock=clock,
        **sendgrid_settings(fake, **REAL_DELAYS, **{"send.retry_window": "6h"}),
    )
    fake.stop()  # and not back before the window runs out
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 40)
    with pytest.raises(SendFailed, match="40 readers were not sent") as info:
        send(app, "weekly", hooks=Hooks(stop=ClockStop(clock)))
    assert "SendGrid unreachable" in info.value.message
    with app.engine.connect() as conn:
        assert editions.get_edition(conn, "weekly", 1).status == "failed"
    result = _cli(db_url, config_file, "status", "weekly", "--json")
    listed = json.loads(result.output)["readers"]
    assert sorted(r["email"] for r in listed) == sorted(emails)
    assert {r["status"] for r in listed} == {"failed"}
    app.close()
    # Through the CLI (real clock, a one-second window): it tries again, fails again, and
    # exits non-zero with one line that names what to do.
    env = {
        "DIGEST_PROVIDER": "sendgrid",
        "DIGEST_SENDGRID__HOST": f"http://127.0.0.1:{port}",
        "DIGEST_SENDGRID__API_KEY": API_KEY,
        "DIGEST_SEND__RETRY_DELAY": "1s",
        "DIGEST_SEND__RETRY_WINDOW": "1s",
    }
    result = CliRunner(env=env).invoke(
        cli, ["--config", str(config_file), "--database-url", db_url, "send", "weekly"]
    )
    assert result.exit_code == 1
    assert "is marked failed: 40 readers were not sent" in result.output
    assert "digest send status weekly" in result.output
    # Once the provider is back, running the send again sends each of them once.
    fake.start(port)
    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    report = send(app, "weekly")
    assert report.counts == {"sent": 40}
    assert fake.accepted == Counter(emails)
    app.close()


def _leave(app: App, email: str, how: str) -> None:
    with app.engine.begin() as conn:
        if how == "unsubscribe":
            sid = lookup(conn, email)
            assert sid is not None
            assert unsubscribe(conn, sid, "weekly", source="cli", now=NOW)
        else:
            suppress(
                conn, f"@{email.rpartition('@')[2]}", reason="complaint", source="cli", now=NOW
            )


@pytest.mark.parametrize("wait", ["rate limit", "429"])
def test_readers_who_leave_while_the_send_waits_are_not_sent(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid, wait: str
) -> None:
    more = {"send.rate_limit": 10.0} if wait == "rate limit" else {}
    app = _app(db_url, config_file, fake, **more)
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, 20)
    leavers = add_readers(app, 3, domain="leaving.example", start=100)
    # Ordered so the leavers are in the second batch: one unsubscribes, a domain is suppressed.
    if wait == "429":
        fake.script = [202, 429]
    done: list[int] = []

    def after_batch(n: int) -> None:
        done.append(n)
        if len(done) == 1:  # the first batch is recorded; the send now waits for the second
            _leave(app, emails[15], "unsubscribe")
            _leave(app, leavers[0], "suppress")

    said: list[str] = []
    report = send(app, "weekly", hooks=Hooks(progress=after_batch, say=said.append))
    gone = {emails[15], *leavers}
    assert set(fake.accepted) == set(emails + leavers) - gone
    assert report.counts == {"sent": 19, "skipped": 4}
    with app.engine.connect() as conn:
        skipped = list(delivery_lists.listed(conn, 1, ["skipped"]))
    assert {s.email for s in skipped} == gone
    assert {s.error for s in skipped} == {"left the list (unsubscribed, suppressed or erased)"}
    if wait == "429":
        assert said and "SendGrid 429" in said[0]
    else:
        assert report.summary.elapsed >= 0.9  # the second batch did wait for its tokens
    app.close()


def test_five_thousand_uncertain_are_all_listed(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    app = _app(db_url, config_file, fake)
    add_articles(app, tmp_path / "arts")
    add_readers(app, 5000)
    edition = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        # A worker elsewhere claimed them all two hours ago and was never heard from again.
        deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW)
        claims.claim(conn, edition.id, "elsewhere:1:gone", 5000, NOW - timedelta(hours=2))
        conn.execute(update(Edition).where(Edition.id == edition.id).values(status="sending"))
    with pytest.raises(SendUncertain, match="5000 deliveries are uncertain"):
        send(app, "weekly")
    app.close()
    data = json.loads(_cli(db_url, config_file, "status", "weekly", "--json").output)
    assert len(data["readers"]) == 5000
    assert len({r["email"] for r in data["readers"]}) == 5000
    text = _cli(db_url, config_file, "status", "weekly", "--only", "uncertain").output
    assert sum(1 for line in text.splitlines() if "\tuncertain\t" in line) == 5000
    assert not fake.accepted  # none of them was sent on a guess


def test_progress_has_a_real_total_and_counts_each_reader_once(
    db_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid
) -> None:
    fake.script = [503, 202, 429, 202, 503]
    app = _app(db_url, config_file, fake)
    add_articles(app, tmp_path / "arts")
    add_readers(app, 95)
    total, done = [0], [0]

    def more(n: int) -> None:
        total[0] += n

    def progress(n: int) -> None:
        done[0] += n

    report = send(app, "weekly", hooks=Hooks(progress=progress, more=more))
    assert total[0] == 95 and done[0] == 95
    assert report.summary.counts["sent"] == 95 and report.summary.counts["retried"] == 3
    app.close()


def test_the_rate_limit_is_spent_only_on_messages_that_go() -> None:
    from digest.sending.throttle import TokenBucket

    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(10.0, burst=100, clock=lambda: clock[0], sleep=sleep)
    bucket.take(100)  # a batch reserved before its claim...
    bucket.put_back(100)  # ...that found nobody to send (planning not done yet)
    bucket.take(100)
    assert slept == []  # the empty look cost nothing
    bucket.take(50)
    assert slept == [5.0]  # 50 messages at 10/s
