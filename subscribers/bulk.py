"""The batch writes of an import, in plain driver SQL.

SQLAlchemy's per-parameter processing cost more than the database itself at a million rows
(about 0.2 ms a row), so this module sends pre-converted values straight to the driver:
the datetime is converted once per batch, attributes are serialised once per row.

On PostgreSQL rows go in by COPY and lookups take their keys as one array parameter: psycopg
scans a statement's text for placeholders in Python, so statements with thousands of them
cost more than the database's own work (about 0.5 ms a row).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Connection

from subscribers.importrows import ImportRow, Rejection
from subscribers.models import LEFT, Method, Status
from subscribers.sqltypes import UTCDateTime
from subscribers.suppression import AddressHasher

CHUNK = 2000  # values per IN (...) list; well within SQLite's and PostgreSQL's limits


class Driver:
    """Driver-level SQL on a SQLAlchemy connection, with the right placeholder style."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._dt = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
        self.arrays = conn.dialect.name == "postgresql"
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
        key: str = "",
    ) -> list[tuple[Any, int]]:
        """Insert rows; with `key` (one of `columns`), returns (that value, new id) per row.

        SQLite: multi-row INSERT ... VALUES (...), (...) RETURNING, one statement per chunk
        (faster there than executemany). PostgreSQL: COPY (see `_copy`).
        """
        out: list[tuple[Any, int]] = []
        if not rows:
            return out
        if self.arrays:
            return self._copy(table, columns, rows, key)
        one = "(" + ",".join([self.ph] * len(columns)) + ")"
        per = max(1, min(1000, 30000 // len(columns)))  # under SQLite's 32766 variables
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        tail = f" RETURNING {key}, id" if key else ""
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            sql = head + ",".join([one] * len(chunk)) + tail
            flat = tuple(chain.from_iterable(chunk))
            result = self.conn.exec_driver_sql(sql, flat)
            if key:
                out.extend(result.fetchall())
        return out

    def _copy(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], key: str
    ) -> list[tuple[Any, int]]:
        """PostgreSQL: COPY the rows in, in this transaction; ids drawn from the sequence first.

        psycopg scans a statement's text for placeholders in Python, so a multi-row VALUES
        list cost more than the database's own work; COPY sends rows with no statement
        text at all. With `key`, the ids are taken from the table's sequence beforehand
        (what a default would have done) and copied in with the rows.
        """
        out: list[tuple[Any, int]] = []
        if key:
            ids = [
                i
                for (i,) in self.conn.exec_driver_sql(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    (table, len(rows)),
                )
            ]
            at = list(columns).index(key)
            out = [(row[at], i) for row, i in zip(rows, ids, strict=True)]
            columns = ["id", *columns]
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        raw: Any = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return out

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One statement, `?` placeholders."""
        self.conn.exec_driver_sql(sql.replace("?", self.ph), params)

    def where_in(
        self, sql: str, values: Iterable[Any], extra: tuple[Any, ...] = ()
    ) -> Iterator[Any]:
        """Rows of `sql` whose `{in}` is filled with each chunk of values; `extra` comes first."""
        items = list(values)
        if self.arrays:
            if items:
                yield from self._probe(sql, items, extra)
            return
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            marks = ",".join([self.ph] * len(chunk))
            text = sql.replace("?", self.ph).replace("{in}", marks)
            yield from self.conn.exec_driver_sql(text, (*extra, *chunk)).fetchall()

    def _probe(self, sql: str, items: list[Any], extra: tuple[Any, ...]) -> Iterator[Any]:
        """PostgreSQL: `col IN ({in})` as one index probe per value, whatever the statistics.

        The keys come as one array parameter and the query runs once per key (LATERAL,
        kept apart by OFFSET 0). A plain `col = ANY(%s)` left the choice to the planner,
        and during a bulk load the statistics lag the tables: it scanned whole tables,
        comparing each row with thousands of keys.
        """
        kind = "bigint" if isinstance(items[0], int) else "text"
        inner = sql.replace("?", self.ph).replace(" IN ({in})", " = k.v")
        text = (
            f"SELECT q.* FROM unnest(%s::{kind}[]) AS k(v) "
            f"CROSS JOIN LATERAL ({inner} OFFSET 0) AS q"
        )
        return iter(self.conn.exec_driver_sql(text, (items, *extra)).fetchall())

    def run_in(self, sql: str, values: Iterable[Any]) -> None:
        """A statement with no result for each chunk of values in its `{in}`."""
        items = list(values)
        if self.arrays:
            if items:
                self.conn.exec_driver_sql(sql.replace(" IN ({in})", " = ANY(%s)"), (items,))
            return
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


def _blocked(drv: Driver, rows: list[ImportRow], hasher: AddressHasher | None) -> set[str]:
    """Keys of the rows that the suppression list blocks (domain, plain address or hash)."""
    domains = {r.address.domain for r in rows}
    bad_domains = {
        d
        for (d,) in drv.where_in("SELECT domain FROM suppressions WHERE domain IN ({in})", domains)
    }
    keys = [r.address.key for r in rows]
    plain = {
        k
        for (k,) in drv.where_in(
            "SELECT email_key FROM suppressions WHERE email_key IN ({in})", keys
        )
    }
    out = {r.address.key for r in rows if r.address.domain in bad_domains} | plain
    if hasher is not None:
        by_hash = {h: k for k in keys for h in hasher.all_hashes(k)}
        for (h,) in drv.where_in(
            "SELECT address_hash FROM suppressions WHERE address_hash IN ({in})", by_hash
        ):
            out.add(by_hash[h])
    return out


def write_batch(
    conn: Connection,
    rows: list[ImportRow],
    rejected: list[Rejection],
    counts: Counter[str],
    *,
    list_name: str,
    now: datetime,
    status: Status,
    hasher: AddressHasher | None,
    source: str,
) -> None:
    """Write one batch of good rows; adds rejections (suppressed, left) and counts outcomes."""
    drv = Driver(conn)
    at = drv.when(now)
    by, new_status = Method.IMPORT.value, status.value  # plain strings: enum access is slow
    blocked = _blocked(drv, rows, hasher)
    if blocked:
        for r in rows:
            if r.address.key in blocked:
                rejected.append(Rejection(r.line, r.address.email, "suppressed"))
        rows = [r for r in rows if r.address.key not in blocked]
    if not rows:
        return
    keys = [r.address.key for r in rows]
    existing = {
        key: (sid, name, load_json(attrs))
        for sid, key, name, attrs in drv.where_in(
            "SELECT id, email_key, name, attributes FROM subscribers WHERE email_key IN ({in})",
            keys,
        )
    }
    created = drv.insert(
        "subscribers",
        ("email", "email_key", "domain", "name", "attributes", "created_at", "updated_at"),
        [
            (r.address.email, r.address.key, r.address.domain, r.name, dump_json(r.attributes),
             at, at)
            for r in rows
            if r.address.key not in existing
        ],
        key="email_key",
    )  # fmt: skip
    ids: dict[str, int] = {k: v[0] for k, v in existing.items()}
    ids.update((key, sid) for key, sid in created)
    # Name and attribute changes for people we already had.
    changed_people: set[str] = set()
    updates = []
    for r in rows:
        old = existing.get(r.address.key)
        if old is None:
            continue
        sid, old_name, old_attrs = old
        merged = {**old_attrs, **r.attributes}
        name = r.name or old_name
        if name != old_name or merged != old_attrs:
            updates.append((name, dump_json(merged), at, sid))
            changed_people.add(r.address.key)
    drv.many(
        "UPDATE subscribers SET name = ?, attributes = ?, updated_at = ? WHERE id = ?", updates
    )
    members = {
        sid: (mid, st)
        for mid, sid, st in drv.where_in(
            "SELECT id, subscriber_id, status FROM memberships "
            "WHERE list_name = ? AND subscriber_id IN ({in})",
            [v[0] for v in existing.values()],  # people just created have no memberships
            (list_name,),
        )
    }
    topics_now: dict[int, list[str]] = {}
    if members:
        for mid, topic in drv.where_in(
            "SELECT membership_id, topic FROM membership_topics WHERE membership_id IN ({in})",
            [m[0] for m in members.values()],
        ):
            topics_now.setdefault(mid, []).append(topic)
        for chosen in topics_now.values():
            chosen.sort()  # as the import's own lists are sorted, whatever the collation
    fresh: list[ImportRow] = []
    upgrades: list[int] = []
    topic_changes: dict[int, list[str]] = {}
    for r in rows:
        member = members.get(ids[r.address.key])
        if member is None:
            fresh.append(r)
            continue
        mid, current = member
        if current in LEFT:
            rejected.append(Rejection(r.line, r.address.email, f"previously {current}"))
            continue
        changed = r.address.key in changed_people
        if current == Status.PENDING and status is Status.ACTIVE:
            upgrades.append(mid)
            changed = True
        if r.topics is not None and r.topics != topics_now.get(mid, []):
            topic_changes[mid] = r.topics
            changed = True
        counts["updated" if changed else "unchanged"] += 1
    counts["added"] += len(fresh)  # new on this list, whether or not we knew the person
    drv.many(
        "UPDATE memberships SET status = ?, status_changed_at = ?, status_source = ? WHERE id = ?",
        [(Status.ACTIVE.value, at, Method.IMPORT.value, mid) for mid in upgrades],
    )
    consent_for = list(upgrades)
    replaced = list(topic_changes)
    if fresh:
        fresh_ids = dict(
            drv.insert(
                "memberships",
                ("subscriber_id", "list_name", "status", "status_changed_at", "created_at",
                 "status_source"),
                [(ids[r.address.key], list_name, new_status, at, at, by) for r in fresh],
                key="subscriber_id",
            )
        )  # fmt: skip
        for r in fresh:
            if r.topics:
                topic_changes[fresh_ids[ids[r.address.key]]] = r.topics
        consent_for += list(fresh_ids.values())
    text = f"imported from {source}"
    drv.insert(
        "consents",
        ("membership_id", "at", "method", "ip", "text"),
        [(mid, at, by, None, text) for mid in consent_for],
    )
    # Only memberships we had can have topics to replace; new ones get theirs straight away.
    drv.run_in("DELETE FROM membership_topics WHERE membership_id IN ({in})", replaced)
    drv.insert(
        "membership_topics",
        ("membership_id", "topic"),
        [(mid, t) for mid, ts in topic_changes.items() for t in ts],
    )
