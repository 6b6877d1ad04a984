"""The edition's lifecycle: allowed moves, refused moves, and the record of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.core.app import App
from digest.editions.lifecycle import LifecycleError, Status, allowed_actions, history, transition
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from subscribers.store import add_subscriber
from tests.conftest import FIXTURES, NOW


@pytest.fixture
def draft_id(app: App) -> int:
    ingest_path(app.engine, FIXTURES / "articles", NOW)
    return prepare_draft(app, "weekly", NOW).id


def test_approve_reopen_cancel_are_recorded(app: App, draft_id: int) -> None:
    with app.engine.begin() as conn:
        assert transition(conn, draft_id, "approve", "ed", NOW, "looks good") == Status.APPROVED
        assert transition(conn, draft_id, "reopen", "ed", NOW, "typo") == Status.DRAFT
        assert transition(conn, draft_id, "cancel", "boss", NOW) == Status.CANCELLED
        events = history(conn, draft_id)
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        ("draft", "approved", "ed"), ("approved", "draft", "ed"), ("draft", "cancelled", "boss"),
    ]  # fmt: skip
    assert events[0].reason == "looks good"


def test_refused_moves_say_what_is_allowed(app: App, draft_id: int) -> None:
    with app.engine.begin() as conn, pytest.raises(LifecycleError) as err:
        transition(conn, draft_id, "reopen", "ed", NOW)
    assert "is draft: cannot reopen" in err.value.message
    assert "approve" in (err.value.hint or "") and "cancel" in (err.value.hint or "")


def test_no_second_send_of_a_sent_edition(app: App, draft_id: int) -> None:
    with app.engine.begin() as conn:
        add_subscriber(conn, "a@example.com", "weekly", NOW)
    send(app, "weekly")
    with app.engine.begin() as conn:
        for action in ("start", "approve", "cancel", "retry"):
            with pytest.raises(LifecycleError):
                transition(conn, draft_id, action, "x", NOW)


def test_required_approval_blocks_a_draft(app: App, draft_id: int, config_file: Path) -> None:
    from digest.settings.loading import load_settings

    settings = load_settings(
        config_file,
        overrides={"database_url": app.settings.db_url, "newsletters": {"weekly": {
            "title": "Example Weekly", "tags": ["transit", "housing"], "approval": "required"}}},
    )  # fmt: skip
    strict = App(settings, clock=lambda: NOW)
    with pytest.raises(LifecycleError, match="awaiting approval"):
        send(strict, "weekly")
    with strict.engine.begin() as conn:
        transition(conn, draft_id, "approve", "ed", NOW)
    assert send(strict, "weekly").edition.id == draft_id
    strict.close()


def test_allowed_actions() -> None:
    assert allowed_actions("approved") == ["reopen", "start", "cancel"]
    assert allowed_actions("sent") == []
