"""The desk runs an edition from nothing to sent without a terminal: build, approve, see when it
goes out, send now (confirmed) and follow the progress; cancelling asks first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.core.app import App
from digest.core.models import Edition
from digest.ingest.service import ingest_path
from digest.web import sending
from digest.web.server import create_web_app
from subscribers.store import add_subscriber
from tests.conftest import NOW, write_article
from tests.webkit import make_user, sign_in


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def _articles(app: App, folder: Path) -> None:
    bodies = {
        "transit": "The council approved two tram lines along the harbour front.",
        "housing": "Four hundred homes are planned near the old mill by the river.",
    }
    for i, (title, tag) in enumerate([("Trams approved", "transit"), ("New homes", "housing")]):
        write_article(
            folder, f"{i}.md", title=title, date="-1d", tags=[tag], body=bodies[tag],
            url=f"https://x.example/{i}",
        )  # fmt: skip
    ingest_path(app.engine, folder, NOW)


def _status(app: App) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(select(Edition.status)).scalar_one())


def test_an_editor_takes_an_edition_from_nothing_to_sent(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    desk = client.get("/desk").text
    assert "No editions yet" in desk and "Build a draft now" in desk
    # Nothing in the window: the desk says why instead of failing.
    empty = client.post("/desk/newsletters/weekly/draft", data={"csrf": csrf})
    assert empty.status_code == 409 and "nothing new for weekly" in empty.text
    _articles(app, tmp_path / "a")
    with app.engine.begin() as conn:
        for i in range(3):
            add_subscriber(conn, f"r{i}@example.com", "weekly", NOW)
    built = client.post("/desk/newsletters/weekly/draft", data={"csrf": csrf})
    assert built.status_code == 200 and "Trams approved" in built.text
    edition_url = str(built.url).removeprefix("https://testserver")
    # The preview shows the inbox line: sender, subject and preheader.
    inbox = re.search(r'<div class="inbox".*?</div>', built.text, re.S)
    assert inbox and "Example Weekly" in inbox.group(0)
    assert "inbox-subject" in inbox.group(0) and "inbox-preheader" in inbox.group(0)
    assert "Open #1 (draft)" in client.get("/desk").text
    # Each story lists the articles it holds, with their sources.
    assert "1 article in this story" in built.text and ": Trams approved</li>" in built.text
    client.post(f"{edition_url}/action", data={"csrf": csrf, "action": "approve"})
    page = client.get(edition_url).text
    # No send schedule in the test config: the page says nothing will send it by itself.
    assert "nothing sends it by itself" in page and "Send now" in page
    assert "+00:00" not in page and re.search(r"\(just now\)", page)
    ask = client.get(f"{edition_url}/confirm/send")
    assert "Send this edition now?" in ask.text and "Yes, send it now" in ask.text
    assert _status(app) == "approved"  # asking changed nothing
    assert client.post(f"{edition_url}/send", data={}).status_code == 403  # CSRF checked
    client.post(f"{edition_url}/send", data={"csrf": csrf})
    sending.wait("weekly", timeout=60)
    assert _status(app) == "sent"
    done = client.get(edition_url).text
    assert "3 of 3 readers done (100%)" in done and "Sent Mon 23 Nov 2026" in done
    assert len(list((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))) == 3
    assert '<td class="status">sent</td>' in client.get("/desk").text


def test_cancel_asks_first_and_says_who_already_got_it(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    _articles(app, tmp_path / "a")
    built = client.post("/desk/newsletters/weekly/draft", data={"csrf": csrf})
    edition_url = str(built.url).removeprefix("https://testserver")
    assert f'href="{edition_url}/confirm/cancel"' in built.text  # a link, not a button
    ask = client.get(f"{edition_url}/confirm/cancel")
    assert "Cancel this edition?" in ask.text and "Yes, cancel it" in ask.text
    assert _status(app) == "draft"
    client.post(f"{edition_url}/action", data={"csrf": csrf, "action": "cancel"})
    assert _status(app) == "cancelled"
    assert client.get(f"{edition_url}/confirm/delete").status_code == 404
    client.post(f"{edition_url}/send", data={"csrf": csrf})
    assert _status(app) == "cancelled"  # only approved editions are sent
