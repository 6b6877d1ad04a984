"""The ledger as operators read it: every reader in a given state, streamed by id.

Lists of uncertain, failed or skipped readers can hold millions of rows; they are read a
page at a time so memory stays flat and each query short.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from digest.core.models import Delivery
from digest.store.deliveries import shown_status
from subscribers.models import Subscriber

LISTED = ("uncertain", "unconfirmed", "failed", "skipped", "rejected", "retrying")


class Listed(NamedTuple):
    """One delivery an operator should see: who, in what state, and why."""

    delivery_id: int
    email: str
    status: str
    error: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    retry_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "delivery_id": self.delivery_id,
            "email": self.email,
            "status": self.status,
            "error": self.error,
            "claimed_by": self.claimed_by,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


def listed(
    conn: Connection, edition_id: int, statuses: Sequence[str] = LISTED, page: int = 1000
) -> Iterator[Listed]:
    """Every delivery of the edition in these statuses, in id order, a page at a time.

    Keyset pages (id > last) keep memory flat and each query short, for lists of millions.
    "retrying" is a pending row with a retry_at.
    """
    wanted = [s for s in statuses if s != "retrying"]
    shown = shown_status()
    which: ColumnElement[bool] = Delivery.status.in_(wanted)
    if "retrying" in statuses:
        which = or_(which, and_(Delivery.status == "pending", Delivery.retry_at.is_not(None)))
    after = 0
    while True:
        rows = conn.execute(
            select(
                Delivery.id,
                Subscriber.email,
                shown,
                Delivery.error,
                Delivery.claimed_by,
                Delivery.claimed_at,
                Delivery.retry_at,
            )
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.edition_id == edition_id, Delivery.id > after, which)
            .order_by(Delivery.id)
            .limit(page)
        ).all()
        for r in rows:
            yield Listed(r[0], r[1], r[2], r[3], r[4], r[5], r[6])
        if len(rows) < page:
            return
        after = rows[-1][0]
