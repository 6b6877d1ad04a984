"""Storage: migrations on SQLite and PostgreSQL, models and migrations in step."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import digest.web.models  # noqa: F401  (the web app's tables join Base.metadata on import)
from digest.core.db import (
    HEAD,
    create_db_engine,
    current_revision,
    downgrade,
    head_revision,
    open_database,
    upgrade,
)
from digest.core.errors import StorageError
from digest.core.models import Base
from subscribers.models import SubscribersBase


def test_head_constant_is_the_newest_migration() -> None:
    # open_database compares with HEAD so that it need not import alembic at every start.
    assert head_revision() == HEAD, "set digest.core.db.HEAD to the newest migration's revision"


def test_open_database_migrates_on_first_use(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {
            "articles",
            "article_tags",
            "editions",
            "deliveries",
            "subscribers",
            "memberships",
        } <= tables
    finally:
        engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, [Base.metadata, SubscribersBase.metadata])
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert "articles" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StorageError, match="cannot open the database"):
        open_database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_not_a_url() -> None:
    with pytest.raises(StorageError, match="not a database URL"):
        create_db_engine("not a url")
