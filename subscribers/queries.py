"""Read-only views for operators: paged member lists and counts per list and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, select

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
    query = (
        select(
            Subscriber.id,
            Subscriber.email,
            Subscriber.name,
            Membership.list_name,
            Membership.status,
            Membership.status_changed_at,
        )
        .join(Membership, Membership.subscriber_id == Subscriber.id)
        .where(*_filters(list_name, status, topic))
        .order_by(Membership.list_name, Subscriber.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return [MemberRow(*row) for row in conn.execute(query)]


def count_members(
    conn: Connection,
    *,
    list_name: str | None = None,
    status: str | None = None,
    topic: str | None = None,
) -> int:
    """How many memberships list_members pages through with the same filters."""
    query = (
        select(func.count())
        .select_from(Subscriber)
        .join(Membership, Membership.subscriber_id == Subscriber.id)
        .where(*_filters(list_name, status, topic))
    )
    return int(conn.execute(query).scalar_one())


def _filters(
    list_name: str | None, status: str | None, topic: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on a membership (joined to its subscriber) for the filters given."""
    found: list[ColumnElement[bool]] = []
    if list_name is not None:
        found.append(Membership.list_name == list_name)
    if status is not None:
        found.append(Membership.status == status)
    if topic is not None:
        found.append(
            select(MembershipTopic.membership_id)
            .where(
                MembershipTopic.membership_id == Membership.id,
                MembershipTopic.topic == topic.lower(),
            )
            .exists()
        )
    return found


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
