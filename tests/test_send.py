"""Sending to the outbox through the ledger: once per subscriber, resumable."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from digest.core.app import App
from digest.core.errors import NothingToSend
from digest.core.models import Delivery, Edition
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from digest.store import claims, deliveries
from subscribers.models import Membership
from subscribers.store import add_subscriber
from subscribers.suppression import suppress
from tests.conftest import NOW, write_article


@pytest.fixture
def ready(app: App, tmp_path: Path) -> App:
    folder = tmp_path / "arts"
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
    with app.engine.begin() as conn:
        for i in range(7):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", NOW, name=f"Reader {i}")
    return app


def _outbox(app: App) -> list[Path]:
    return sorted((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))


def test_send_writes_one_email_per_subscriber_and_marks_sent(ready: App) -> None:
    report = send(ready, "weekly")
    assert report.counts == {"sent": 7}
    files = _outbox(ready)
    assert len(files) == 7
    recipients = {
        email.message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
        for f in files
    }
    assert recipients == {f"reader{i}@example.com" for i in range(7)}
    with ready.engine.connect() as conn:
        assert conn.execute(select(Edition.status)).scalar_one() == "sent"
    # The articles are now history: nothing new to send.
    with pytest.raises(NothingToSend):
        send(ready, "weekly")


def test_unsubscribe_links_are_per_recipient(ready: App) -> None:
    send(ready, "weekly")
    links = set()
    for f in _outbox(ready):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        url = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert url in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        sub, list_name, _ = ready.signer.read_unsubscribe(url.rsplit("/", 1)[1])
        assert list_name == "weekly"
        links.add(sub)
    assert len(links) == 7


def test_interrupted_send_resumes_without_doubles(ready: App) -> None:
    edition = prepare_draft(ready, "weekly", NOW)
    with ready.engine.begin() as conn:
        from subscribers.store import recipient_ids

        deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW)
        # A worker died an hour ago (its lease ran out) after claiming three rows.
        claimed = claims.claim(conn, edition.id, "dead-worker", 3, NOW - timedelta(hours=1))
        conn.execute(update(Edition).where(Edition.id == edition.id).values(status="sending"))
    assert len(claimed) == 3
    report = send(ready, "weekly")
    assert report.summary.recovered == 3  # outbox rewrites are harmless, so they are redone
    assert report.counts == {"sent": 7}
    assert len(_outbox(ready)) == 7
    with ready.engine.connect() as conn:
        attempts = dict(conn.execute(select(Delivery.subscriber_id, Delivery.attempts)).all())
    assert sorted(attempts.values()) == [1, 1, 1, 1, 2, 2, 2]


def test_who_left_after_planning_is_not_sent_to(ready: App) -> None:
    edition = prepare_draft(ready, "weekly", NOW)
    with ready.engine.begin() as conn:
        from subscribers.store import recipient_ids

        deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW)
        conn.execute(
            update(Membership).where(Membership.subscriber_id == 1).values(status="unsubscribed")
        )
    report = send(ready, "weekly")
    assert report.counts == {"sent": 6, "skipped": 1}


def test_suppressed_after_planning_is_not_sent_to(ready: App, tmp_path: Path) -> None:
    """An address, and a whole domain, suppressed between planning and sending."""
    with ready.engine.begin() as conn:
        add_subscriber(conn, "ann@trap.example", "weekly", NOW)
        add_subscriber(conn, "bob@trap.example", "weekly", NOW)
    edition = prepare_draft(ready, "weekly", NOW)
    with ready.engine.begin() as conn:
        from subscribers.store import recipient_ids

        assert deliveries.plan(conn, edition.id, recipient_ids("weekly"), NOW) == 9
        suppress(conn, "Reader3@Example.com", reason="asked", source="cli", now=NOW)
        suppress(conn, "@trap.example", reason="spam trap", source="cli", now=NOW)
    report = send(ready, "weekly")
    assert report.counts == {"sent": 6, "skipped": 3}
    sent_to = {email.message_from_bytes(f.read_bytes())["To"] for f in _outbox(ready)}
    assert not any("reader3@" in to or "trap.example" in to for to in sent_to)
    with ready.engine.connect() as conn:
        errors = set(
            conn.execute(select(Delivery.error).where(Delivery.status == "skipped")).scalars()
        )
    assert errors == {"left the list (unsubscribed, suppressed or erased)"}


def test_nothing_to_send_without_articles(app: App) -> None:
    with pytest.raises(NothingToSend, match="ingest articles first"):
        send(app, "weekly")


def test_readers_with_topics_get_only_their_sections(ready: App) -> None:
    """Topic preferences: the housing reader's copy has no transit story; nobody gets an
    empty copy, and the others get the whole edition."""
    from subscribers.ops import find_subscriber, set_topics

    with ready.engine.begin() as conn:
        set_topics(conn, find_subscriber(conn, "reader1@example.com") or 0, "weekly", ["housing"],
                   now=NOW)  # fmt: skip
        set_topics(conn, find_subscriber(conn, "reader2@example.com") or 0, "weekly", ["sports"],
                   now=NOW)  # fmt: skip
    report = send(ready, "weekly")
    assert report.counts == {"sent": 6}  # reader2's only topic is not in this edition
    texts = {}
    for path in _outbox(ready):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        texts[str(msg["To"]).split("<")[-1].rstrip(">")] = (
            msg.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
            html,
        )
    assert "reader2@example.com" not in texts
    text, html = texts["reader1@example.com"]
    # The subject is the edition's own (the editor approved it); the stories are theirs only.
    assert "https://x.example/b" in text and "https://x.example/b" in html
    assert "https://x.example/a" not in text and "https://x.example/a" not in html
    for address in ("reader0@example.com", "reader3@example.com"):
        text, html = texts[address]
        assert "https://x.example/a" in text and "https://x.example/b" in html
