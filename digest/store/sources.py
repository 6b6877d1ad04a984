"""Storing and reading source state: conditional-request validators, health and run history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from digest.core.models import SourceRun, SourceState


@dataclass(frozen=True)
class SourceHealth:
    """What `digest sources list` shows for one source."""

    name: str
    etag: str | None
    last_modified: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    last_counts: dict[str, int]


def source_health(conn: Connection, name: str) -> SourceHealth | None:
    """The stored state of one source, or None when it never ran."""
    row = conn.execute(select(*SourceState.__table__.c).where(SourceState.name == name)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["last_counts"] = dict(values["last_counts"] or {})
    return SourceHealth(**values)


def all_health(conn: Connection) -> dict[str, SourceHealth]:
    """Every stored source state by name."""
    names = conn.execute(select(SourceState.name)).scalars().all()
    return {n: h for n in names if (h := source_health(conn, n)) is not None}


def record_run(
    conn: Connection,
    name: str,
    now: datetime,
    counts: Mapping[str, int],
    error: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
    keep_validators: bool = False,
) -> None:
    """Record one run: a history row, and the source's health and validators updated."""
    conn.execute(
        insert(SourceRun).values(
            source=name, at=now, error=error,
            **{k: int(counts.get(k, 0)) for k in ("new", "updated", "duplicate", "unchanged")},
        )
    )  # fmt: skip
    current = source_health(conn, name)
    values: dict[str, object] = {"last_run_at": now, "last_counts": dict(counts)}
    if not keep_validators:
        values |= {"etag": etag, "last_modified": last_modified}
    if error:
        failures = (current.consecutive_failures if current else 0) + 1
        values |= {"last_error": error, "last_error_at": now, "consecutive_failures": failures}
    else:
        values |= {"last_success_at": now, "consecutive_failures": 0}
    if current is None:
        values.setdefault("consecutive_failures", 0)
        conn.execute(insert(SourceState).values(name=name, **values))
    else:
        conn.execute(update(SourceState).where(SourceState.name == name).values(**values))
