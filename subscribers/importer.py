"""Streaming CSV import: each row imported, updated, unchanged or rejected with a reason.

Rules: an import never re-subscribes someone who unsubscribed, bounced or complained, never
adds a suppressed address, and re-running it changes nothing. Rows are written in batches,
each in its own transaction; rejected rows go to the report only once their batch is
committed, so an interrupted import leaves the database and the report in step.
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from subscribers.bulk import write_batch
from subscribers.csvread import RowReader
from subscribers.errors import SubscribersError
from subscribers.export import safe_cell
from subscribers.importrows import Columns, ImportRow, Rejection, find_columns, parse_row
from subscribers.models import (
    Status,
)
from subscribers.suppression import AddressHasher


@dataclass
class ImportSummary:
    """Counts of what happened; `rejections` is kept only when no report file is written."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    # Rows imported with something left out; counted by kind, and kept like `rejections`.
    warned: Counter[str] = field(default_factory=Counter)
    warnings: list[Rejection] = field(default_factory=list)
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
    unknown_topics: str = "ignore",
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
            cols = find_columns(first[1], path)
            batch: list[tuple[int, list[str]]] = []
            for item in rows:
                batch.append(item)
                if len(batch) >= batch_size:
                    _run_batch(
                        engine, batch, cols, reader, seen, summary, writer, report,
                        list_name=list_name, now=now, status=status, hasher=hasher,
                        dry_run=dry_run, allowed=allowed_topics, path=path,
                        check=check_deliverability, unknown_topics=unknown_topics,
                    )  # fmt: skip
                    batch = []
                    if progress:
                        progress(summary)
            _run_batch(
                engine, batch, cols, reader, seen, summary, writer, report,
                list_name=list_name, now=now, status=status, hasher=hasher,
                dry_run=dry_run, allowed=allowed_topics, path=path,
                check=check_deliverability, unknown_topics=unknown_topics,
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


def _run_batch(
    engine: Engine,
    batch: list[tuple[int, list[str]]],
    cols: Columns,
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
    unknown_topics: str = "ignore",
) -> None:
    rejected: list[Rejection] = [Rejection(b.line, "", b.reason) for b in reader.bad]
    reader.bad.clear()
    good: list[ImportRow] = []
    for line, fields in batch:
        parsed = parse_row(line, fields, cols, allowed, check, unknown_topics)
        if isinstance(parsed, Rejection):
            rejected.append(parsed)
        else:
            good.append(parsed)
    # Duplicates within the file: the first occurrence wins, later ones are reported.
    earlier = seen.earlier(list({r.address.key for r in good}))
    unique: dict[str, ImportRow] = {}
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
                write_batch(
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
    # Only rows that were written carry their warning (a rejected duplicate does not).
    warned = [Rejection(r.line, r.address.email, r.warning) for r in unique.values() if r.warning]
    for w in warned:
        summary.warned[w.reason.split(":")[0]] += 1
    if writer is not None and report is not None:
        rows = sorted([*rejected, *[replace(w, reason=f"warning: {w.reason}") for w in warned]],
                      key=lambda r: r.line)  # fmt: skip
        writer.writerows([r.line, safe_cell(r.email), r.reason] for r in rows)
        report.flush()
    else:
        summary.rejections.extend(rejected)
        summary.warnings.extend(warned)
    if batch:
        summary.last_line = batch[-1][0]


def _category(reason: str) -> str:
    if reason.startswith("duplicate"):
        return "duplicate in file"
    return reason


def read_report(path: Path) -> Iterator[tuple[int, str, str]]:
    """The rows of a report file, for tests and tools."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for line, email, reason in reader:
            yield int(line), email, reason
