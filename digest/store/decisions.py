"""What operators decide about a send's deliveries: resend the uncertain, leave them, cancel.

Each is one UPDATE on the ledger (digest.store.deliveries holds the send's own moves).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from digest.core.models import Delivery


def resend_uncertain(conn: Connection, edition_id: int, now: datetime) -> int:
    """The operator's decision: uncertain rows go out again (some readers may get two)."""
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "uncertain")
        .values(status="pending", updated_at=now, error="resent by the operator's decision")
    )
    return max(result.rowcount, 0)


def leave_uncertain(conn: Connection, edition_id: int, now: datetime) -> int:
    """The operator's other decision: uncertain rows stay as they are, never resent.

    They become `unconfirmed` (the provider may have sent them), which settles them: the
    edition can finish, and they stay listed by address.
    """
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "uncertain")
        .values(
            status="unconfirmed", updated_at=now,
            error="left as it was by the operator's decision: the provider may have sent it",
        )
    )  # fmt: skip
    return max(result.rowcount, 0)


def cancel_pending(conn: Connection, edition_id: int, now: datetime) -> int:
    """Rows not yet claimed will never be sent."""
    result = conn.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
        .values(status="cancelled", updated_at=now)
    )
    return max(result.rowcount, 0)
