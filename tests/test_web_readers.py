"""Readers' pages reached from an edition: preferences, leaving and rejoining, the archive's
footer, the page that emails a preferences link. In-process client, real outbox files."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.core.app import App
from digest.editions.lifecycle import transition
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from subscribers.models import Consent, Membership
from subscribers.ops import find_subscriber, suppress
from subscribers.store import add_subscriber
from subscribers.views import topics_of
from tests.conftest import NOW, write_article

BASE = "https://news.example.com"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app_for(app), base_url="https://testserver") as c:
        yield c


def create_app_for(app: App):  # type: ignore[no-untyped-def]
    from digest.web.server import create_web_app

    return create_web_app(app)


def _articles(app: App, folder: Path, day: int) -> None:
    """One transit and one housing article, ingested at the app's clock."""
    for name, tag, body in [
        ("tram", "transit", "The council approved two tram lines along the harbour front."),
        ("homes", "housing", "Four hundred homes are planned near the old mill by the river."),
    ]:
        write_article(
            folder, f"{name}{day}.md", title=f"{name.title()} news {day}", date="-1d",
            tags=[tag], body=body + f" Edition {day}.", url=f"https://x.example/{name}{day}",
        )  # fmt: skip
    ingest_path(app.engine, folder, app.clock())


def _send(app: App, tmp_path: Path, week: int) -> dict[str, EmailMessage]:
    """Week `week`'s edition (the clock moved on by that many weeks), sent to the outbox."""
    now = NOW + timedelta(days=7 * (week - 1))
    app.clock = lambda: now
    _articles(app, tmp_path / f"a{week}", week)
    draft = prepare_draft(app, "weekly", now)
    with app.engine.begin() as conn:
        transition(conn, draft.id, "approve", "t", now)
    send(app, "weekly", actor="test")
    out = {}
    for path in sorted((app.settings.outbox_dir / "weekly" / str(draft.number)).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out[str(msg["To"]).split("<")[-1].rstrip(">")] = msg
    return out


def _html(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def _link(msg: EmailMessage, label: str) -> str:
    found = re.search(rf'href="([^"]+)"[^>]*>{label}</a>', _html(msg))
    assert found, f"no {label!r} link"
    return found.group(1)


def test_choose_your_topics_opens_the_readers_preferences_and_unticking_takes_effect(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    with app.engine.begin() as conn:
        add_subscriber(conn, "nia@example.com", "weekly", NOW, name="Nia")
    first = _send(app, tmp_path, 1)["nia@example.com"]
    prefs = _link(first, "Choose your topics")
    unsubscribe = str(first["List-Unsubscribe"]).split(">")[0].lstrip("<")
    assert prefs.startswith(f"{BASE}/preferences/") and prefs != unsubscribe
    assert "/u/" in _link(first, "Unsubscribe")
    page = client.get(prefs.removeprefix(BASE))
    assert page.status_code == 200
    # Nothing stored means every topic: the page ticks them all and says so.
    ticked = re.findall(r'value="(\w+)" checked', page.text)
    assert ticked == ["transit", "housing"]
    assert "You get every topic, and any added later" in page.text
    saved = client.post(
        prefs.removeprefix(BASE), data={"name": "Nia", "topics:weekly": ["housing"]}
    )
    assert "Your choices are saved." in saved.text
    assert re.findall(r'value="(\w+)" checked', saved.text) == ["housing"]
    with app.engine.connect() as conn:
        assert topics_of(conn, find_subscriber(conn, "nia@example.com") or 0, "weekly") == [
            "housing"
        ]
    second = _send(app, tmp_path, 2)["nia@example.com"]
    assert "https://x.example/homes2" in _html(second)
    assert "https://x.example/tram2" not in _html(second)


def test_ticking_every_topic_is_all_and_ticking_none_is_refused(
    app: App, client: TestClient
) -> None:
    with app.engine.begin() as conn:
        sub_id, _ = add_subscriber(conn, "ola@example.com", "weekly", NOW)
    url = f"/preferences/{app.signer.preferences_token(sub_id, 'weekly')}"
    client.post(url, data={"topics:weekly": ["transit"]})
    client.post(url, data={"topics:weekly": ["transit", "housing"]})
    with app.engine.connect() as conn:
        assert topics_of(conn, sub_id, "weekly") == []  # all, including topics added later
    client.post(url, data={"topics:weekly": ["housing"]})
    refused = client.post(url, data={})
    assert "Tick at least one topic" in refused.text
    with app.engine.connect() as conn:
        assert topics_of(conn, sub_id, "weekly") == ["housing"]  # unchanged, not "everything"


def test_leaving_and_rejoining_from_the_preferences_page(app: App, client: TestClient) -> None:
    with app.engine.begin() as conn:
        sub_id, _ = add_subscriber(conn, "kai@example.com", "weekly", NOW)
    url = f"/preferences/{app.signer.preferences_token(sub_id, 'weekly')}"
    page = client.get(url)
    # Enter in the name field saves: leaving is a button of another form.
    assert re.search(r'form="leave-weekly" name="action" value="leave:weekly"', page.text)
    left = client.post(url, data={"action": "leave:weekly"})
    assert "You have left Example Weekly." in left.text and "Rejoin Example Weekly" in left.text
    client.post(url, data={"action": "rejoin:weekly"})
    with app.engine.connect() as conn:
        assert conn.execute(select(Membership.status)).scalar_one() == "active"
        methods = conn.execute(select(Consent.method, Consent.text)).all()
    assert ("preferences", "rejoined from the reader's own preferences link") in methods
    client.post(url, data={"action": "leave:weekly"})
    with app.engine.begin() as conn:
        suppress(conn, "kai@example.com", reason="asked by phone", source="test", now=NOW,
                 hasher=app.hasher)  # fmt: skip
    refused = client.post(url, data={"action": "rejoin:weekly"})
    assert "cannot be sent to again" in refused.text
    with app.engine.connect() as conn:
        assert conn.execute(select(Membership.status)).scalar_one() == "unsubscribed"
    assert client.get("/preferences/forged").status_code == 400
    other = app.signer.confirm_token(sub_id, "weekly")  # another kind of token
    assert client.get(f"/preferences/{other}").status_code == 400


def test_the_archive_page_has_generic_links_that_work(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    with app.engine.begin() as conn:
        add_subscriber(conn, "ria@example.com", "weekly", NOW)
    _send(app, tmp_path, 1)
    page = client.get("/archive/weekly/1")
    assert page.status_code == 200
    assert "subscribed to it with your email address." in page.text
    assert " as ." not in page.text
    unsub = re.search(r'href="([^"]+)"[^>]*>Unsubscribe</a>', page.text)
    topics = re.search(r'href="([^"]+)"[^>]*>Choose your topics</a>', page.text)
    assert unsub and topics and unsub.group(1) == topics.group(1) == f"{BASE}/manage/weekly"
    form = client.get("/manage/weekly")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token and "Manage your subscription to Example Weekly" in form.text
    for address in ("ria@example.com", "stranger@example.com"):
        done = client.post("/manage/weekly", data={"form_token": token.group(1), "email": address})
        assert done.status_code == 200 and "Check your inbox" in done.text
    [sent] = list((app.settings.outbox_dir / "preferences").rglob("*.eml"))  # members only
    msg = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert msg["To"] == "ria@example.com"
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(rf"{BASE}(/preferences/\S+)", body)
    assert link and "ria@example.com" in client.get(link.group(1)).text
    assert client.post("/manage/weekly", data={"email": "x@example.com"}).status_code == 403


def test_confirm_and_unsubscribe_pages_name_the_newsletter_by_its_title(
    app: App, client: TestClient
) -> None:
    with app.engine.begin() as conn:
        sub_id, _ = add_subscriber(conn, "ana@example.com", "weekly", NOW)
    confirm = client.get(f"/confirm/{app.signer.confirm_token(sub_id, 'weekly')}")
    assert "Confirm your subscription to Example Weekly" in confirm.text
    token = app.signer.unsubscribe_token(sub_id, "weekly", 1)
    assert "Unsubscribe from Example Weekly?" in client.get(f"/u/{token}").text
    done = client.post(f"/u/{token}", headers={"accept": "text/html"})
    assert "no more emails from Example Weekly" in done.text
    back = re.search(r'href="(/preferences/[^"]+)"', done.text)
    assert back and "Rejoin Example Weekly" in client.get(back.group(1)).text
