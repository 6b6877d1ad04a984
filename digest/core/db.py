"""Open the database (SQLite by default, PostgreSQL by URL) and keep its schema current."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's own locking is all there is
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from digest.core.errors import StorageError
from digest.core.text import hide_password

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration's revision. A database already there opens without importing alembic
# (a tenth of a second of every command's start); tests/test_db.py checks it against the
# migrations folder, so a new migration cannot forget it.
HEAD = "0020"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs, so users can paste what they have."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    shown = hide_password(url)
    hint = "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StorageError(
                f"database_url {shown!r}: digest stores its data in SQLite or PostgreSQL, "
                f"not {parsed.get_backend_name()}",
                hint=hint,
            )
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
                    # Said, not silent: a typo in the URL should not go unnoticed.
                    log.warning("created the folder %s for the SQLite database", folder)
            engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except ArgumentError:
        raise StorageError(f"database_url {shown!r} is not a database URL", hint=hint) from None
    except NoSuchModuleError:
        raise StorageError(
            f"database_url {shown!r} names a database digest does not know", hint=hint
        ) from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except OperationalError as exc:
        raise StorageError(
            f"cannot open the database at {_safe(engine)}: {str(exc.orig).splitlines()[0]}",
            hint="check database_url (or DIGEST_HOME) and that the server is reachable",
        ) from None
    return found[0] if len(found) == 1 else None


def head_revision() -> str | None:
    """The newest schema revision in the migrations folder (read by alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot migrate the database at {_safe(engine)}: {exc.orig}",
            hint="check database_url and that the server is reachable",
        ) from None


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` ('base' empties the schema)."""
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def open_database(url: str) -> Engine:
    """An engine whose schema is at head: migrations run on first use, one process at a time."""
    engine = create_db_engine(url)
    if current_revision(engine) != HEAD:
        with schema_lock(engine):
            if current_revision(engine) != HEAD:  # another process may have just done it
                upgrade(engine)
    return engine


# Any number; PostgreSQL advisory locks are named by one. Held only while the schema changes.
_SCHEMA_LOCK_KEY = 0x6469_6765  # "dige"


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's schema lock: two processes starting at once never both create tables.

    PostgreSQL: an advisory lock (held by a connection of its own, so any transaction may run
    meanwhile). SQLite: an exclusive lock on a file beside the database.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:" or fcntl is None:
        yield  # nobody else can see this database (or the platform has no file locks)
        return
    with open(f"{database}-schema.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
