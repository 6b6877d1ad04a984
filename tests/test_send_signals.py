"""SIGINT and SIGTERM to a real `digest send` process: it stops between batches, quickly.

Requests already with the provider are let finish; rows claimed but never handed over go back
to pending (not uncertain); the exit code is the shell's (130, 143); a resume then sends
everyone exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.core.models import Delivery
from digest.editions.lifecycle import transition
from digest.pipeline import prepare_draft, send
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
        server.keep_bodies = False
        yield server


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_send_cleanly_and_a_resume_sends_everyone_once(
    db_url: str,
    config_file: Path,
    tmp_path: Path,
    fake: FakeSendGrid,
    sig: signal.Signals,
    concurrency: int,
) -> None:
    # Slow answers, so that the send is still going when the signal comes.
    fake.faults = Faults(rate_slow=1.0, slow_seconds=0.05)
    readers, batch = 600, 10
    app = make_app(db_url, config_file, **sendgrid_settings(fake))
    add_articles(app, tmp_path / "arts")
    emails = add_readers(app, readers)
    edition = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        transition(conn, edition.id, "approve", "editor", NOW)
    env = child_env(
        tmp_path / "home",
        config_file,
        db_url,
        fake,
        DIGEST_SEND__BATCH_SIZE=str(batch),
        DIGEST_SEND__CONCURRENCY=str(concurrency),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()", "send", "weekly"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while sum(fake.accepted.values()) < 50 and time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the send ended early: {out.decode()} {err.decode()}")
        time.sleep(0.01)
    signalled = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - signalled
    assert took < 2.0, f"took {took:.1f} s to stop"
    assert proc.returncode == 128 + sig, err.decode()
    assert "was stopped" in err.decode() and "resumes it" in err.decode()
    sent_before = sum(fake.accepted.values())
    assert 0 < sent_before < readers
    with app.engine.connect() as conn:
        statuses = Counter(conn.execute(select(Delivery.status)).scalars())
    # Nothing left claimed or uncertain: what was never handed over went back to pending.
    assert set(statuses) == {"sent", "pending"}, statuses
    assert statuses["sent"] == sent_before
    report = send(app, "weekly")
    assert report.counts == {"sent": readers}
    assert fake.accepted == Counter(emails)  # everyone exactly once
    app.close()
