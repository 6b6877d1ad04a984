"""Subscribers and memberships: add, import, and stream the recipients of a send."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select, update

from subscribers.addresses import InvalidAddress, clean_name, normalise_email
from subscribers.models import Membership, Status, Subscriber


@dataclass(frozen=True)
class RecipientRow:
    """One active member of a list, as a send needs it."""

    subscriber_id: int
    email: str
    name: str


@dataclass
class ImportReport:
    """What an import did: counts, and each rejected row with its line and reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


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
    address = normalise_email(email)
    display = clean_name(name)
    row = conn.execute(
        select(Subscriber.id, Subscriber.name).where(Subscriber.email == address)
    ).first()
    changed = False
    if row is None:
        sub_id = conn.execute(
            insert(Subscriber).values(
                email=address, name=display, attributes={}, created_at=now, updated_at=now
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        changed = True
    else:
        sub_id = row.id
        if display and display != row.name:
            conn.execute(
                update(Subscriber)
                .where(Subscriber.id == sub_id)
                .values(name=display, updated_at=now)
            )
            changed = True
    member = conn.execute(
        select(Membership.id).where(
            Membership.subscriber_id == sub_id, Membership.list_name == list_name
        )
    ).first()
    if member is None:
        conn.execute(
            insert(Membership).values(
                subscriber_id=sub_id,
                list_name=list_name,
                status=str(status),
                status_changed_at=now,
                created_at=now,
            )
        )
        changed = True
    return int(sub_id), changed


def import_csv(engine: Engine, path: Path, list_name: str, now: datetime) -> ImportReport:
    """Import `email,name` rows into a list; bad rows are reported by line, good ones kept.

    This is the simple import the demo needs; it reads UTF-8 (with or without BOM).
    """
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as fh, engine.begin() as conn:
        reader = csv.DictReader(fh)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "email" not in fields:
            raise InvalidAddress(
                f"{path}: no 'email' column in the header row ({', '.join(fields)})"
            )
        reader.fieldnames = fields
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            try:
                address = normalise_email(row.get("email") or "")
            except InvalidAddress as exc:
                report.rejected.append((line, f"invalid address: {exc}"))
                continue
            if address in seen:
                report.rejected.append((line, "duplicate of an earlier row"))
                continue
            seen.add(address)
            existed = conn.execute(select(Subscriber.id).where(Subscriber.email == address)).first()
            _, changed = add_subscriber(conn, address, list_name, now, row.get("name") or "")
            if not changed:
                report.unchanged += 1
            elif existed:
                report.updated += 1
            else:
                report.added += 1
    return report


def recipients(engine: Engine, list_name: str, batch: int = 5000) -> Iterator[RecipientRow]:
    """Active members of a list, by subscriber id, fetched in keyset pages (constant memory)."""
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Subscriber.id, Subscriber.email, Subscriber.name)
                .join(Membership, Membership.subscriber_id == Subscriber.id)
                .where(
                    Membership.list_name == list_name,
                    Membership.status == Status.ACTIVE.value,
                    Subscriber.id > last,
                )
                .order_by(Subscriber.id)
                .limit(batch)
            ).all()
        if not rows:
            return
        for r in rows:
            yield RecipientRow(r.id, r.email, r.name)
        last = rows[-1].id


def active_ids(conn: Connection, list_name: str, subscriber_ids: list[int]) -> set[int]:
    """Which of these subscribers are still active on the list (checked just before sending)."""
    if not subscriber_ids:
        return set()
    return set(
        conn.execute(
            select(Membership.subscriber_id).where(
                Membership.list_name == list_name,
                Membership.status == Status.ACTIVE.value,
                Membership.subscriber_id.in_(subscriber_ids),
            )
        ).scalars()
    )
