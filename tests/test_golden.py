"""The demo-style edition's .eml against a golden file, volatile headers normalised.

Regenerate after an intended change of the look: DIGEST_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.core.app import App, create_app
from digest.ingest.service import ingest_path
from digest.pipeline import send
from digest.settings.loading import load_settings
from subscribers.store import add_subscriber
from tests.conftest import FIXTURES, NOW

GOLDEN = Path(__file__).parent / "golden"
# Read at import: the autouse fixture clears DIGEST_* variables before each test.
UPDATE = bool(os.environ.get("DIGEST_UPDATE_GOLDEN"))


def normalise(raw: str) -> str:
    """Blank out what changes from run to run: Date, Message-ID, MIME boundaries."""
    raw = re.sub(r"(?m)^Date: .*$", "Date: <date>", raw)
    raw = re.sub(r"(?m)^Message-ID: <[^@>]+@", "Message-ID: <id@", raw)
    for boundary in set(re.findall(r'boundary="([^"]+)"', raw)):
        raw = raw.replace(boundary, "BOUNDARY")
    return raw.replace("\r\n", "\n")


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.fixture
def sqlite_app(config_file: Path, isolated: Path) -> Iterator[App]:
    """One backend is enough for the look; sending itself is tested on both."""
    settings = load_settings(config_file, overrides={"database_url": f"sqlite:///{isolated}/g.db"})
    app = create_app(settings, clock=lambda: NOW)
    yield app
    app.close()


def test_golden_edition(sqlite_app: App) -> None:
    app = sqlite_app
    ingest_path(app.engine, FIXTURES / "articles", NOW)
    with app.engine.begin() as conn:
        add_subscriber(conn, "Golden.Reader@Example.COM", "weekly", NOW, name="Gold Reader")
    send(app, "weekly")
    [eml] = sorted((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))
    raw = eml.read_bytes()
    check("weekly-1.eml", normalise(raw.decode("ascii")))
    # The parts on their own, decoded, so a change to the look is a readable diff.
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text, html = (part.get_content() for part in msg.iter_parts())
    check("weekly-1.txt", text.replace("\r\n", "\n"))
    check("weekly-1.html", html.replace("\r\n", "\n"))
