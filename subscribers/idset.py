"""A list of row ids as one bound parameter, for statements about a batch of a thousand rows.

`column IN (:p1, …, :p1000)` costs more to build and parse than the statement's work
(SQLAlchemy expands it on every call; psycopg re-splits the query text, which it cannot cache
because the text changes with the count). One array (PostgreSQL) or one JSON text (SQLite)
keeps the statement text fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY


def among(conn: Connection, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`, whatever their number, as a fixed statement."""
    values = [int(i) for i in ids]
    if conn.dialect.name == "postgresql":
        # An array of the column's own type, so the comparison can use its index.
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    rows = func.json_each(bindparam(None, json.dumps(values))).table_valued("value")
    return column.in_(select(rows.c.value))  # type: ignore[no-any-return]

