"""The deliveries ledger: one row per (edition, subscriber); statuses move only forward.

pending → claimed → sent | rejected | skipped (left the list, or none of their topics)
claimed → pending with retry_at (a temporary failure: "retrying" in the counts), until
          send.retry_window has passed since the first one → failed
claimed → pending, uncounted (never handed to the provider: an outage, a signal)
claimed → uncertain (the provider may have it: a lost answer, or a worker that died)
uncertain → pending only when the operator asks (`--resend-uncertain`), or → unconfirmed
            when they settle it (`digest send settle`; see digest.store.decisions)
failed → pending when the operator sends a failed edition again
pending → cancelled when the operator cancels the send
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.sql import Select, Update

from digest.core.models import Delivery
from subscribers.idset import among, among_param, ids_text
from subscribers.sqltypes import UTCDateTime

FINAL = ("sent", "rejected", "failed", "skipped", "cancelled")
UNFINISHED = ("pending", "retrying", "claimed", "uncertain")


def plan(conn: Connection, edition_id: int, readers: Select[int], now: datetime) -> int:
    """A pending row per reader (a query of subscriber ids), leaving rows already planned.

    One INSERT … SELECT: the readers are chosen and the rows written inside the database, in
    constant memory here whatever the list's size. Returns the rows added.
    """
    # Each dialect's INSERT (for ON CONFLICT) is imported with it: a SQLite send never loads
    # the PostgreSQL dialect.
    insert = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}").insert
    ids = readers.subquery("readers")
    (subscriber_id,) = ids.c
    stmt = (
        insert(Delivery)
        .from_select(
            ["edition_id", "subscriber_id", "status", "attempts", "updated_at"],
            select(
                bindparam(None, edition_id, type_=Delivery.edition_id.type),
                subscriber_id,
                literal("pending"),
                literal(0),
                bindparam(None, now, type_=Delivery.updated_at.type),
            )
            .where(true())  # SQLite needs a WHERE before an upsert's ON CONFLICT
            .order_by(subscriber_id),
        )
        .on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
    )
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    return max(conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount, 0)


def analyze(conn: Connection) -> None:
    """Fresh statistics on PostgreSQL after planning many rows.

    The send's statements are planned from them; without this they describe the ledger
    before these rows, until autovacuum gets round to it.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE deliveries"))


def recover_expired(
    conn: Connection, edition_id: int, resend_safe: bool, now: datetime, lease: timedelta
) -> int:
    """Rows whose worker's lease ran out: retried if a resend is harmless, else uncertain.

    A live worker's rows (claimed within the lease) are left alone, so several workers can
    start and stop while others are sending.
    """
    result = conn.execute(
        update(Delivery)
        .where(
            Delivery.edition_id == edition_id,
            Delivery.status == "claimed",
            Delivery.claimed_at < now - lease,
        )
        .values(
            status="pending" if resend_safe else "uncertain",
            updated_at=now,
            error="left claimed by an interrupted send; the provider may or may not have it",
        )
    )
    return max(result.rowcount, 0)


def claimers(conn: Connection, edition_id: int) -> list[str]:
    """The workers holding claimed rows of the edition."""
    return [
        w
        for w in conn.execute(
            select(Delivery.claimed_by)
            .where(Delivery.edition_id == edition_id, Delivery.status == "claimed")
            .distinct()
        ).scalars()
        if w
    ]


def recover_workers(
    conn: Connection, edition_id: int, workers: Sequence[str], resend_safe: bool, now: datetime
) -> int:
    """Rows claimed by workers known to be dead, recovered without waiting for the lease."""
    if not workers:
        return 0
    result = conn.execute(
        update(Delivery)
        .where(
            Delivery.edition_id == edition_id,
            Delivery.status == "claimed",
            Delivery.claimed_by.in_(list(workers)),
        )
        .values(
            status="pending" if resend_safe else "uncertain",
            updated_at=now,
            error="left claimed by a worker that died; the provider may or may not have it",
        )
    )
    return max(result.rowcount, 0)


def recover_claimed(conn: Connection, edition_id: int, resend_safe: bool, now: datetime) -> int:
    """Every claimed row, whatever its lease (for a single worker that knows it is alone)."""
    return recover_expired(conn, edition_id, resend_safe, now, timedelta(seconds=-1))


def release(conn: Connection, ids: Sequence[int], worker: str, now: datetime) -> None:
    """Claimed rows that were never handed to the provider go back to pending, uncounted."""
    if not ids:
        return
    conn.execute(
        update(Delivery)
        .where(
            among(conn, Delivery.id, ids),
            Delivery.status == "claimed",
            Delivery.claimed_by == worker,
        )
        .values(status="pending", updated_at=now, attempts=Delivery.attempts - 1)
    )


def mark(
    conn: Connection,
    ids: Sequence[int],
    status: str,
    now: datetime,
    provider_ids: dict[int, str | None] | None = None,
    errors: dict[int, str | None] | None = None,
    worker: str | None = None,
) -> None:
    """Record the outcome of claimed rows in one statement per status.

    With `worker`, only rows this worker still owns change (claimed, or marked uncertain
    while it was slow): an answer the provider gave is recorded even after the lease ran out.
    """
    if not ids:
        return
    provider_ids = provider_ids or {}
    errors = errors or {}
    # Rows that share an answer (a SendGrid request's one X-Message-Id, or no error) are
    # updated by one statement each; executemany per row costs more than the provider call.
    groups: dict[tuple[str | None, str | None], list[int]] = {}
    for i in ids:
        groups.setdefault((provider_ids.get(i), errors.get(i)), []).append(i)
    if len(groups) <= 4:
        for (pid, err), members in groups.items():
            _mark_group(conn, members, status, now, pid, err, worker)
        return
    condition = Delivery.id == bindparam("b_id")
    if worker is not None:
        condition = and_(
            condition,
            Delivery.claimed_by == worker,
            or_(Delivery.status == "claimed", Delivery.status == "uncertain"),
        )
    stmt = (
        update(Delivery)
        .where(condition)
        .values(
            status=status,
            updated_at=now,
            provider_message_id=bindparam("b_pid"),
            error=bindparam("b_err"),
        )
    )
    conn.execute(
        stmt,
        [{"b_id": i, "b_pid": provider_ids.get(i), "b_err": errors.get(i)} for i in ids],
    )


def _mark_group(
    conn: Connection,
    ids: Sequence[int],
    status: str,
    now: datetime,
    provider_id: str | None,
    error: str | None,
    worker: str | None,
) -> None:
    dialect = conn.dialect.name
    params = {
        "b_ids": ids_text(dialect, ids),
        "b_status": status,
        "b_now": now,
        "b_pid": provider_id,
        "b_err": error,
    }
    if worker is not None:
        params["b_worker"] = worker
    conn.execute(_group_update(dialect, worker is not None), params)


@functools.cache
def _group_update(dialect: str, owned: bool) -> Update:
    """The statement of _mark_group, built once per dialect: a send runs it for every batch."""
    condition = among_param(dialect, Delivery.id, bindparam("b_ids", type_=String))
    if owned:
        condition = and_(
            condition,
            Delivery.claimed_by == bindparam("b_worker", type_=String),
            Delivery.status.in_(("claimed", "uncertain")),
        )
    return (
        update(Delivery)
        .where(condition)
        .values(
            status=bindparam("b_status", type_=String),
            updated_at=bindparam("b_now", type_=UTCDateTime()),
            provider_message_id=bindparam("b_pid", type_=String),
            error=bindparam("b_err", type_=Text),
        )
    )


def retry_later(
    conn: Connection,
    ids: Sequence[int],
    due: datetime,
    now: datetime,
    window: timedelta,
    error: str,
    worker: str,
) -> None:
    """A temporary failure: the rows wait until `due`, or fail once `window` has passed.

    The window is counted from each row's first temporary failure, so a reader is given up
    on only after failing for that long, however many tries it took.
    """
    if not ids:
        return
    expired = and_(Delivery.failing_since.is_not(None), Delivery.failing_since <= now - window)
    conn.execute(
        update(Delivery)
        .where(
            among(conn, Delivery.id, ids),
            Delivery.claimed_by == worker,
            Delivery.status.in_(("claimed", "uncertain")),
        )
        .values(
            status=case((expired, "failed"), else_="pending"),
            retry_at=case((expired, None), else_=due),
            failing_since=func.coalesce(Delivery.failing_since, now),
            updated_at=now,
            error=case(
                (expired, f"gave up after retrying for {_span(window)}: {error}"), else_=error
            ),
        )
    )


def _span(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{window.total_seconds() / 60:g} min"


def next_due(conn: Connection, edition_id: int) -> datetime | None:
    """When the earliest row waiting after a temporary failure is due again."""
    return conn.execute(
        select(func.min(Delivery.retry_at)).where(
            Delivery.edition_id == edition_id,
            Delivery.status == "pending",
            Delivery.retry_at.is_not(None),
        )
    ).scalar()


def fail_unsent(conn: Connection, edition_id: int, now: datetime, error: str) -> int:
    """The send gave up (the provider stayed down): every reader not yet sent is failed.

    Rows a worker holds (claimed) and uncertain ones are left as they are: their outcome is
    theirs to record, or the operator's to decide.
    """
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
        .values(status="failed", retry_at=None, updated_at=now, error=error)
    )
    return max(result.rowcount, 0)


def reopen_failed(conn: Connection, edition_id: int, now: datetime) -> int:
    """The operator sends a failed edition again: readers given up on get a new window."""
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "failed")
        .values(
            status="pending",
            retry_at=None,
            failing_since=None,
            updated_at=now,
            error="sent again by the operator's decision",
        )
    )
    return max(result.rowcount, 0)


def shown_status() -> ColumnElement[str]:
    """The status as operators see it: a pending row waiting after a failure is "retrying"."""
    return case(
        (and_(Delivery.status == "pending", Delivery.retry_at.is_not(None)), "retrying"),
        else_=Delivery.status,
    )


def counts(conn: Connection, edition_id: int) -> dict[str, int]:
    """Rows per status for an edition."""
    shown = shown_status()
    rows = conn.execute(
        select(shown, func.count()).where(Delivery.edition_id == edition_id).group_by(shown)
    ).all()
    return {status: int(n) for status, n in rows}
