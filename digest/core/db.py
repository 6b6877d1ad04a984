"""Open the database (SQLite by default, PostgreSQL by URL) and keep its schema current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from digest.core.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs, so users can paste what they have."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"database_url {url!r} is not a database URL",
            hint="use sqlite:///path/to/file.db or postgresql://user@host/dbname",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot migrate the database at {_safe(engine)}: {exc.orig}",
            hint="check database_url and that the server is reachable",
        ) from None


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` ('base' empties the schema)."""
    command.downgrade(_alembic_config(engine), revision)


def open_database(url: str) -> Engine:
    """An engine whose schema is at head: migrations run on first use."""
    engine = create_db_engine(url)
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise StorageError(
            f"cannot open the database at {_safe(engine)}: {exc.orig}",
            hint="check database_url (or DIGEST_HOME) and that the server is reachable",
        ) from None
    if current != head_revision():
        upgrade(engine)
    return engine


def _safe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
