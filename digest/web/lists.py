"""The web app's one door into subscriber-list management.

Every change the web app makes to a subscriber or a membership goes through this module and on
into the subscribers library (`subscribers.ops`), which keeps statuses with their history,
consent records, topics and the suppression list. The routes speak only to this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select, update

from subscribers import ops
from subscribers.addresses import InvalidAddress, parse_address
from subscribers.errors import NotFound, Refused, Suppressed
from subscribers.models import Membership, Subscriber, Suppression
from subscribers.suppression import AddressHasher, unsuppress
from subscribers.views import SubscriberView as Detail
from subscribers.views import show, topics_of


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


def subscribe_pending(
    conn: Connection,
    email: str,
    list_name: str,
    name: str,
    now: datetime,
    *,
    ip: str | None = None,
    hasher: AddressHasher | None = None,
) -> int | None:
    """Record a web sign-up awaiting confirmation; the id to confirm, or None to send nothing.

    None covers suppressed addresses and members who are already active: the form answers the
    same in every case, so it never reveals who is on a list.
    """
    result = ops.subscribe_pending(
        conn, email, list_name, now=now, ip=ip, name=name, hasher=hasher,
        consent_text="subscribe form on the web site",
    )  # fmt: skip
    return result.subscriber_id if result.needs_confirmation else None


def confirm(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    now: datetime,
    *,
    ip: str | None = None,
    hasher: AddressHasher | None = None,
) -> bool:
    """Double opt-in done: pending becomes active, with a consent record."""
    return ops.confirm(conn, subscriber_id, list_name, now=now, ip=ip, hasher=hasher)


def unsubscribe(
    conn: Connection, subscriber_id: int, list_name: str, *, source: str, now: datetime
) -> bool:
    """Leave one list at once; doing it twice changes nothing. True when it changed the status."""
    return ops.unsubscribe(conn, subscriber_id, list_name, source=source, now=now)


def rejoin(
    conn: Connection,
    subscriber_id: int,
    list_name: str,
    now: datetime,
    hasher: AddressHasher | None = None,
) -> bool:
    """A reader who left comes back from their own preferences link (which proves the address);
    False when the address is suppressed or the membership is not one a reader can restore."""
    member = conn.execute(
        select(Membership.status).where(
            Membership.subscriber_id == subscriber_id, Membership.list_name == list_name
        )
    ).scalar()
    if member != "unsubscribed":
        return False
    try:
        return ops.resubscribe(
            conn, subscriber_id, list_name, now=now, hasher=hasher, method="preferences",
            consent_text="rejoined from the reader's own preferences link",
        )  # fmt: skip
    except Suppressed:
        return False


def member_id(
    conn: Connection, email: str, list_name: str, hasher: AddressHasher | None = None
) -> int | None:
    """The subscriber id of an address on a list (any status but erased), None when it is not
    one or the address is suppressed: nobody else is sent a link."""
    try:
        key = parse_address(email).key
    except InvalidAddress:
        return None
    sub_id = conn.execute(
        select(Subscriber.id)
        .join(Membership, Membership.subscriber_id == Subscriber.id)
        .where(Subscriber.email_key == key, Membership.list_name == list_name)
    ).scalar()
    if sub_id is None or ops.is_suppressed(conn, email, hasher=hasher):
        return None
    return int(sub_id)


def mark_bounced(
    conn: Connection, subscriber_id: int, now: datetime, hasher: AddressHasher | None = None
) -> int:
    """A hard bounce: bounced on every list, and the address suppressed so no import re-adds it."""
    changed = ops.mark_bounced(conn, subscriber_id, now=now, source="webhook")
    email = conn.execute(select(Subscriber.email).where(Subscriber.id == subscriber_id)).scalar()
    if email:
        ops.suppress(conn, email, reason="hard bounce", source="webhook", now=now, hasher=hasher)
    return changed


def mark_complained(
    conn: Connection, subscriber_id: int, now: datetime, hasher: AddressHasher | None = None
) -> int:
    """A spam complaint: complained on every list and suppressed; never mailed again."""
    return ops.mark_complained(conn, subscriber_id, now=now, source="webhook", hasher=hasher)


def find_many_by_email(conn: Connection, emails: Sequence[str]) -> dict[str, int]:
    """Subscriber ids by address as given (unknown or invalid addresses are left out)."""
    wanted: dict[str, list[str]] = {}
    for given in emails:
        try:
            wanted.setdefault(parse_address(given).key, []).append(given)
        except InvalidAddress:
            continue
    found: dict[str, int] = {}
    keys = sorted(wanted)
    for i in range(0, len(keys), 500):
        rows = conn.execute(
            select(Subscriber.email_key, Subscriber.id).where(
                Subscriber.email_key.in_(keys[i : i + 500])
            )
        )
        for key, sub_id in rows:
            for given in wanted[key]:
                found[given] = int(sub_id)
    return found


def get_subscriber(conn: Connection, subscriber_id: int) -> SubscriberView | None:
    """One subscriber with memberships and topics."""
    row = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name).where(
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
    return SubscriberView(
        id=row.id,
        email=row.email,
        name=row.name,
        topics={m.list_name: topics_of(conn, subscriber_id, m.list_name) for m in members},
        memberships=[MemberView(*m) for m in members],
    )


def set_topics(
    conn: Connection, subscriber_id: int, list_name: str, topics: list[str], now: datetime
) -> None:
    """Which of a list's sections a subscriber wants (none chosen: every section)."""
    ops.set_topics(conn, subscriber_id, list_name, topics, now=now)


def set_name(conn: Connection, subscriber_id: int, name: str, now: datetime) -> None:
    """The name used in greetings."""
    conn.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(name=" ".join(name.split())[:200], updated_at=now)
    )


def search(
    conn: Connection, text: str, limit: int = 50
) -> list[tuple[int, str, str, list[tuple[str, str]]]]:
    """Subscribers whose address or name contains `text`: (id, email, name, [(list, status)])."""
    pattern = f"%{text.strip().lower()}%"
    rows = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name)
        .where(or_(Subscriber.email.like(pattern), func.lower(Subscriber.name).like(pattern)))
        .order_by(Subscriber.email)
        .limit(limit)
    ).all()
    statuses: dict[int, list[tuple[str, str]]] = {r.id: [] for r in rows}
    if statuses:
        for sub_id, list_name, status in conn.execute(
            select(Membership.subscriber_id, Membership.list_name, Membership.status)
            .where(Membership.subscriber_id.in_(list(statuses)))
            .order_by(Membership.list_name)
        ):
            statuses[sub_id].append((list_name, status))
    return [(r.id, r.email, r.name, statuses[r.id]) for r in rows]


def operator_action(
    conn: Connection,
    subscriber_id: int,
    action: str,
    form: dict[str, str],
    now: datetime,
    hasher: AddressHasher,
) -> str:
    """One change an operator makes to a reader; returns what changed, before and after, for
    the audit log. Refusals raise `subscribers.errors` exceptions with the reason."""
    sub = get_subscriber(conn, subscriber_id)
    if sub is None:
        raise NotFound(f"no subscriber {subscriber_id}")
    list_name = form.get("list", "")
    before = {m.list_name: m.status for m in sub.memberships}
    if action in ("unsubscribe", "resubscribe") and list_name not in before:
        raise NotFound(f"{sub.email} is not on {list_name or 'that list'}")
    if action == "unsubscribe":
        ops.unsubscribe(conn, subscriber_id, list_name, source="operator", now=now)
    elif action == "resubscribe":
        ops.resubscribe(
            conn, subscriber_id, list_name, consent_text=form.get("consent", ""),
            method="operator", now=now, hasher=hasher,
        )  # fmt: skip
    elif action == "suppress":
        reason = form.get("reason", "").strip() or "by an operator"
        if not ops.suppress(conn, sub.email, reason=reason, source="operator", now=now,
                            hasher=hasher):  # fmt: skip
            return f"{sub.email} was already suppressed"
        return f"{sub.email}: not suppressed → suppressed ({reason})"
    elif action == "unsuppress":
        if not unsuppress(conn, sub.email, hasher=hasher):
            return f"{sub.email} was not suppressed"
        return f"{sub.email}: suppressed → not suppressed"
    elif action == "erase":
        if form.get("confirm", "").strip().lower() != sub.email.lower():
            raise Refused(
                "type the address to confirm the erasure", hint="erasing cannot be undone"
            )
        ops.forget(conn, sub.email, now=now, hasher=hasher)
        return f"erased (personal data deleted; memberships were {_statuses(before)})"
    else:
        raise Refused(f"unknown action {action!r}")
    after = conn.execute(
        select(Membership.status).where(
            Membership.subscriber_id == subscriber_id, Membership.list_name == list_name
        )
    ).scalar()
    if after == before[list_name]:
        return f"{list_name}: still {after}"
    return f"{list_name}: {before[list_name]} → {after}"


def _statuses(statuses: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "none"


def suppressed(
    conn: Connection, limit: int = 500
) -> list[tuple[str, str, str, datetime, int | None]]:
    """The suppression list, newest first: (address or domain, reason, source, since, id)."""
    rows = conn.execute(
        select(
            Suppression.email_key, Suppression.domain, Suppression.reason, Suppression.source,
            Suppression.created_at, Subscriber.id,
        )
        .outerjoin(Subscriber, Subscriber.email_key == Suppression.email_key)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    out = []
    for r in rows:
        target = r.email_key or (f"*@{r.domain}" if r.domain else "an erased address (hash)")
        out.append((target, r.reason, r.source, r.created_at, r.id))
    return out


def detail(conn: Connection, email: str, hasher: AddressHasher | None = None) -> Detail:
    """Everything an operator may see of one subscriber: statuses with their history, topics,
    consent records and whether the address is suppressed."""
    return show(conn, email, hasher=hasher)
