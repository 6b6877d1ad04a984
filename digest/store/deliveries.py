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

import importlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    any_,
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
from sqlalchemy.sql import Select

from digest.core.models import Delivery
from subscribers.idset import among
from subscribers.models import Subscriber

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


class Claimed(NamedTuple):
    """A claimed delivery: who it is for, and whether they may still be sent to."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    deliverable: bool = True
    attempts: int = 1


def claim(
    conn: Connection,
    edition_id: int,
    worker: str,
    size: int,
    now: datetime,
    after: int = 0,
    still: ColumnElement[bool] | None = None,
) -> list[Claimed]:
    """Mark the next `size` pending rows after id `after` claimed; returns them in id order.

    A worker passes the last id it claimed as `after`, so it does not walk again over the
    rows it and others have done (no index holds the status); `after=0` looks from the
    edition's first row, for rows that went back to pending. `still`, a condition on the
    subscriber, is answered for each row (false: they left the list after planning). On
    PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers take disjoint
    batches without waiting on each other; SQLite serialises writers anyway.
    """
    # One statement that changes only rows still pending and returns exactly those, so two
    # claimers (threads or processes) can never both get a row.
    pick = (
        select(Delivery.id)
        .where(
            Delivery.edition_id == edition_id,
            Delivery.id > after,
            Delivery.status == "pending",
            or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now),
        )
        .order_by(Delivery.id)
        .limit(size)
    )
    values = {
        "status": "claimed",
        "claimed_by": worker,
        "claimed_at": now,
        "updated_at": now,
        "attempts": Delivery.attempts + 1,
    }
    wanted = (
        Delivery.id,
        Delivery.subscriber_id,
        Subscriber.email,
        Subscriber.name,
        true() if still is None else still,
        Delivery.attempts,
    )
    if conn.dialect.name == "postgresql":
        # Lock first, then update: PostgreSQL may run an IN (… LIMIT n) subquery more than
        # once inside an UPDATE, which would claim more than n rows; ARRAY(SELECT …) is run
        # once, and its ids then drive the update through the primary key. The update reads
        # the readers' addresses (and `still`) in the same statement.
        locked = func.array(pick.with_for_update(skip_locked=True).scalar_subquery())
        rows = conn.execute(
            update(Delivery)
            .where(Delivery.id == any_(locked), Subscriber.id == Delivery.subscriber_id)
            .values(values)
            .returning(*wanted)
        ).all()
        return sorted(_claimed(rows))
    ids = (
        conn.execute(
            update(Delivery)
            .where(Delivery.id.in_(pick.scalar_subquery()), Delivery.status == "pending")
            .values(values)
            .returning(Delivery.id)
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    # SQLite's RETURNING cannot name another table's columns: the addresses come apart.
    rows = conn.execute(
        select(*wanted)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(among(conn, Delivery.id, ids))
        .order_by(Delivery.id)
    ).all()
    return _claimed(rows)


def _claimed(rows: Sequence[Any]) -> list[Claimed]:
    return [Claimed(d, s, e, n or "", bool(ok), a) for d, s, e, n, ok, a in rows]


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
    condition: ColumnElement[bool] = among(conn, Delivery.id, ids)
    if worker is not None:
        condition = and_(
            condition,
            Delivery.claimed_by == worker,
            Delivery.status.in_(("claimed", "uncertain")),
        )
    conn.execute(
        update(Delivery)
        .where(condition)
        .values(status=status, updated_at=now, provider_message_id=provider_id, error=error)
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
