"""One function per operation on subscribers; the CLI and the web app only call these.

Every function takes a Connection (the caller owns the transaction) and `now`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from subscribers.addresses import Address, clean_name, parse_address
from subscribers.erasure import ERASED_DOMAIN, forget
from subscribers.errors import NotFound, Refused, Suppressed, UnknownTopic
from subscribers.models import (
    LEFT,
    Consent,
    Membership,
    MembershipEvent,
    MembershipTopic,
    Method,
    Status,
    Subscriber,
)
from subscribers.suppression import AddressHasher, is_suppressed, suppress, suppressed_keys
from subscribers.views import show

__all__ = [
    "SubscribeResult",
    "add",
    "confirm",
    "forget",
    "is_suppressed",
    "mark_bounced",
    "mark_complained",
    "resubscribe",
    "set_topics",
    "show",
    "subscribe_pending",
    "suppress",
    "unsubscribe",
]


@dataclass(frozen=True)
class SubscribeResult:
    """What a subscribe did: the ids, the status now, and whether to send a confirmation."""

    subscriber_id: int | None
    status: str  # a Status value, or "suppressed"
    needs_confirmation: bool
    changed: bool


def find_subscriber(conn: Connection, email: str) -> int | None:
    """The id of the subscriber with this address (any case), or None."""
    key = parse_address(email).key
    return conn.execute(select(Subscriber.id).where(Subscriber.email_key == key)).scalar()


def _upsert_subscriber(
    conn: Connection, address: Address, name: str, now: datetime
) -> tuple[int, bool]:
    row = conn.execute(
        select(Subscriber.id, Subscriber.name).where(Subscriber.email_key == address.key)
    ).first()
    display = clean_name(name)
    if row is None:
        sub_id = conn.execute(
            insert(Subscriber)
            .values(
                email=address.email,
                email_key=address.key,
                domain=address.domain,
                name=display,
                attributes={},
                created_at=now,
                updated_at=now,
            )
            .returning(Subscriber.id)
        ).scalar_one()
        return int(sub_id), True
    if display and display != row.name:
        conn.execute(
            update(Subscriber).where(Subscriber.id == row.id).values(name=display, updated_at=now)
        )
        return int(row.id), True
    return int(row.id), False


def _membership(conn: Connection, subscriber_id: int, list_name: str) -> tuple[int, str] | None:
    row = conn.execute(
        select(Membership.id, Membership.status).where(
            Membership.subscriber_id == subscriber_id, Membership.list_name == list_name
        )
    ).first()
    return None if row is None else (int(row.id), str(row.status))


def _record_consent(
    conn: Connection, membership_id: int, method: str, now: datetime, ip: str | None, text: str
) -> None:
    conn.execute(
        insert(Consent).values(membership_id=membership_id, at=now, method=method, ip=ip, text=text)
    )


def _set_status(
    conn: Connection,
    membership_id: int,
    status: Status,
    source: str,
    now: datetime,
    edition_id: int | None = None,
) -> None:
    conn.execute(
        update(Membership)
        .where(Membership.id == membership_id)
        .values(
            status=status.value,
            status_changed_at=now,
            status_source=source[:32],
            status_edition_id=edition_id,
        )
    )
    _log_status(conn, membership_id, status, source, now, edition_id)


def _log_status(
    conn: Connection,
    membership_id: int,
    status: Status,
    source: str,
    now: datetime,
    edition_id: int | None = None,
) -> None:
    """Keep the membership's history: every status it took, not only the last."""
    conn.execute(
        insert(MembershipEvent).values(
            membership_id=membership_id, status=status.value, source=source[:32],
            edition_id=edition_id, at=now,
        )
    )  # fmt: skip


def _check_topics(topics: Iterable[str], allowed: Collection[str] | None) -> list[str]:
    wanted = sorted({t.strip().lower() for t in topics if t.strip()})
    if allowed is not None:
        unknown = [t for t in wanted if t not in allowed]
        if unknown:
            raise UnknownTopic(
                f"unknown topic(s) {', '.join(unknown)}",
                hint=f"this newsletter's topics: {', '.join(sorted(allowed))}",
            )
    return wanted


def _write_topics(conn: Connection, membership_id: int, topics: list[str]) -> None:
    conn.execute(delete(MembershipTopic).where(MembershipTopic.membership_id == membership_id))
    if topics:
        conn.execute(
            insert(MembershipTopic),
            [{"membership_id": membership_id, "topic": t} for t in topics],
        )


def add(
    conn: Connection,
    email: str,
    list_name: str,
    *,
    now: datetime,
    name: str = "",
    status: Status = Status.ACTIVE,
    method: str = Method.CLI,
    consent_text: str = "",
    ip: str | None = None,
    topics: Iterable[str] = (),
    allowed_topics: Collection[str] | None = None,
    hasher: AddressHasher | None = None,
) -> SubscribeResult:
    """Add an address to a list with a consent record.

    Refuses suppressed addresses and people who left the list (that takes `resubscribe`).
    """
    address = parse_address(email)
    wanted = _check_topics(topics, allowed_topics)
    if suppressed_keys(conn, [address], hasher):
        raise Suppressed(f"{address.email} is suppressed", hint="see `digest subscribers show`")
    sub_id, changed = _upsert_subscriber(conn, address, name, now)
    member = _membership(conn, sub_id, list_name)
    if member is not None and Status(member[1]) in LEFT:
        raise Refused(
            f"{address.email} is {member[1]} on {list_name}; adding does not undo that",
            hint="with their new consent, use `digest subscribers resubscribe`",
        )
    if member is None:
        mid = _insert_membership(conn, sub_id, list_name, status, method, now)
        _record_consent(conn, mid, method, now, ip, consent_text)
        _write_topics(conn, mid, wanted)
        return SubscribeResult(sub_id, status.value, status is Status.PENDING, True)
    mid, current = member
    if current == Status.PENDING and status is Status.ACTIVE:
        _set_status(conn, mid, Status.ACTIVE, method, now)
        _record_consent(conn, mid, method, now, ip, consent_text)
        current, changed = Status.ACTIVE, True
    if wanted:
        _write_topics(conn, mid, wanted)
    return SubscribeResult(sub_id, current, current == Status.PENDING, changed)


def _insert_membership(
    conn: Connection, sub_id: int, list_name: str, status: Status, source: str, now: datetime
) -> int:
    mid = int(
        conn.execute(
            insert(Membership)
            .values(
                subscriber_id=sub_id,
                list_name=list_name,
                status=status.value,
                status_changed_at=now,
                created_at=now,
                status_source=source,
            )
            .returning(Membership.id)
        ).scalar_one()
    )
    _log_status(conn, mid, status, source, now)
    return mid


def subscribe_pending(
    conn: Connection,
    email: str,
    list_name: str,
    *,
    now: datetime,
    ip: str | None = None,
    consent_text: str = "",
    name: str = "",
    topics: Iterable[str] = (),
    allowed_topics: Collection[str] | None = None,
    source: str = Method.FORM,
    hasher: AddressHasher | None = None,
) -> SubscribeResult:
    """A sign-up awaiting double opt-in; says whether to send a confirmation email.

    Suppressed addresses get status "suppressed" and no email (the caller should answer the
    same way in every case, so the form does not reveal who is on the list).
    """
    address = parse_address(email)
    wanted = _check_topics(topics, allowed_topics)
    if suppressed_keys(conn, [address], hasher):
        return SubscribeResult(None, "suppressed", False, False)
    sub_id, changed = _upsert_subscriber(conn, address, name, now)
    member = _membership(conn, sub_id, list_name)
    if member is None:
        mid = _insert_membership(conn, sub_id, list_name, Status.PENDING, source, now)
        _record_consent(conn, mid, source, now, ip, consent_text)
        _write_topics(conn, mid, wanted)
        return SubscribeResult(sub_id, Status.PENDING, True, True)
    mid, current = member
    if current == Status.ACTIVE:
        return SubscribeResult(sub_id, current, False, changed)
    if current != Status.PENDING:
        # They left before and now ask again themselves: pending until they confirm.
        _set_status(conn, mid, Status.PENDING, source, now)
        _record_consent(conn, mid, source, now, ip, consent_text)
        changed = True
    if wanted:
        _write_topics(conn, mid, wanted)
    return SubscribeResult(sub_id, Status.PENDING, True, changed)


def confirm(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    *,
    now: datetime,
    ip: str | None = None,
    hasher: AddressHasher | None = None,
) -> bool:
    """Double opt-in confirmed: pending → active with a consent record. Idempotent.

    False when there is nothing to confirm (left since, suppressed, or no such membership).
    """
    member = _membership(conn, subscriber_id, list_name)
    if member is None:
        return False
    mid, current = member
    if current == Status.ACTIVE:
        return True
    if current != Status.PENDING:
        return False
    email = conn.execute(select(Subscriber.email).where(Subscriber.id == subscriber_id)).scalar()
    if email is None or is_suppressed(conn, email, hasher=hasher):
        return False
    _set_status(conn, mid, Status.ACTIVE, Method.CONFIRM, now)
    _record_consent(conn, mid, Method.CONFIRM, now, ip, "confirmed by the link in the email")
    return True


def unsubscribe(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    *,
    source: str,
    now: datetime,
    edition_id: int | None = None,
) -> bool:
    """Leave a list at once; True if the status changed (a second call changes nothing)."""
    member = _membership(conn, subscriber_id, list_name)
    if member is None or member[1] == Status.UNSUBSCRIBED:
        return False
    _set_status(conn, member[0], Status.UNSUBSCRIBED, source, now, edition_id)
    return True


def resubscribe(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    *,
    consent_text: str,
    method: str = Method.CLI,
    now: datetime,
    ip: str | None = None,
    hasher: AddressHasher | None = None,
) -> bool:
    """Back to active after leaving, only with a new consent record saying why that is allowed."""
    if not consent_text.strip():
        raise Refused(
            "resubscribing needs a new consent record",
            hint="say where the new consent came from, e.g. --consent 'asked by email 2026-12-01'",
        )
    member = _membership(conn, subscriber_id, list_name)
    if member is None:
        raise NotFound(f"subscriber {subscriber_id} is not on list {list_name}")
    email = conn.execute(select(Subscriber.email).where(Subscriber.id == subscriber_id)).scalar()
    if email is None or is_suppressed(conn, email, hasher=hasher):
        raise Suppressed(f"{email} is suppressed", hint="unsuppress it first, if that is right")
    mid, current = member
    if current == Status.ACTIVE:
        return False
    _set_status(conn, mid, Status.ACTIVE, method, now)
    _record_consent(conn, mid, method, now, ip, consent_text.strip())
    return True


def set_topics(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    topics: Iterable[str],
    *,
    now: datetime,
    allowed: Collection[str] | None = None,
) -> list[str]:
    """Replace a member's topics (empty means every topic); returns what was stored."""
    wanted = _check_topics(topics, allowed)
    member = _membership(conn, subscriber_id, list_name)
    if member is None:
        raise NotFound(f"subscriber {subscriber_id} is not on list {list_name}")
    _write_topics(conn, member[0], wanted)
    conn.execute(update(Subscriber).where(Subscriber.id == subscriber_id).values(updated_at=now))
    return wanted


def _subscriber_id(conn: Connection, who: int | str) -> int | None:
    return who if isinstance(who, int) else find_subscriber(conn, who)


def _mark(
    conn: Connection,
    who: int | str,
    status: Status,
    *,
    list_name: str | None,
    source: str,
    now: datetime,
) -> int:
    sub_id = _subscriber_id(conn, who)
    if sub_id is None:
        return 0
    query = select(Membership.id).where(
        Membership.subscriber_id == sub_id, Membership.status != status.value
    )
    if list_name is not None:
        query = query.where(Membership.list_name == list_name)
    ids = list(conn.execute(query).scalars())
    for mid in ids:
        _set_status(conn, mid, status, source, now)
    return len(ids)


def mark_bounced(
    conn: Connection,
    who: int | str,
    *,
    now: datetime,
    source: str = "webhook",
    list_name: str | None = None,
) -> int:
    """A hard bounce: the membership(s) become `bounced`; returns how many changed."""
    return _mark(conn, who, Status.BOUNCED, list_name=list_name, source=source, now=now)


def mark_complained(
    conn: Connection,
    who: int | str,
    *,
    now: datetime,
    source: str = "webhook",
    list_name: str | None = None,
    hasher: AddressHasher | None = None,
) -> int:
    """A spam complaint: membership(s) become `complained` and the address is suppressed."""
    changed = _mark(conn, who, Status.COMPLAINED, list_name=list_name, source=source, now=now)
    sub_id = _subscriber_id(conn, who)
    if sub_id is not None:
        email = conn.execute(select(Subscriber.email).where(Subscriber.id == sub_id)).scalar()
        if email and not email.endswith("@" + ERASED_DOMAIN):
            suppress(conn, email, reason="spam complaint", source=source, now=now, hasher=hasher)
    return changed
