"""Sign-ins live on the server: a copy of the cookie is refused once the session has ended,
whether by signing out, a new password, the account's removal, idleness or age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from digest.cli import cli
from digest.core.app import App
from digest.web.accounts import set_password
from digest.web.models import WebSession
from digest.web.security import SESSION_COOKIE
from digest.web.server import create_web_app
from tests.conftest import NOW
from tests.webkit import make_user, sign_in


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def _stolen(client: TestClient) -> str:
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _desk_with(app: App, cookie: str) -> int:
    """The status of /desk for someone who only has a copy of the cookie."""
    with TestClient(create_web_app(app), base_url="https://testserver") as thief:
        thief.cookies.set(SESSION_COOKIE, cookie)
        return thief.get("/desk", follow_redirects=False).status_code


def test_a_copied_cookie_dies_with_sign_out(app: App, client: TestClient) -> None:
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    copy = _stolen(client)
    assert _desk_with(app, copy) == 200
    client.post("/logout", data={"csrf": csrf})
    assert _desk_with(app, copy) == 303  # back to sign-in
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WebSession)).scalar_one() == 0
    # The cookie holds a random token only; the table holds its hash, never the token.
    sign_in(client, "ada")
    with app.engine.connect() as conn:
        stored = conn.execute(select(WebSession.token_hash)).scalar_one()
    assert _stolen(client) != stored and len(stored) == 64


def test_a_new_password_and_a_removed_account_end_every_session(
    app: App, client: TestClient, config_file: object, db_url: str
) -> None:
    make_user(app, "ada", "editor")
    sign_in(client, "ada")
    first = _stolen(client)
    with app.engine.begin() as conn:
        set_password(conn, "ada", "another long password", NOW)
    assert _desk_with(app, first) == 303
    client.post("/login", data={"username": "ada", "password": "another long password"})
    second = _stolen(client)
    assert second != first and _desk_with(app, second) == 200
    runner = CliRunner()
    args = ["--config", str(config_file), "--database-url", db_url, "users", "remove", "ada"]
    refused = runner.invoke(cli, args)  # no terminal to ask: refuses, says how
    assert refused.exit_code == 1 and "digest users remove ada --yes" in refused.output
    assert _desk_with(app, second) == 200
    done = runner.invoke(cli, [*args, "--yes"])
    assert done.exit_code == 0 and "1 sign-in ended" in done.output
    assert _desk_with(app, second) == 303


def test_idle_and_absolute_lifetimes(app: App, client: TestClient) -> None:
    make_user(app, "ada", "editor")
    sign_in(client, "ada")
    cookie = _stolen(client)
    idle, absolute = app.settings.web.session_idle, app.settings.web.session_max_age
    now = NOW
    # Used every idle period less a minute: alive until the absolute lifetime runs out.
    while now + idle - timedelta(minutes=1) < NOW + absolute:
        now += idle - timedelta(minutes=1)
        app.clock = lambda now=now: now  # type: ignore[misc]
        assert _desk_with(app, cookie) == 200
    app.clock = lambda: NOW + absolute + timedelta(seconds=1)
    assert _desk_with(app, cookie) == 303
    app.clock = lambda: NOW
    sign_in(client, "ada")
    cookie = _stolen(client)
    app.clock = lambda: NOW + idle + timedelta(seconds=1)
    assert _desk_with(app, cookie) == 303
