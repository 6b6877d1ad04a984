"""The web app's one door into subscriber-list management.

Every change the web app makes to a subscriber or a membership goes through this module, so the
subscribers library (subscribe_pending, confirm, unsubscribe, set_topics, mark_bounced,
mark_complained, suppress, is_suppressed) can replace these bodies without touching the routes.
Until then it works on today's tables (subscribers, memberships) directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, func, or_, select, update

from subscribers.addresses import normalise_email
from subscribers.models import Membership, Status, Subscriber
from subscribers.store import add_subscriber
from subscribers.tokens import InvalidToken

# Statuses a subscriber can leave by unsubscribing; bounced and complained stay as they are.
_LEAVABLE = (Status.ACTIVE.value, Status.PENDING.value)
_SUPPRESSED = (Status.BOUNCED.value, Status.COMPLAINED.value)


@dataclass(frozen=True)
class MemberView:
    """One membership as the pages show it."""

    list_name: str
    status: str
    status_changed_at: datetime


@dataclass(frozen=True)
class SubscriberView:
    """A subscriber with their memberships and preferences."""

    id: int
    email: str
    name: str
    topics: dict[str, list[str]]
    memberships: list[MemberView]


class PageTokens:
    """Signed tokens for the confirm and preferences links (same keys as the email links)."""

    def __init__(self, keys: Sequence[str]) -> None:
        def serializer(salt: str) -> URLSafeSerializer:
            return URLSafeSerializer(
                list(reversed(keys)), salt=salt, signer_kwargs={"digest_method": hashlib.sha256}
            )

        self._confirm = serializer("digest.confirm")
        self._prefs = serializer("digest.preferences")

    def confirm_token(self, subscriber_id: int, list_name: str) -> str:
        """The token in a double opt-in email."""
        return str(self._confirm.dumps([subscriber_id, list_name]))

    def read_confirm(self, token: str) -> tuple[int, str]:
        """(subscriber id, list) from a confirm token."""
        try:
            sub, list_name = self._confirm.loads(token)
            return int(sub), str(list_name)
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("invalid or expired link") from None

    def preferences_token(self, subscriber_id: int) -> str:
        """The token of a subscriber's preferences page."""
        return str(self._prefs.dumps(subscriber_id))

    def read_preferences(self, token: str) -> int:
        """The subscriber id from a preferences token."""
        try:
            return int(self._prefs.loads(token))
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("invalid or expired link") from None


def _set_status(
    conn: Connection,
    subscriber_id: int,
    list_name: str | None,
    status: Status,
    allowed_from: Sequence[str],
    now: datetime,
) -> int:
    query = update(Membership).where(
        Membership.subscriber_id == subscriber_id, Membership.status.in_(list(allowed_from))
    )
    if list_name is not None:
        query = query.where(Membership.list_name == list_name)
    return conn.execute(query.values(status=status.value, status_changed_at=now)).rowcount


def subscribe_pending(
    conn: Connection, email: str, list_name: str, name: str, now: datetime
) -> int:
    """Record a web sign-up awaiting confirmation; an unsubscribed member may come back."""
    sub_id, _ = add_subscriber(conn, email, list_name, now, name=name, status=Status.PENDING)
    _set_status(conn, sub_id, list_name, Status.PENDING, [Status.UNSUBSCRIBED.value], now)
    return sub_id


def confirm(conn: Connection, subscriber_id: int, list_name: str, now: datetime) -> bool:
    """Double opt-in done: pending becomes active. True when the confirmation changed anything."""
    return bool(
        _set_status(conn, subscriber_id, list_name, Status.ACTIVE, [Status.PENDING.value], now)
    )


def unsubscribe(
    conn: Connection, subscriber_id: int, list_name: str, *, source: str, now: datetime
) -> bool:
    """Leave one list at once; doing it twice changes nothing. True when it changed the status."""
    del source  # recorded by the subscribers library's history once it is wired in
    return bool(_set_status(conn, subscriber_id, list_name, Status.UNSUBSCRIBED, _LEAVABLE, now))


def mark_bounced(conn: Connection, subscriber_id: int, now: datetime) -> int:
    """A hard bounce: the address is bad on every list."""
    return _set_status(conn, subscriber_id, None, Status.BOUNCED, _LEAVABLE, now)


def mark_complained(conn: Connection, subscriber_id: int, now: datetime) -> int:
    """A spam complaint: never mail this address again, on any list."""
    allowed = [*_LEAVABLE, Status.UNSUBSCRIBED.value, Status.BOUNCED.value]
    return _set_status(conn, subscriber_id, None, Status.COMPLAINED, allowed, now)


def is_suppressed(conn: Connection, subscriber_id: int) -> bool:
    """True when any membership says the address must not be mailed (bounced, complained)."""
    row = conn.execute(
        select(Membership.id).where(
            Membership.subscriber_id == subscriber_id, Membership.status.in_(_SUPPRESSED)
        )
    ).first()
    return row is not None


def find_by_email(conn: Connection, email: str) -> int | None:
    """A subscriber's id by address, if known."""
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    return conn.execute(select(Subscriber.id).where(Subscriber.email == address)).scalar()


def find_many_by_email(conn: Connection, emails: Sequence[str]) -> dict[str, int]:
    """Subscriber ids by address as given (unknown or invalid addresses are left out)."""
    wanted: dict[str, list[str]] = {}
    for given in emails:
        try:
            wanted.setdefault(normalise_email(given), []).append(given)
        except ValueError:
            continue
    found: dict[str, int] = {}
    keys = sorted(wanted)
    for i in range(0, len(keys), 500):
        rows = conn.execute(
            select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_(keys[i : i + 500]))
        )
        for address, sub_id in rows:
            for given in wanted[address]:
                found[given] = int(sub_id)
    return found


def get_subscriber(conn: Connection, subscriber_id: int) -> SubscriberView | None:
    """One subscriber with memberships and topics."""
    row = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.attributes).where(
            Subscriber.id == subscriber_id
        )
    ).first()
    if row is None:
        return None
    members = conn.execute(
        select(Membership.list_name, Membership.status, Membership.status_changed_at)
        .where(Membership.subscriber_id == subscriber_id)
        .order_by(Membership.list_name)
    ).all()
    attrs: dict[str, Any] = dict(row.attributes or {})
    return SubscriberView(
        id=row.id,
        email=row.email,
        name=row.name,
        topics={k: list(v) for k, v in dict(attrs.get("topics", {})).items()},
        memberships=[MemberView(*m) for m in members],
    )


def set_topics(
    conn: Connection, subscriber_id: int, list_name: str, topics: list[str], now: datetime
) -> None:
    """Which of a list's sections a subscriber wants (kept in the subscriber's attributes)."""
    attrs = conn.execute(
        select(Subscriber.attributes).where(Subscriber.id == subscriber_id)
    ).scalar_one()
    data = dict(attrs or {})
    chosen = dict(data.get("topics", {}))
    chosen[list_name] = sorted(set(topics))
    data["topics"] = chosen
    conn.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(attributes=data, updated_at=now)
    )


def set_name(conn: Connection, subscriber_id: int, name: str, now: datetime) -> None:
    """The name used in greetings."""
    conn.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(name=" ".join(name.split())[:200], updated_at=now)
    )


def search(conn: Connection, text: str, limit: int = 50) -> list[tuple[int, str, str]]:
    """Subscribers whose address or name contains `text`: (id, email, name)."""
    pattern = f"%{text.strip().lower()}%"
    rows = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name)
        .where(or_(Subscriber.email.like(pattern), func.lower(Subscriber.name).like(pattern)))
        .order_by(Subscriber.email)
        .limit(limit)
    ).all()
    return [(r.id, r.email, r.name) for r in rows]


def suppressed(conn: Connection, limit: int = 500) -> list[tuple[int, str, str, str, datetime]]:
    """The suppression list: (id, email, list, status, since), newest first."""
    rows = conn.execute(
        select(
            Subscriber.id, Subscriber.email, Membership.list_name, Membership.status,
            Membership.status_changed_at,
        )
        .join(Membership, Membership.subscriber_id == Subscriber.id)
        .where(Membership.status.in_(_SUPPRESSED))
        .order_by(Membership.status_changed_at.desc())
        .limit(limit)
    ).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]
