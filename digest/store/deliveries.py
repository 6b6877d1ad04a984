"""The deliveries ledger: one row per (edition, subscriber); statuses move only forward."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from digest.models import Delivery
from subscribers.models import Subscriber
from subscribers.store import RecipientRow

# pending → claimed → sent | rejected | failed | skipped; claimed rows whose worker died
# become pending again (resend-safe providers) or uncertain (everyone else).
FINAL = ("sent", "rejected", "failed", "skipped")
MAX_ATTEMPTS = 5


def plan(
    conn: Connection,
    edition_id: int,
    rows: Iterable[RecipientRow],
    now: datetime,
    chunk: int = 1000,
) -> int:
    """Insert a pending row per recipient, leaving rows already planned; returns rows added."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(Delivery)
    stmt = insert.on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
    added = 0
    batch: list[dict[str, object]] = []

    def flush() -> int:
        if not batch:
            return 0
        result = conn.execute(stmt, batch)
        batch.clear()
        return max(result.rowcount, 0)

    for r in rows:
        batch.append(
            {
                "edition_id": edition_id,
                "subscriber_id": r.subscriber_id,
                "status": "pending",
                "attempts": 0,
                "updated_at": now,
            }
        )
        if len(batch) >= chunk:
            added += flush()
    added += flush()
    return added


def recover_claimed(conn: Connection, edition_id: int, resend_safe: bool, now: datetime) -> int:
    """Rows a dead worker left claimed: retried if a resend is harmless, else marked uncertain."""
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "claimed")
        .values(
            status="pending" if resend_safe else "uncertain",
            updated_at=now,
            error="left claimed by an interrupted send",
        )
    )
    return max(result.rowcount, 0)


def claim(
    conn: Connection, edition_id: int, worker: str, size: int, now: datetime
) -> list[tuple[int, int, str, str]]:
    """Mark the next `size` pending rows claimed; returns (delivery, subscriber, email, name)."""
    ids = list(
        conn.execute(
            select(Delivery.id)
            .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
            .order_by(Delivery.id)
            .limit(size)
        ).scalars()
    )
    if not ids:
        return []
    conn.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "pending")
        .values(
            status="claimed",
            claimed_by=worker,
            claimed_at=now,
            updated_at=now,
            attempts=Delivery.attempts + 1,
        )
    )
    rows = conn.execute(
        select(Delivery.id, Delivery.subscriber_id, Subscriber.email, Subscriber.name)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(ids), Delivery.claimed_by == worker, Delivery.status == "claimed")
        .order_by(Delivery.id)
    ).all()
    return [(r.id, r.subscriber_id, r.email, r.name) for r in rows]


def mark(
    conn: Connection,
    ids: Sequence[int],
    status: str,
    now: datetime,
    provider_ids: dict[int, str | None] | None = None,
    errors: dict[int, str | None] | None = None,
) -> None:
    """Record the outcome of claimed rows."""
    for delivery_id in ids:
        values: dict[str, object] = {"status": status, "updated_at": now}
        if provider_ids and delivery_id in provider_ids:
            values["provider_message_id"] = provider_ids[delivery_id]
        if errors and delivery_id in errors:
            values["error"] = errors[delivery_id]
        if status == "pending":
            # A temporary failure: give up after MAX_ATTEMPTS and say so.
            values["status"] = case((Delivery.attempts >= MAX_ATTEMPTS, "failed"), else_="pending")
        conn.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def counts(conn: Connection, edition_id: int) -> dict[str, int]:
    """Rows per status for an edition."""
    rows = conn.execute(
        select(Delivery.status, func.count())
        .where(Delivery.edition_id == edition_id)
        .group_by(Delivery.status)
    ).all()
    return {status: int(n) for status, n in rows}
