"""Subscribers and memberships: the simple add and import, and the recipients of a send."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, exists, or_, select

from subscribers.addresses import parse_address
from subscribers.idset import among
from subscribers.models import Membership, MembershipTopic, Status, Subscriber, Suppression
from subscribers.ops import add
from subscribers.suppression import AddressHasher


class RecipientRow(NamedTuple):
    """One active member of a list, as a send needs it; empty topics means every topic.

    A named tuple, not a dataclass: a million of them are made per send, at a fifth the cost.
    """

    subscriber_id: int
    email: str
    name: str
    topics: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What an import did: counts, and each rejected row with its line and reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # imported, something left out


def add_subscriber(
    conn: Connection,
    email: str,
    list_name: str,
    now: datetime,
    name: str = "",
    status: Status = Status.ACTIVE,
) -> tuple[int, bool]:
    """Add an address to a list; returns (subscriber id, True if anything changed).

    An existing membership keeps its status: leaving a list is never undone by adding again.
    """
    result = add(conn, email, list_name, now=now, name=name, status=status)
    assert result.subscriber_id is not None
    return result.subscriber_id, result.changed


def import_csv(
    engine: Engine,
    path: Path,
    list_name: str,
    now: datetime,
    hasher: AddressHasher | None = None,
    allowed_topics: Sequence[str] | None = None,
) -> ImportReport:
    """Import a CSV into a list as active members (see `subscribers.importer` for the rules);
    topics outside `allowed_topics` are dropped from their rows with a warning."""
    from subscribers.importer import import_file

    summary = import_file(
        engine, path, list_name, now=now, hasher=hasher, report_path=None,
        allowed_topics=allowed_topics,
    )  # fmt: skip
    return ImportReport(
        added=summary.added,
        updated=summary.updated,
        unchanged=summary.unchanged,
        rejected=[(r.line, r.reason) for r in summary.rejections],
        warnings=[(w.line, w.reason) for w in summary.warnings],
    )


def _not_suppressed() -> ColumnElement[bool]:
    # Two NOT EXISTS rather than one with OR, so each probe uses its index.
    return and_(
        ~exists().where(Suppression.email_key == Subscriber.email_key),
        ~exists().where(Suppression.domain == Subscriber.domain),
    )


def recipients(
    engine: Engine,
    list_name: str,
    batch: int = 5000,
    topics: Sequence[str] | None = None,
) -> Iterator[RecipientRow]:
    """Active, unsuppressed members of a list by subscriber id, in keyset pages (constant memory).

    With `topics` (an edition's sections), members who chose topics get it only if one matches.
    Each page is one query on a connection held only while it runs, so a send that writes
    while it reads keeps no transaction open between pages.
    """
    last = 0
    while True:
        with engine.connect() as conn:
            result = conn.execute(_page(list_name, last, batch, topics))
            # Plain driver tuples: no column here needs SQLAlchemy's result processing.
            rows = result.cursor.fetchall()
            result.close()
        if not rows:
            return
        last = rows[-1][0]
        # One row per (member, chosen topic), in subscriber then topic order: fold them.
        current: tuple[int, str, str] | None = None
        chosen: list[str] = []
        for sid, email, name, topic in rows:
            if current is not None and current[0] != sid:
                yield RecipientRow(*current, tuple(chosen))
                chosen = []
            current = (sid, email, name)
            if topic is not None:
                chosen.append(topic)
        assert current is not None
        yield RecipientRow(*current, tuple(chosen))


def _members(list_name: str, topics: Sequence[str] | None) -> Select[int, str, str, int]:
    """Who gets a send: active, unsuppressed members (with `topics`, those it has for them)."""
    members = (
        select(Subscriber.id, Subscriber.email, Subscriber.name, Membership.id.label("mid"))
        .join(Membership, Membership.subscriber_id == Subscriber.id)
        .where(
            Membership.list_name == list_name,
            Membership.status == Status.ACTIVE.value,
            _not_suppressed(),
        )
    )
    if topics is not None:
        chosen = exists().where(MembershipTopic.membership_id == Membership.id)
        matching = exists().where(
            MembershipTopic.membership_id == Membership.id,
            MembershipTopic.topic.in_(list(topics)),
        )
        members = members.where(or_(~chosen, matching))
    return members


def recipient_ids(
    list_name: str,
    topics: Sequence[str] | None = None,
    after: int = 0,
    upto: int | None = None,
) -> Select[int]:
    """The subscriber ids `recipients` would stream, as a query to run inside the database.

    A send plans its ledger with INSERT … SELECT from this: the same readers, without
    carrying a million ids to Python and back. `after` and `upto` bound the ids, for
    planning in steps.
    """
    found = _members(list_name, topics).with_only_columns(Membership.subscriber_id)
    # On both tables: the database does not carry a range from one side of a join to the
    # other, and each side then reads only its own slice through its index.
    if after:
        found = found.where(Subscriber.id > after, Membership.subscriber_id > after)
    if upto is not None:
        found = found.where(Subscriber.id <= upto, Membership.subscriber_id <= upto)
    return found


def members_after(conn: Connection, list_name: str, after: int, count: int) -> int | None:
    """The subscriber id of the `count`-th active member after `after`; None if fewer are left.

    Where a step of planning ends: read from the membership index alone, whatever the
    suppressions and topics leave out of the step.
    """
    return conn.execute(
        select(Membership.subscriber_id)
        .where(
            Membership.list_name == list_name,
            Membership.status == Status.ACTIVE.value,
            Membership.subscriber_id > after,
        )
        .order_by(Membership.subscriber_id)
        .offset(count - 1)
        .limit(1)
    ).scalar()


def _page(list_name: str, after: int, size: int, topics: Sequence[str] | None) -> Select[Any]:
    """The next `size` members after subscriber `after`, each with its topics (left join)."""
    page = (
        _members(list_name, topics)
        # Keyset on the membership's column: the (list, status, subscriber) index then
        # gives the order, with no sort of everything after `after` on each page.
        .where(Membership.subscriber_id > after)
        .order_by(Membership.subscriber_id)
        .limit(size)
        .subquery("page")
    )
    return (
        select(page.c.id, page.c.email, page.c.name, MembershipTopic.topic)
        .outerjoin(MembershipTopic, MembershipTopic.membership_id == page.c.mid)
        .order_by(page.c.id, MembershipTopic.topic)
    )


def topics_for(
    conn: Connection, list_name: str, subscriber_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    """The topics each of these members chose on the list (members who chose none are left out)."""
    if not subscriber_ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for sub_id, topic in conn.execute(
        select(Membership.subscriber_id, MembershipTopic.topic)
        .join(MembershipTopic, MembershipTopic.membership_id == Membership.id)
        .where(
            Membership.list_name == list_name,
            among(conn, Membership.subscriber_id, subscriber_ids),
        )
        .order_by(Membership.subscriber_id, MembershipTopic.topic)
    ):
        found[sub_id].append(topic)
    return {k: tuple(v) for k, v in found.items()}


def deliverable(list_name: str) -> ColumnElement[bool]:
    """For a statement over subscribers: still an active, unsuppressed member of the list.

    A send asks this of each batch as it claims it, so who left after planning is skipped.
    """
    return and_(
        exists().where(
            Membership.subscriber_id == Subscriber.id,
            Membership.list_name == list_name,
            Membership.status == Status.ACTIVE.value,
        ),
        _not_suppressed(),
    )


def active_ids(conn: Connection, list_name: str, subscriber_ids: list[int]) -> set[int]:
    """Which of these are still active and unsuppressed members of the list."""
    if not subscriber_ids:
        return set()
    # The ids as one parameter, matched against the subscribers' primary key so they drive
    # the query whatever the statistics say.
    return set(
        conn.execute(
            select(Subscriber.id).where(
                among(conn, Subscriber.id, subscriber_ids), deliverable(list_name)
            )
        ).scalars()
    )


def lookup(conn: Connection, email: str) -> int | None:
    """The subscriber id for an address (any case), or None."""
    key = parse_address(email).key
    return conn.execute(select(Subscriber.id).where(Subscriber.email_key == key)).scalar()
