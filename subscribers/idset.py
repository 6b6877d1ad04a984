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
    # The ids as text ('{1,2,3}' or '[1,2,3]'): the driver then sends one string instead of
    # adapting each number of a list.
    text = ",".join(map(str, map(int, ids)))
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded with its dialect, not before

        # An array of the column's own type, so the comparison can use its index.
        values = cast(bindparam(None, "{" + text + "}", type_=String), ARRAY(column.type))
        return column == any_(values)  # type: ignore[no-any-return]
    rows = func.json_each(bindparam(None, "[" + text + "]")).table_valued("value")
    return column.in_(select(rows.c.value))  # type: ignore[no-any-return]
