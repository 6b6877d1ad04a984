"""The batch writes of an import, in plain driver SQL.

SQLAlchemy's per-parameter processing cost more than the database itself at a million rows
(about 0.2 ms a row), so this module sends pre-converted values straight to the driver:
the datetime is converted once per batch, attributes are serialised once per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Connection

from subscribers.sqltypes import UTCDateTime

CHUNK = 2000  # values per IN (...) list; well within SQLite's and PostgreSQL's limits


class Driver:
    """Driver-level SQL on a SQLAlchemy connection, with the right placeholder style."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._dt = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if conn.dialect.name == "sqlite":
            # A bigger page cache for this connection: index pages of a million rows stay in it.
            conn.exec_driver_sql("PRAGMA cache_size = -65536")

    def when(self, moment: datetime) -> Any:
        """A datetime as the driver stores it in a UTCDateTime column."""
        return self._dt(moment) if self._dt else moment

    def many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """executemany, `?` placeholders in `sql`."""
        if rows:
            self.conn.exec_driver_sql(sql.replace("?", self.ph), list(rows))

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        returning: str = "",
    ) -> list[Any]:
        """Multi-row INSERT ... VALUES (...), (...) [RETURNING ...]: one statement per chunk.

        Faster than executemany on both backends, and RETURNING hands back the new ids.
        """
        out: list[Any] = []
        if not rows:
            return out
        one = "(" + ",".join([self.ph] * len(columns)) + ")"
        per = max(1, min(1000, 30000 // len(columns)))  # under SQLite's 32766 variables
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        tail = f" RETURNING {returning}" if returning else ""
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            sql = head + ",".join([one] * len(chunk)) + tail
            flat = tuple(chain.from_iterable(chunk))
            result = self.conn.exec_driver_sql(sql, flat)
            if returning:
                out.extend(result.fetchall())
        return out

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One statement, `?` placeholders."""
        self.conn.exec_driver_sql(sql.replace("?", self.ph), params)

    def where_in(
        self, sql: str, values: Iterable[Any], extra: tuple[Any, ...] = ()
    ) -> Iterator[Any]:
        """Rows of `sql` whose `{in}` is filled with each chunk of values; `extra` comes first."""
        items = list(values)
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            marks = ",".join([self.ph] * len(chunk))
            text = sql.replace("?", self.ph).replace("{in}", marks)
            yield from self.conn.exec_driver_sql(text, (*extra, *chunk)).fetchall()

    def run_in(self, sql: str, values: Iterable[Any]) -> None:
        """A statement with no result for each chunk of values in its `{in}`."""
        items = list(values)
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            marks = ",".join([self.ph] * len(chunk))
            self.conn.exec_driver_sql(sql.replace("{in}", marks), tuple(chunk))


def load_json(value: Any) -> dict[str, Any]:
    """A JSON column as read by the driver: text on SQLite, already a dict on PostgreSQL."""
    if not value:
        return {}
    return dict(json.loads(value) if isinstance(value, str) else value)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # built once: json.dumps(**kw) builds one a call
_STRING = encode_basestring


def dump_json(value: dict[str, Any]) -> str:
    """A dict for a JSON column (flat string-to-string dicts, the import's, take a short cut)."""
    if not value:
        return "{}"
    if all(type(v) is str for v in value.values()):
        return "{" + ", ".join(f"{_STRING(k)}: {_STRING(v)}" for k, v in value.items()) + "}"
    return _ENCODER.encode(value)
