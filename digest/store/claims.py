"""Claiming a batch of the ledger's pending rows: the step that hands readers to one worker.

A claimed row belongs to its worker until it records the answer or gives the row back (see
digest.store.deliveries for the rest of a row's life).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    any_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql import Executable

from digest.core.models import Delivery
from subscribers.idset import among_param, ids_text
from subscribers.models import Subscriber
from subscribers.sqltypes import UTCDateTime


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

    One call of a Claimer (see there); a send makes one Claimer and calls it for each batch.
    """
    return Claimer(conn.dialect.name, edition_id, worker, size, still)(conn, now, after)


class Claimer:
    """Claims batches of one edition's pending rows for one worker.

    A worker passes the last id it claimed as `after`, so it does not walk again over the
    rows it and others have done (no index holds the status); `after=0` looks from the
    edition's first row, for rows that went back to pending. `still`, a condition on the
    subscriber, is answered for each row (false: they left the list after planning). On
    PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers take disjoint
    batches without waiting on each other; SQLite serialises writers anyway. The statements
    are built once, with parameters for what changes between batches, and their rows read as
    the driver gives them: building them for each batch and processing the rows had cost a
    third as much again as the database's own work (SQLite, batches of a thousand).
    """

    def __init__(
        self,
        dialect: str,
        edition_id: int,
        worker: str,
        size: int,
        still: ColumnElement[bool] | None = None,
    ) -> None:
        self.dialect = dialect
        after, at = bindparam("b_after", type_=Integer), bindparam("b_now", type_=UTCDateTime())
        # One statement that changes only rows still pending and returns exactly those, so
        # two claimers (threads or processes) can never both get a row.
        pick = (
            select(Delivery.id)
            .where(
                Delivery.edition_id == edition_id,
                Delivery.id > after,
                Delivery.status == "pending",
                or_(Delivery.retry_at.is_(None), Delivery.retry_at <= at),
            )
            .order_by(Delivery.id)
            .limit(size)
        )
        values = {
            "status": "claimed",
            "claimed_by": worker,
            "claimed_at": at,
            "updated_at": at,
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
        if dialect == "postgresql":
            # Lock first, then update: PostgreSQL may run an IN (… LIMIT n) subquery more
            # than once inside an UPDATE, which would claim more than n rows; ARRAY(SELECT …)
            # is run once, and its ids then drive the update through the primary key. The
            # update reads the readers' addresses (and `still`) in the same statement.
            locked = func.array(pick.with_for_update(skip_locked=True).scalar_subquery())
            self.take: Executable = (
                update(Delivery)
                .where(Delivery.id == any_(locked), Subscriber.id == Delivery.subscriber_id)
                .values(values)
                .returning(*wanted)
            )
            return
        self.take = (
            update(Delivery)
            .where(Delivery.id.in_(pick.scalar_subquery()), Delivery.status == "pending")
            .values(values)
            .returning(Delivery.id)
        )
        # SQLite's RETURNING cannot name another table's columns: the addresses come apart.
        self.read = (
            select(*wanted)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(among_param(dialect, Delivery.id, bindparam("b_ids", type_=String)))
            .order_by(Delivery.id)
        )

    def __call__(self, conn: Connection, now: datetime, after: int = 0) -> list[Claimed]:
        """The next batch after id `after`, claimed at `now`, in id order."""
        # Plain driver rows: no column here needs SQLAlchemy's result processing.
        taken = conn.execute(self.take, {"b_after": after, "b_now": now}).cursor.fetchall()
        if self.dialect == "postgresql":
            return sorted(_claimed(taken))
        if not taken:
            return []
        ids = ids_text(self.dialect, (row[0] for row in taken))
        return _claimed(conn.execute(self.read, {"b_ids": ids}).cursor.fetchall())


def _claimed(rows: Sequence[Any]) -> list[Claimed]:
    return [Claimed(d, s, e, n or "", bool(ok), a) for d, s, e, n, ok, a in rows]
