"""Several workers share one send on PostgreSQL: disjoint claims, everyone once, all did work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.core.app import App
from digest.core.errors import DigestError
from digest.core.models import Delivery
from digest.editions.lifecycle import transition
from digest.pipeline import SendReport, prepare_draft, work
from digest.store import deliveries
from subscribers.store import recipient_ids
from tests.conftest import NOW
from tests.fakes.sendgrid_api import FakeSendGrid, Faults
from tests.send_support import add_articles, add_readers, make_app, running_fake, sendgrid_settings


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with running_fake() as server:
        yield server


def _start(app: App) -> None:
    """What `digest send` does before sending: approve, start, plan."""
    edition = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        transition(conn, edition.id, "approve", "editor", NOW)
        transition(conn, edition.id, "start", "editor", NOW)
        deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW)


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_on_postgres_share_one_send(
    pg_url: str, config_file: Path, tmp_path: Path, fake: FakeSendGrid, workers: int
) -> None:
    fake.faults = Faults(rate_slow=1.0, slow_seconds=0.05)  # so nobody finishes alone
    settings = sendgrid_settings(fake, **{"send.batch_size": 25})
    apps = [make_app(pg_url, config_file, **settings) for _ in range(workers)]
    add_articles(apps[0], tmp_path / "arts")
    emails = add_readers(apps[0], 1000)
    _start(apps[0])
    reports: list[SendReport] = []
    errors: list[BaseException] = []

    def run(app: App) -> None:
        try:
            reports.append(work(app, "weekly"))
        except (DigestError, Exception) as exc:  # collected and asserted below
            errors.append(exc)

    for app in apps:
        app.engine.connect().close()  # opened (and schema checked) before the race starts
    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(fake.accepted) == set(emails)
    assert set(fake.accepted.values()) == {1}  # no recipient accepted twice
    assert all(r.summary.counts["sent"] > 0 for r in reports)  # every worker did work
    assert sum(r.summary.counts["sent"] for r in reports) == 1000
    with apps[0].engine.connect() as conn:
        owners = conn.execute(select(func.count(func.distinct(Delivery.claimed_by)))).scalar()
        assert owners == workers
        assert conn.execute(select(Delivery.status).distinct()).scalars().all() == ["sent"]
    for app in apps:
        app.close()
