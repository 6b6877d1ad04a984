"""A list of row ids as one bound parameter, for statements about a batch of a thousand rows.

`column IN (:p1, …, :p1000)` costs more to build and parse than the statement's work
(SQLAlchemy expands it on every call; psycopg re-splits the query text, which it cannot cache
because the text changes with the count). One array (PostgreSQL) or one JSON text (SQLite)
keeps the statement text fixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, any_, bindparam, cast, func, select


def among(conn: Connection, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`, whatever their number, as a fixed statement."""
    dialect = conn.dialect.name
    return among_param(dialect, column, bindparam(None, ids_text(dialect, ids), type_=String))


def among_param(dialect: str, column: Any, ids: Any) -> ColumnElement[bool]:
    """`column` is one of the ids in the bound parameter `ids`, given as ids_text(dialect, …).

    For a statement built once and run many times with a new list each time.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded with its dialect, not before

        # An array of the column's own type, so the comparison can use its index.
        return column == any_(cast(ids, ARRAY(column.type)))  # type: ignore[no-any-return]
    rows = func.json_each(ids).table_valued("value")
    return column.in_(select(rows.c.value))  # type: ignore[no-any-return]


def ids_text(dialect: str, ids: Iterable[int]) -> str:
    """The ids as one text value: '{1,2,3}' (a PostgreSQL array) or '[1,2,3]' (JSON)."""
    # One string instead of a list: the driver then sends it as it is, adapting no numbers.
    text = ",".join(map(str, map(int, ids)))
    return "{" + text + "}" if dialect == "postgresql" else "[" + text + "]"
