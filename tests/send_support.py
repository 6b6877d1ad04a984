"""What the sending tests share: a fake SendGrid, an app that uses it, subscribers in bulk."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from digest.core.app import App, create_app
from digest.ingest.service import ingest_path
from digest.sending.stopping import Stop
from digest.settings.loading import load_settings
from subscribers.models import Membership, Subscriber
from tests.conftest import NOW, write_article
from tests.fakes.sendgrid_api import FakeSendGrid

API_KEY = "SG.test-key"


@contextmanager
def running_fake() -> Iterator[FakeSendGrid]:
    """A fake SendGrid v3 server on a local port (test modules wrap it in a fixture)."""
    server = FakeSendGrid(api_key=API_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_app(
    db_url: str,
    config_file: Path,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> App:
    """An app on `db_url` with the fixed clock (or `clock`) and these settings overridden."""
    settings = load_settings(config_file, overrides={"database_url": db_url, **overrides})
    return create_app(settings, clock=clock or (lambda: NOW))


def child_env(
    home: Path, config_file: Path, db_url: str, fake: FakeSendGrid | None = None, **more: str
) -> dict[str, str]:
    """The environment of a real `digest` child process: sends through the fake, if given
    (else the config's provider, the outbox by default).

    No DIGEST_* variable leaks in from the machine; `more` adds DIGEST_* settings.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")},
        "DIGEST_HOME": str(home),
        "DIGEST_CONFIG": str(config_file),
        "DIGEST_DATABASE_URL": db_url,
    }
    if fake is not None:
        env |= {
            "DIGEST_PROVIDER": "sendgrid",
            "DIGEST_SENDGRID__HOST": fake.url,
            "DIGEST_SENDGRID__API_KEY": API_KEY,
        }
    return env | more


class FakeClock:
    """A clock that moves only when a send waits: hours of outage pass in milliseconds."""

    def __init__(self, start: datetime = NOW) -> None:
        self.at = start
        self.waited = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        """Move on by `seconds`."""
        with self._lock:
            self.at += timedelta(seconds=seconds)
            self.waited += seconds


class ClockStop(Stop):
    """A Stop whose waits move a FakeClock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, seconds: float) -> bool:
        """Advance the clock; True when a stop was asked for."""
        if not self.is_set():
            self.clock.advance(max(seconds, 0.0))
            time.sleep(0.0005)  # let other threads run
        return self.is_set()


def sendgrid_settings(fake: FakeSendGrid, **more: Any) -> dict[str, Any]:
    """Settings that point the sendgrid provider at the fake, with quick retries."""
    return {
        "provider": "sendgrid",
        "sendgrid.host": fake.url,
        "sendgrid.api_key": API_KEY,
        "send.retry_delay": 0.001,
        "send.retry_max_delay": 0.01,
        **more,
    }


def add_articles(app: App, folder: Path) -> None:
    """Two articles the test newsletter selects."""
    write_article(
        folder,
        "a.md",
        title="Trams approved",
        date="-1d",
        tags=["transit"],
        body="The council approved trams. It took years.",
        url="https://x.example/a",
    )
    write_article(
        folder,
        "b.md",
        title="New homes",
        date="-2d",
        tags=["housing"],
        body="Homes are coming. Many of them.",
        url="https://x.example/b",
    )
    ingest_path(app.engine, folder, NOW)


def add_readers(
    app: App, n: int, list_name: str = "weekly", domain: str = "example.com", start: int = 0
) -> list[str]:
    """n active subscribers in bulk (reader{start}@domain onwards); returns their addresses."""
    emails = [f"reader{i}@{domain}" for i in range(start, start + n)]
    with app.engine.begin() as conn:
        for start in range(0, n, 1000):
            chunk = emails[start : start + 1000]
            rows = [
                {
                    "email": e,
                    "email_key": e.lower(),
                    "domain": e.rpartition("@")[2],
                    "name": f"Reader {i + start}",
                    "attributes": {},
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i, e in enumerate(chunk)
            ]
            conn.execute(insert(Subscriber), rows)
        ids = list(
            conn.execute(select(Subscriber.id).where(Subscriber.email.in_(emails))).scalars()
        )
        conn.execute(
            insert(Membership),
            [
                {
                    "subscriber_id": i,
                    "list_name": list_name,
                    "status": "active",
                    "created_at": NOW,
                    "status_changed_at": NOW,
                }
                for i in ids
            ],
        )
    return emails
