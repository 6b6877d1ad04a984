"""Streaming CSV import: each row imported, updated, unchanged or rejected with a reason.

Rules: an import never re-subscribes someone who unsubscribed, bounced or complained, never
adds a suppressed address, and re-running it changes nothing. Rows are written in batches,
each in its own transaction; rejected rows go to the report only once their batch is
committed, so an interrupted import leaves the database and the report in step.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, Engine

from subscribers.addresses import Address, InvalidAddress, clean_name, clean_value, parse_address
from subscribers.bulk import Driver, dump_json, load_json
from subscribers.csvread import RowReader
from subscribers.errors import ImportFileError, SubscribersError
from subscribers.export import safe_cell
from subscribers.models import (
    LEFT,
    Method,
    Status,
)
from subscribers.suppression import AddressHasher

EMAIL_NAMES = ("email", "e_mail", "email_address", "emailaddress", "mail", "e_mail_address")
NAME_NAMES = ("name", "full_name", "fullname", "display_name")
TOPIC_NAMES = ("topics", "topic", "interests")
_TOPIC_SPLIT = re.compile(r"[;|,\s]+")
_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Rejection:
    """One row not imported: its line, the address as written, and why."""

    line: int
    email: str
    reason: str


@dataclass
class ImportSummary:
    """Counts of what happened; `rejections` is kept only when no report file is written."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ","
    latin1_lines: int = 0
    blank_lines: int = 0
    last_line: int = 0
    dry_run: bool = False

    @property
    def rejected_total(self) -> int:
        """All rejected rows."""
        return sum(self.rejected.values())


class ImportInterrupted(SubscribersError):
    """Stopped part-way (Ctrl-C): every committed batch is whole and in the report."""

    def __init__(self, summary: ImportSummary) -> None:
        super().__init__(
            f"import interrupted after line {summary.last_line}; "
            "everything up to there is saved and reported",
            hint="run the same import again to finish it; rows already imported are unchanged",
        )
        self.summary = summary


@dataclass
class _Row:
    line: int
    address: Address
    name: str
    attributes: dict[str, str]
    topics: list[str] | None


def _key(header: str) -> str:
    return _KEY.sub("_", header.strip().lower()).strip("_")[:63]


@dataclass
class _Columns:
    email: int
    name: int | None
    topics: int | None
    attributes: list[tuple[int, str]]
    width: int


def _columns(header: list[str], path: Path) -> _Columns:
    keys = [_key(h) for h in header]

    def find(names: tuple[str, ...]) -> int | None:
        for name in names:
            if name in keys:
                return keys.index(name)
        return None

    email = find(EMAIL_NAMES)
    if email is None:
        shown = ", ".join(repr(h) for h in header[:10]) or "(empty)"
        raise ImportFileError(
            f"{path}: no email column in the header row (found {shown})",
            hint="name the column of addresses 'email'",
        )
    name, topics = find(NAME_NAMES), find(TOPIC_NAMES)
    taken = {email, name, topics}
    attributes = [(i, k) for i, k in enumerate(keys) if i not in taken and k]
    return _Columns(email, name, topics, attributes, len(header))


class _Seen:
    """Addresses already met in this file, on disk (a temporary SQLite file), not in memory."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.execute("CREATE TABLE seen (k TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def earlier(self, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT k, line FROM seen WHERE k IN ({marks})", chunk))
        return found

    def add(self, pairs: list[tuple[str, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", pairs)

    def close(self) -> None:
        self.db.close()


def import_file(
    engine: Engine,
    path: Path,
    list_name: str,
    *,
    now: datetime,
    status: Status = Status.ACTIVE,
    hasher: AddressHasher | None = None,
    report_path: Path | None = None,
    dry_run: bool = False,
    batch_size: int = 5000,
    allowed_topics: Collection[str] | None = None,
    check_deliverability: bool = False,
    progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import a CSV into a list (see the module docstring for the rules).

    Raises ImportFileError when the file as a whole is unusable (no email column), and
    ImportInterrupted (carrying the summary) on Ctrl-C.
    """
    if status not in (Status.ACTIVE, Status.PENDING):
        raise SubscribersError(f"an import adds members as active or pending, not {status}")
    summary = ImportSummary(dry_run=dry_run)
    seen = _Seen()
    report: TextIO | None = None
    writer: Any = None
    if report_path is not None:
        report = report_path.open("w", newline="", encoding="utf-8")
        writer = csv.writer(report)
        writer.writerow(["line", "email", "reason"])
        report.flush()
    try:
        with path.open("rb") as fh:
            reader = RowReader(fh)
            rows = iter(reader)
            first = next(rows, None)
            summary.encoding = reader.stats.encoding
            summary.delimiter = reader.delimiter
            if first is None:
                return summary
            cols = _columns(first[1], path)
            batch: list[tuple[int, list[str]]] = []
            for item in rows:
                batch.append(item)
                if len(batch) >= batch_size:
                    _run_batch(
                        engine, batch, cols, reader, seen, summary, writer, report,
                        list_name=list_name, now=now, status=status, hasher=hasher,
                        dry_run=dry_run, allowed=allowed_topics, path=path,
                        check=check_deliverability,
                    )  # fmt: skip
                    batch = []
                    if progress:
                        progress(summary)
            _run_batch(
                engine, batch, cols, reader, seen, summary, writer, report,
                list_name=list_name, now=now, status=status, hasher=hasher,
                dry_run=dry_run, allowed=allowed_topics, path=path,
                check=check_deliverability,
            )  # fmt: skip
            summary.latin1_lines = reader.stats.latin1_lines
            summary.blank_lines = reader.stats.blank_lines
    except KeyboardInterrupt:
        raise ImportInterrupted(summary) from None
    finally:
        seen.close()
        if report is not None:
            report.close()
    return summary


def _parse(
    line: int,
    fields: list[str],
    cols: _Columns,
    allowed: Collection[str] | None,
    check: bool,
) -> _Row | Rejection:
    if len(fields) < cols.width:  # short rows: missing cells are empty
        fields = fields + [""] * (cols.width - len(fields))
    raw = fields[cols.email]
    if not raw or raw.isspace():
        return Rejection(line, "", "invalid address: empty")
    try:
        address = parse_address(raw, check_deliverability=check)
    except InvalidAddress as exc:
        return Rejection(line, raw[:320], f"invalid address: {exc}")
    name = clean_name(fields[cols.name]) if cols.name is not None else ""
    topics: list[str] | None = None
    if cols.topics is not None:
        cell = fields[cols.topics]
        if cell and not cell.isspace():
            topics = sorted({t.lower() for t in _TOPIC_SPLIT.split(cell) if t})
            if allowed is not None:
                unknown = [t for t in topics if t not in allowed]
                if unknown:
                    return Rejection(line, address.email, f"unknown topic: {', '.join(unknown)}")
    attributes = {}
    for i, key in cols.attributes:
        value = fields[i]
        if value and not value.isspace():
            attributes[key] = clean_value(value)
    return _Row(line, address, name, attributes, topics)


def _run_batch(
    engine: Engine,
    batch: list[tuple[int, list[str]]],
    cols: _Columns,
    reader: RowReader,
    seen: _Seen,
    summary: ImportSummary,
    writer: Any,
    report: TextIO | None,
    *,
    list_name: str,
    now: datetime,
    status: Status,
    hasher: AddressHasher | None,
    dry_run: bool,
    allowed: Collection[str] | None,
    path: Path,
    check: bool,
) -> None:
    rejected: list[Rejection] = [Rejection(b.line, "", b.reason) for b in reader.bad]
    reader.bad.clear()
    good: list[_Row] = []
    for line, fields in batch:
        parsed = _parse(line, fields, cols, allowed, check)
        if isinstance(parsed, Rejection):
            rejected.append(parsed)
        else:
            good.append(parsed)
    # Duplicates within the file: the first occurrence wins, later ones are reported.
    earlier = seen.earlier(list({r.address.key for r in good}))
    unique: dict[str, _Row] = {}
    for row in good:
        first = earlier.get(row.address.key) or (
            unique[row.address.key].line if row.address.key in unique else None
        )
        if first is not None:
            rejected.append(Rejection(row.line, row.address.email, f"duplicate of line {first}"))
        else:
            unique[row.address.key] = row
    counts: Counter[str] = Counter()
    if unique:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                _write(
                    conn, list(unique.values()), rejected, counts,
                    list_name=list_name, now=now, status=status, hasher=hasher, source=path.name,
                )  # fmt: skip
            except BaseException:
                trans.rollback()
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
    seen.add([(k, r.line) for k, r in unique.items()])
    # Committed: now count and report this batch.
    summary.added += counts["added"]
    summary.updated += counts["updated"]
    summary.unchanged += counts["unchanged"]
    rejected.sort(key=lambda r: r.line)
    for r in rejected:
        summary.rejected[r.reason.split(":")[0] if ":" in r.reason else _category(r.reason)] += 1
    if writer is not None and report is not None:
        writer.writerows([r.line, safe_cell(r.email), r.reason] for r in rejected)
        report.flush()
    else:
        summary.rejections.extend(rejected)
    if batch:
        summary.last_line = batch[-1][0]


def _category(reason: str) -> str:
    if reason.startswith("duplicate"):
        return "duplicate in file"
    return reason


def _blocked(drv: Driver, rows: list[_Row], hasher: AddressHasher | None) -> set[str]:
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


def _write(
    conn: Connection,
    rows: list[_Row],
    rejected: list[Rejection],
    counts: Counter[str],
    *,
    list_name: str,
    now: datetime,
    status: Status,
    hasher: AddressHasher | None,
    source: str,
) -> None:
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
        returning="email_key, id",
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
            "SELECT membership_id, topic FROM membership_topics WHERE membership_id IN ({in}) "
            "ORDER BY topic",
            [m[0] for m in members.values()],
        ):
            topics_now.setdefault(mid, []).append(topic)
    fresh: list[_Row] = []
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
    if fresh:
        fresh_ids = dict(
            drv.insert(
                "memberships",
                ("subscriber_id", "list_name", "status", "status_changed_at", "created_at",
                 "status_source"),
                [(ids[r.address.key], list_name, new_status, at, at, by) for r in fresh],
                returning="subscriber_id, id",
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
    if topic_changes:
        drv.run_in("DELETE FROM membership_topics WHERE membership_id IN ({in})", topic_changes)
        drv.insert(
            "membership_topics",
            ("membership_id", "topic"),
            [(mid, t) for mid, ts in topic_changes.items() for t in ts],
        )


def read_report(path: Path) -> Iterator[tuple[int, str, str]]:
    """The rows of a report file, for tests and tools."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for line, email, reason in reader:
            yield int(line), email, reason
