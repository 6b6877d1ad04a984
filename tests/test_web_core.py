"""The web app's accounts, sessions, CSRF, audit log, one-click unsubscribe and webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from digest.core.app import App, create_app
from digest.settings.loading import load_settings
from digest.web.accounts import AccountError, add_user
from digest.web.models import AuditEntry, ProviderEvent, WebUser
from digest.web.server import create_web_app
from subscribers.models import Membership
from subscribers.store import add_subscriber
from subscribers.suppression import is_suppressed
from tests.conftest import NOW
from tests.webkit import PASSWORD, SendGridSigner, body, make_user, sign_in


@pytest.fixture
def signer() -> SendGridSigner:
    """A fresh ECDSA key pair for the webhook."""
    return SendGridSigner()


@pytest.fixture
def webapp(db_url: str, config_file: Path, signer: SendGridSigner) -> Iterator[App]:
    """Services with the webhook's public key set."""
    settings = load_settings(
        config_file,
        overrides={"database_url": db_url, "web.sendgrid_webhook_public_key": signer.public_key},
    )
    app = create_app(settings, clock=lambda: NOW)
    yield app
    app.close()


@pytest.fixture
def client(webapp: App) -> Iterator[TestClient]:
    """An in-process HTTP client (https, so Secure cookies come back)."""
    with TestClient(create_web_app(webapp), base_url="https://testserver") as c:
        yield c


def _status(app: App, sub: int, list_name: str = "weekly") -> str:
    with app.engine.connect() as conn:
        return str(
            conn.execute(
                select(Membership.status).where(
                    Membership.subscriber_id == sub, Membership.list_name == list_name
                )
            ).scalar_one()
        )


def test_password_is_hashed_with_argon2_and_bad_accounts_refused(webapp: App) -> None:
    make_user(webapp, "ada", "editor")
    with webapp.engine.begin() as conn:
        stored = conn.execute(select(WebUser.password_hash)).scalar_one()
        with pytest.raises(AccountError, match="already exists"):
            add_user(conn, "ada", PASSWORD, "editor", NOW)
        with pytest.raises(AccountError, match="role"):
            add_user(conn, "bob", PASSWORD, "admin", NOW)
        with pytest.raises(AccountError, match="10 characters"):
            add_user(conn, "bob", "short", "editor", NOW)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_sets_safe_cookie_and_roles_are_enforced(webapp: App, client: TestClient) -> None:
    make_user(webapp, "ada", "editor")
    make_user(webapp, "otto", "operator")
    assert client.get("/desk", follow_redirects=False).headers["location"].startswith("/login")
    r = client.post(
        "/login", data={"username": "ada", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert client.get("/desk").status_code == 200
    assert client.get("/ops", headers={"accept": "text/html"}).status_code == 403
    client.cookies.clear()
    sign_in(client, "otto")
    assert client.get("/ops").status_code == 200
    assert client.get("/desk").status_code == 403


def test_open_redirect_after_sign_in_is_refused(webapp: App, client: TestClient) -> None:
    make_user(webapp, "ada", "editor")
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        r = client.post(
            "/login",
            data={"username": "ada", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/desk", target


def test_login_attempts_are_rate_limited_and_audited(webapp: App, client: TestClient) -> None:
    make_user(webapp, "ada", "editor")
    codes = [
        client.post("/login", data={"username": "ada", "password": "wrong-wrong"}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # Even the right password is refused while the limit holds.
    r = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert r.status_code == 429
    with webapp.engine.connect() as conn:
        actions = conn.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("login.failed") == 5 and "login.limited" in actions


def test_forms_without_csrf_token_are_refused(webapp: App, client: TestClient) -> None:
    make_user(webapp, "ada", "editor")
    csrf = sign_in(client, "ada")
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf": "0" * 64}).status_code == 403
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303


def test_tampered_session_cookie_is_not_a_session(webapp: App, client: TestClient) -> None:
    make_user(webapp, "ada", "editor")
    sign_in(client, "ada")
    value = client.cookies.get("digest_session")
    assert value
    client.cookies.set("digest_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/desk", follow_redirects=False).status_code == 303


def _member(app: App, email: str = "reader@example.org") -> int:
    with app.engine.begin() as conn:
        sub, _ = add_subscriber(conn, email, "weekly", NOW)
    return sub


def test_one_click_unsubscribe_per_rfc_8058(webapp: App, client: TestClient) -> None:
    sub = _member(webapp)
    token = webapp.signer.unsubscribe_token(sub, "weekly", 1)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert _status(webapp, sub) == "active"  # a GET changes nothing
    r = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert r.status_code == 200 and r.json() == {"list": "weekly", "status": "unsubscribed"}
    assert _status(webapp, sub) == "unsubscribed"
    again = client.post(
        f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False
    )
    assert again.status_code == 200  # multipart, and idempotent
    assert _status(webapp, sub) == "unsubscribed"


def test_tampered_unsubscribe_token_changes_nothing(webapp: App, client: TestClient) -> None:
    sub = _member(webapp)
    token = webapp.signer.unsubscribe_token(sub, "weekly", 1)
    bad = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert client.post(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get(f"/u/{bad}").status_code == 400
    assert _status(webapp, sub) == "active"


def _events(sub_email: str, n: int, kind: str = "delivered") -> list[dict[str, object]]:
    return [
        {
            "email": sub_email,
            "event": kind,
            "sg_event_id": f"evt-{kind}-{i}",
            "timestamp": int(NOW.timestamp()),
        }
        for i in range(n)
    ]


def test_webhook_refuses_unsigned_stale_and_foreign_signatures(
    webapp: App, client: TestClient, signer: SendGridSigner
) -> None:
    payload = body(_events("reader@example.org", 2))
    path = webapp.settings.web.webhook_path
    assert client.post(path, content=payload).status_code == 403
    stale = signer.headers(payload, NOW - timedelta(hours=1))
    assert client.post(path, content=payload, headers=stale).status_code == 403
    other = SendGridSigner().headers(payload, NOW)
    assert client.post(path, content=payload, headers=other).status_code == 403
    tampered = signer.headers(payload, NOW)
    assert client.post(path, content=payload + b" ", headers=tampered).status_code == 403
    with webapp.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderEvent)).scalar() == 0


def test_webhook_applies_bounces_complaints_and_dedupes_replays(
    webapp: App, client: TestClient, signer: SendGridSigner
) -> None:
    bouncer = _member(webapp, "bounce@example.org")
    complainer = _member(webapp, "spam@example.org")
    reader = _member(webapp, "reader@example.org")
    events = [
        {"email": "bounce@example.org", "event": "bounce", "type": "bounce",
         "sg_event_id": "b1", "timestamp": int(NOW.timestamp())},
        {"email": "spam@example.org", "event": "spamreport", "sg_event_id": "s1",
         "timestamp": int(NOW.timestamp())},
        *_events("reader@example.org", 3000),
    ]  # fmt: skip
    payload = body(events)
    path = webapp.settings.web.webhook_path
    r = client.post(path, content=payload, headers=signer.headers(payload, NOW))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 3002
    assert r.json()["changed"] == {"bounced": 1, "complained": 1}
    replay = client.post(path, content=payload, headers=signer.headers(payload, NOW))
    assert replay.json()["stored"] == 0 and replay.json()["duplicates"] == 3002
    assert _status(webapp, bouncer) == "bounced"
    assert _status(webapp, complainer) == "complained"
    assert _status(webapp, reader) == "active"
    with webapp.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderEvent)).scalar() == 3002
        # Both addresses are suppressed, so no later import or sign-up brings them back.
        assert is_suppressed(conn, "bounce@example.org", hasher=webapp.hasher)
        assert is_suppressed(conn, "spam@example.org", hasher=webapp.hasher)
        assert not is_suppressed(conn, "reader@example.org", hasher=webapp.hasher)


def test_openapi_describes_the_machine_routes(client: TestClient, webapp: App) -> None:
    spec = client.get("/api/openapi.json").json()
    assert webapp.settings.web.webhook_path in spec["paths"]
    assert "/u/{token}" in spec["paths"] and "post" in spec["paths"]["/u/{token}"]
    assert "/desk" not in spec["paths"]


def test_webhook_matches_events_to_deliveries_through_custom_args(
    webapp: App, client: TestClient, signer: SendGridSigner, tmp_path: Path
) -> None:
    from digest.core.models import Delivery
    from digest.editions.lifecycle import transition
    from digest.ingest.service import ingest_path
    from digest.pipeline import prepare_draft, send
    from tests.conftest import write_article

    write_article(
        tmp_path / "arts", "a.md", title="Trams", date="-1d", tags=["transit"],
        body="Trams are coming. Soon.", url="https://x.example/a",
    )  # fmt: skip
    ingest_path(webapp.engine, tmp_path / "arts", NOW)
    leaver = _member(webapp, "leaver@example.org")
    _member(webapp, "stayer@example.org")
    edition = prepare_draft(webapp, "weekly", NOW)
    with webapp.engine.begin() as conn:
        transition(conn, edition.id, "approve", "t", NOW)
    send(webapp, "weekly", actor="t")
    with webapp.engine.connect() as conn:
        delivery = conn.execute(
            select(Delivery.id).where(Delivery.subscriber_id == leaver)
        ).scalar_one()
    stamp = int(NOW.timestamp())
    events = [
        # The address differs in case and the delivery id is what counts.
        {"email": "LEAVER@example.org", "event": "unsubscribe", "sg_event_id": "u1",
         "timestamp": stamp, "digest_delivery_id": str(delivery),
         "digest_edition_id": str(edition.id)},
        {"email": "leaver@example.org", "event": "delivered", "sg_event_id": "d1",
         "timestamp": stamp, "digest_delivery_id": str(delivery),
         "digest_edition_id": str(edition.id)},
        # A delivery id of another edition is not trusted.
        {"email": "nobody@example.org", "event": "delivered", "sg_event_id": "d2",
         "timestamp": stamp, "digest_delivery_id": str(delivery), "digest_edition_id": "999"},
    ]  # fmt: skip
    payload = body(events)
    r = client.post(
        webapp.settings.web.webhook_path, content=payload, headers=signer.headers(payload, NOW)
    )
    assert r.json()["changed"] == {"unsubscribed": 1}
    assert _status(webapp, leaver) == "unsubscribed"
    with webapp.engine.connect() as conn:
        rows = dict(conn.execute(select(ProviderEvent.event_id, ProviderEvent.delivery_id)).all())
    assert rows == {"u1": delivery, "d1": delivery, "d2": None}
    make_user(webapp, "ada", "editor")
    sign_in(client, "ada")
    page = client.get(f"/desk/editions/{edition.id}")
    assert "unsubscribe" in page.text and "delivered" in page.text


def test_webhook_refuses_everything_without_a_key(
    config_file: Path, db_url: str, signer: SendGridSigner
) -> None:
    settings = load_settings(config_file, overrides={"database_url": db_url})
    app = create_app(settings, clock=lambda: NOW)
    payload = body(_events("a@example.org", 1))
    with TestClient(create_web_app(app)) as c:
        r = c.post("/hooks/sendgrid", content=payload, headers=signer.headers(payload, NOW))
    assert r.status_code == 403
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderEvent)).scalar() == 0
    app.close()


def test_users_command_adds_an_account_that_can_sign_in(
    webapp: App, client: TestClient, config_file: Path, db_url: str
) -> None:
    from click.testing import CliRunner

    from digest.cli import cli

    runner = CliRunner()
    args = ["--config", str(config_file), "--database-url", db_url, "users"]
    r = runner.invoke(
        cli,
        [*args, "add", "Ada", "--role", "editor", "--password", PASSWORD],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    again = runner.invoke(cli, [*args, "add", "ada", "--role", "editor", "--password", PASSWORD])
    assert again.exit_code == 1 and "already exists" in again.output
    assert "ada\teditor" in runner.invoke(cli, [*args, "list"]).output
    sign_in(client, "ada")
    with webapp.engine.connect() as conn:
        assert "user.add" in conn.execute(select(AuditEntry.action)).scalars().all()


def test_webhook_refuses_oversized_bodies(
    webapp: App, client: TestClient, signer: SendGridSigner
) -> None:
    r = client.post(
        webapp.settings.web.webhook_path,
        content=b"[]",
        headers={"content-length": str(64 * 1024 * 1024), **signer.headers(b"[]", NOW)},
    )
    assert r.status_code == 413


def test_guessing_across_user_names_is_limited_per_address(webapp: App, client: TestClient) -> None:
    codes = [
        client.post("/login", data={"username": f"u{i}", "password": "x" * 12}).status_code
        for i in range(21)
    ]
    assert codes[:20] == [401] * 20 and codes[20] == 429
