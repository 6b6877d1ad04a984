"""What an operator sees of one subscriber: memberships, topics, consent, suppression."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from subscribers.addresses import parse_address
from subscribers.errors import NotFound
from subscribers.models import Consent, Membership, MembershipEvent, MembershipTopic, Subscriber
from subscribers.suppression import AddressHasher, is_suppressed


def topics_of(conn: Connection, subscriber_id: int, list_name: str) -> list[str]:
    """A member's topics (empty: every topic)."""
    return list(
        conn.execute(
            select(MembershipTopic.topic)
            .join(Membership, Membership.id == MembershipTopic.membership_id)
            .where(Membership.subscriber_id == subscriber_id, Membership.list_name == list_name)
            .order_by(MembershipTopic.topic)
        ).scalars()
    )


def status_history(conn: Connection, member: Any) -> list[dict[str, Any]]:
    """The statuses a membership took, oldest first.

    Operations log each change; a bulk import writes only the membership row, so its state is
    added at the end when the log does not hold it yet.
    """
    events = MembershipEvent.__table__
    found = [
        {"status": e.status, "at": e.at.isoformat(), "source": e.source, "edition_id": e.edition_id}
        for e in conn.execute(
            select(events).where(events.c.membership_id == member.id).order_by(events.c.id)
        )
    ]
    current = {
        "status": member.status,
        "at": member.status_changed_at.isoformat(),
        "source": member.status_source,
        "edition_id": member.status_edition_id,
    }
    if not found or (found[-1]["status"], found[-1]["at"]) != (current["status"], current["at"]):
        found.append(current)
    return found


@dataclass(frozen=True)
class MembershipView:
    """One membership as shown to an operator."""

    list_name: str
    status: str
    status_changed_at: datetime
    status_source: str
    topics: list[str]
    consents: list[dict[str, Any]]
    # Every status the membership took, oldest first: {"status", "at", "source", "edition_id"}.
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class SubscriberView:
    """Everything stored about one subscriber."""

    id: int
    email: str
    name: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    suppressed: bool
    memberships: list[MembershipView]


def show(conn: Connection, email: str, *, hasher: AddressHasher | None = None) -> SubscriberView:
    """A subscriber with memberships, topics and consent records; NotFound if unknown."""
    address = parse_address(email)
    subs, members, consents_t = Subscriber.__table__, Membership.__table__, Consent.__table__
    sub = conn.execute(select(subs).where(subs.c.email_key == address.key)).first()
    if sub is None:
        raise NotFound(f"no subscriber {address.email}")
    views = []
    for m in conn.execute(
        select(members).where(members.c.subscriber_id == sub.id).order_by(members.c.list_name)
    ):
        consents = [
            {"at": c.at.isoformat(), "method": c.method, "ip": c.ip, "text": c.text}
            for c in conn.execute(
                select(consents_t)
                .where(consents_t.c.membership_id == m.id)
                .order_by(consents_t.c.id)
            )
        ]
        views.append(
            MembershipView(
                m.list_name,
                m.status,
                m.status_changed_at,
                m.status_source,
                topics_of(conn, sub.id, m.list_name),
                consents,
                status_history(conn, m),
            )
        )
    return SubscriberView(
        sub.id,
        sub.email,
        sub.name,
        dict(sub.attributes or {}),
        sub.created_at,
        sub.updated_at,
        is_suppressed(conn, sub.email, hasher=hasher),
        views,
    )
