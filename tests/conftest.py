"""Shared fixtures: every test gets its own DIGEST_HOME, and a database on each backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from digest.core.app import App, create_app
from digest.core.db import normalise_url
from digest.settings.loading import load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# The usual local server (trust auth, database `test`), used when DIGEST_TEST_POSTGRES_URL
# does not name another: a fresh machine with PostgreSQL runs the PostgreSQL tests too.
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _choose_pg() -> tuple[str | None, str]:
    """The PostgreSQL URL the tests use, and one line saying which (or why none)."""
    chosen = os.environ.get("DIGEST_TEST_POSTGRES_URL")
    if chosen:
        return chosen, "PostgreSQL tests: DIGEST_TEST_POSTGRES_URL"
    try:
        engine = create_engine(normalise_url(LOCAL_PG), connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # no local server: the PostgreSQL tests skip, saying why
        return None, (
            f"PostgreSQL tests skip: DIGEST_TEST_POSTGRES_URL is not set and {LOCAL_PG} is "
            f"not reachable ({type(exc).__name__})"
        )
    return LOCAL_PG, f"PostgreSQL tests: the local server at {LOCAL_PG}"


PG_URL, PG_CHOICE = _choose_pg()


def pytest_report_header() -> str:
    """Say at the top of every run which PostgreSQL the tests use, if any."""
    return PG_CHOICE


NEWSLETTER_TOML = """
base_url = "https://news.example.com"
secret_key = "test-secret-key"

[sender]
name = "Example Weekly"
email = "weekly@news.example.com"
postal_address = "1 Sample Street, Example Town"

[newsletters.weekly]
title = "Example Weekly"
description = "Test newsletter."
tags = ["transit", "housing"]
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp DIGEST_HOME, no DIGEST_* leaking in from the machine, cwd in a temp folder."""
    for name in list(os.environ):
        if name.startswith("DIGEST_") and name != "DIGEST_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("DIGEST_HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def _pg_reachable() -> str | None:
    if not PG_URL:
        return PG_CHOICE
    try:
        engine = create_engine(normalise_url(PG_URL))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at DIGEST_TEST_POSTGRES_URL is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_skip_reason() -> str | None:
    """Why PostgreSQL tests skip here, or None when a server is reachable."""
    return _pg_reachable()


@pytest.fixture
def pg_url(pg_skip_reason: str | None) -> Iterator[str]:
    """A URL to a fresh, empty schema on the test PostgreSQL server, dropped afterwards."""
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{normalise_url(PG_URL)}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, isolated: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{isolated / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A settings file with one newsletter."""
    path = tmp_path / "digest.toml"
    path.write_text(NEWSLETTER_TOML, encoding="utf-8")
    return path


@pytest.fixture
def app(db_url: str, config_file: Path) -> Iterator[App]:
    """Services on the test database, with a clock fixed at NOW."""
    settings = load_settings(config_file, overrides={"database_url": db_url})
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.close()


def write_article(
    folder: Path,
    name: str,
    *,
    title: str,
    date: str,
    tags: list[str],
    body: str,
    url: str | None = None,
) -> Path:
    """A Markdown article with front matter, for tests."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f'title: "{title}"', f'date: "{date}"', f"tags: [{', '.join(tags)}]"]
    if url:
        lines.append(f'url: "{url}"')
    lines += ["---", body]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
