"""Read-only views for operators: paged member lists and counts per list and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from subscribers.models import Membership, MembershipTopic, Subscriber


@dataclass(frozen=True)
class MemberRow:
    """One line of `list`."""

    subscriber_id: int
    email: str
    name: str
    list_name: str
    status: str
    status_changed_at: datetime


def list_members(
    conn: Connection,
    *,
    list_name: str | None = None,
    status: str | None = None,
    topic: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> list[MemberRow]:
    """One page of memberships, by list then subscriber id, filtered as asked."""
    query = select(
        Subscriber.id,
        Subscriber.email,
        Subscriber.name,
        Membership.list_name,
        Membership.status,
        Membership.status_changed_at,
    ).join(Membership, Membership.subscriber_id == Subscriber.id)
    if list_name is not None:
        query = query.where(Membership.list_name == list_name)
    if status is not None:
        query = query.where(Membership.status == status)
    if topic is not None:
        query = query.where(
            select(MembershipTopic.membership_id)
            .where(
                MembershipTopic.membership_id == Membership.id,
                MembershipTopic.topic == topic.lower(),
            )
            .exists()
        )
    query = (
        query.order_by(Membership.list_name, Subscriber.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return [MemberRow(*row) for row in conn.execute(query)]


def counts(conn: Connection, list_name: str | None = None) -> dict[str, dict[str, int]]:
    """{list: {status: members}}, every list or one."""
    query = select(Membership.list_name, Membership.status, func.count()).group_by(
        Membership.list_name, Membership.status
    )
    if list_name is not None:
        query = query.where(Membership.list_name == list_name)
    out: dict[str, dict[str, int]] = {}
    for name, status, n in conn.execute(query):
        out.setdefault(name, {})[status] = int(n)
    return out
