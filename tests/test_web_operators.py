"""Operators act on a reader from their page, and the audit log says what changed, before and
after, in words a person reads."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.core.app import App
from digest.web.server import create_web_app
from subscribers.models import Consent, Membership, Subscriber
from subscribers.store import add_subscriber
from subscribers.suppression import is_suppressed
from tests.conftest import NOW
from tests.test_web_pages import draft  # noqa: F401  (fixture: a draft of three stories)
from tests.webkit import make_user, sign_in


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def _status(app: App, sub_id: int) -> str:
    with app.engine.connect() as conn:
        return str(
            conn.execute(
                select(Membership.status).where(Membership.subscriber_id == sub_id)
            ).scalar_one()
        )


def test_an_operator_unsubscribes_resubscribes_suppresses_and_erases(
    app: App, client: TestClient
) -> None:
    with app.engine.begin() as conn:
        sub_id, _ = add_subscriber(conn, "lea@example.com", "weekly", NOW, name="Lea")
    make_user(app, "otto", "operator")
    csrf = sign_in(client, "otto")
    found = client.get("/ops", params={"q": "lea"}).text
    assert "lea@example.com" in found and "weekly: active" in found
    url = f"/ops/subscribers/{sub_id}/action"
    assert client.post(url, data={"action": "unsubscribe", "list": "weekly"}).status_code == 403
    done = client.post(url, data={"csrf": csrf, "action": "unsubscribe", "list": "weekly"})
    assert "Done: unsubscribed." in done.text and _status(app, sub_id) == "unsubscribed"
    refused = client.post(url, data={"csrf": csrf, "action": "resubscribe", "list": "weekly"})
    assert refused.status_code == 400 and "needs a new consent record" in refused.text
    client.post(url, data={"csrf": csrf, "action": "resubscribe", "list": "weekly",
                           "consent": "asked by email on 2 December"})  # fmt: skip
    assert _status(app, sub_id) == "active"
    with app.engine.connect() as conn:
        texts = conn.execute(select(Consent.method, Consent.text)).all()
    assert ("operator", "asked by email on 2 December") in texts
    client.post(url, data={"csrf": csrf, "action": "suppress", "reason": "asked by phone"})
    with app.engine.connect() as conn:
        assert is_suppressed(conn, "lea@example.com", hasher=app.hasher)
    assert "suppressed</strong>" in client.get(f"/ops/subscribers/{sub_id}").text
    wrong = client.post(url, data={"csrf": csrf, "action": "erase", "confirm": "lea@"})
    assert wrong.status_code == 400 and "type the address" in wrong.text
    erased = client.post(url, data={"csrf": csrf, "action": "erase", "confirm": "LEA@example.com"})
    assert "Erased" in erased.text
    with app.engine.connect() as conn:
        assert conn.execute(select(Subscriber.email)).scalar_one().endswith("@erased.invalid")
    audit = client.get("/ops/audit").text
    for line in (
        "unsubscribed</td><td>subscriber", "weekly: active → unsubscribed",
        "weekly: unsubscribed → active", "lea@example.com: not suppressed → suppressed",
        "erased (personal data deleted; memberships were weekly active)",
    ):  # fmt: skip
        assert line in audit, line
    assert client.post("/ops/subscribers/999/action", data={"csrf": csrf, "action": "suppress"}
                       ).status_code == 404  # fmt: skip


def test_desk_edits_are_audited_by_headline_with_before_and_after(
    app: App,
    client: TestClient,
    draft: object,  # noqa: F811
) -> None:
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    page = client.get("/desk")
    edition = re.search(r'href="(/desk/editions/\d+)"', page.text)
    assert edition
    client.post(
        f"{edition.group(1)}/edit", data={"csrf": csrf, "op": "down", "sec": "0", "idx": "0"}
    )
    client.post(f"{edition.group(1)}/edit", data={
        "csrf": csrf, "op": "story", "sec": "0", "idx": "0", "headline": "Buses first",
        "summary": "Shorter.",
    })  # fmt: skip
    make_user(app, "otto", "operator")
    sign_in(client, "otto")
    audit = client.get("/ops/audit").text
    assert "moved a story down" in audit and "in Transit: place 1 → 2" in audit
    assert "headline “Bus lanes" in audit and "→ “Buses first”" in audit
    assert "sec=" not in audit and "idx=" not in audit
