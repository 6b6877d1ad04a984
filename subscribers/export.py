"""Export a list as CSV or JSON Lines, streamed, with CSV cells safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Literal, TextIO

from sqlalchemy import Connection, select

from subscribers.models import Consent, Membership, MembershipTopic, Subscriber

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

COLUMNS = (
    "email",
    "name",
    "status",
    "status_changed_at",
    "topics",
    "consent_at",
    "consent_method",
    "consent_ip",
    "consent_text",
    "created_at",
    "attributes",
)


def safe_cell(value: str) -> str:
    """Neutralise a cell against formula injection by prefixing a quote (OWASP's advice)."""
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def member_rows(
    conn: Connection, list_name: str, *, status: str | None = None, batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Members of a list with their latest consent and topics, by id in keyset pages."""
    last = 0
    while True:
        query = (
            select(
                Membership.id,
                Membership.status,
                Membership.status_changed_at,
                Subscriber.email,
                Subscriber.name,
                Subscriber.attributes,
                Subscriber.created_at,
            )
            .join(Subscriber, Subscriber.id == Membership.subscriber_id)
            .where(Membership.list_name == list_name, Membership.id > last)
            .order_by(Membership.id)
            .limit(batch)
        )
        if status is not None:
            query = query.where(Membership.status == status)
        page = conn.execute(query).all()
        if not page:
            return
        ids = [m.id for m in page]
        topics: dict[int, list[str]] = defaultdict(list)
        for mid, topic in conn.execute(
            select(MembershipTopic.membership_id, MembershipTopic.topic)
            .where(MembershipTopic.membership_id.in_(ids))
            .order_by(MembershipTopic.topic)
        ):
            topics[mid].append(topic)
        consents: dict[int, Any] = {}
        table = Consent.__table__
        for c in conn.execute(
            select(table).where(table.c.membership_id.in_(ids)).order_by(table.c.id)
        ):
            consents[c.membership_id] = c  # the latest wins
        for m in page:
            s = m
            latest = consents.get(m.id)
            yield {
                "email": s.email,
                "name": s.name,
                "status": m.status,
                "status_changed_at": m.status_changed_at.isoformat(),
                "topics": sorted(topics.get(m.id, [])),
                "consent_at": latest.at.isoformat() if latest else None,
                "consent_method": latest.method if latest else None,
                "consent_ip": latest.ip if latest else None,
                "consent_text": latest.text if latest else None,
                "created_at": s.created_at.isoformat(),
                "attributes": dict(s.attributes or {}),
            }
        last = page[-1].id


def export_list(
    conn: Connection,
    list_name: str,
    out: TextIO,
    *,
    fmt: Literal["csv", "jsonl"] = "csv",
    status: str | None = None,
) -> int:
    """Write a list's members to `out`; returns how many. CSV cells are formula-safe."""
    count = 0
    if fmt == "jsonl":
        for row in member_rows(conn, list_name, status=status):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in member_rows(conn, list_name, status=status):
        cells = []
        for col in COLUMNS:
            value = row[col]
            if col == "topics":
                value = " ".join(value)
            elif col == "attributes":
                value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
            cells.append(safe_cell("" if value is None else str(value)))
        writer.writerow(cells)
        count += 1
    return count
