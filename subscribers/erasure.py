"""GDPR erasure: a subscriber's personal data deleted, a keyed hash of the address kept.

The hash sits on the suppression list, so a later import cannot bring the address back though
it is stored nowhere any more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from subscribers.addresses import parse_address
from subscribers.models import Membership, Subscriber, Suppression
from subscribers.suppression import AddressHasher, suppress

ERASED_DOMAIN = "erased.invalid"  # where erased subscribers' placeholder addresses live


def forget(conn: Connection, email: str, *, now: datetime, hasher: AddressHasher) -> bool:
    """GDPR erasure: personal data gone, only a keyed hash kept so no import brings it back.

    The subscriber row stays, emptied, so the deliveries ledger keeps its counts.
    """
    address = parse_address(email)
    sub_id = conn.execute(select(Subscriber.id).where(Subscriber.email_key == address.key)).scalar()
    # The plain address leaves the suppression list; its hash replaces it.
    conn.execute(delete(Suppression).where(Suppression.email_key == address.key))
    suppress(conn, address.email, reason="erased", source="forget", now=now, hasher=hasher)
    conn.execute(
        update(Suppression).where(Suppression.email_key == address.key).values(email_key=None)
    )
    if sub_id is None:
        return False
    conn.execute(delete(Membership).where(Membership.subscriber_id == sub_id))
    placeholder = f"erased-{sub_id}@{ERASED_DOMAIN}"
    conn.execute(
        update(Subscriber)
        .where(Subscriber.id == sub_id)
        .values(
            email=placeholder,
            email_key=placeholder,
            domain=ERASED_DOMAIN,
            name="",
            attributes={},
            updated_at=now,
        )
    )
    return True
