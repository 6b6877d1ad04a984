"""Storing and reading editions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from digest.core.errors import DigestError
from digest.core.models import Edition, EditionArticle
from digest.editions.content import EditionContent

# Editions still in the newsletter's current cycle (see digest.editions.lifecycle).
OPEN = ("draft", "approved", "sending", "failed")


@dataclass(frozen=True)
class EditionRow:
    """A stored edition."""

    id: int
    newsletter: str
    number: int
    status: str
    content: EditionContent
    created_at: datetime
    sent_at: datetime | None
    scheduled_for: datetime | None = None


def _row(r: Row[Any]) -> EditionRow:
    return EditionRow(
        id=r.id,
        newsletter=r.newsletter,
        number=r.number,
        status=r.status,
        content=EditionContent.from_json(r.content),
        created_at=r.created_at,
        sent_at=r.sent_at,
        scheduled_for=r.scheduled_for,
    )


_COLUMNS = (
    Edition.id,
    Edition.newsletter,
    Edition.number,
    Edition.status,
    Edition.content,
    Edition.created_at,
    Edition.sent_at,
    Edition.scheduled_for,
)


def get_edition(conn: Connection, newsletter: str, number: int | None = None) -> EditionRow | None:
    """Edition `number` of a newsletter, or its newest one."""
    query = select(*_COLUMNS).where(Edition.newsletter == newsletter)
    query = (
        query.where(Edition.number == number) if number else query.order_by(Edition.number.desc())
    )
    row = conn.execute(query.limit(1)).first()
    return _row(row) if row else None


def open_edition(conn: Connection, newsletter: str) -> EditionRow | None:
    """The newsletter's edition of the current cycle (draft, approved, sending, failed), if any."""
    row = conn.execute(
        select(*_COLUMNS)
        .where(Edition.newsletter == newsletter, Edition.status.in_(OPEN))
        .order_by(Edition.number.desc())
        .limit(1)
    ).first()
    return _row(row) if row else None


def next_number(conn: Connection, newsletter: str) -> int:
    """The number the newsletter's next edition gets."""
    top = conn.execute(select(func.max(Edition.number)).where(Edition.newsletter == newsletter))
    return int(top.scalar() or 0) + 1


def save_draft(
    conn: Connection,
    content: EditionContent,
    now: datetime,
    scheduled_for: datetime | None = None,
) -> int:
    """Create the draft, or replace the content of the draft with the same number."""
    existing = conn.execute(
        select(Edition.id, Edition.status).where(
            Edition.newsletter == content.newsletter, Edition.number == content.number
        )
    ).first()
    values = {
        "subject": content.subject,
        "preheader": content.preheader,
        "content": content.to_json(),
        "updated_at": now,
        "drawn_at": now,
    }
    if scheduled_for is not None:
        values["scheduled_for"] = scheduled_for
    if existing is None:
        result = conn.execute(
            insert(Edition).values(
                newsletter=content.newsletter,
                number=content.number,
                status="draft",
                created_at=now,
                **values,
            )
        )
        edition_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    else:
        if existing.status != "draft":
            raise DigestError(
                f"edition {content.number} of {content.newsletter} is {existing.status}, "
                "not a draft"
            )
        edition_id = existing.id
        conn.execute(update(Edition).where(Edition.id == edition_id).values(**values))
        conn.execute(delete(EditionArticle).where(EditionArticle.edition_id == edition_id))
    ids = sorted(set(content.article_ids))
    if ids:
        conn.execute(
            insert(EditionArticle), [{"edition_id": edition_id, "article_id": i} for i in ids]
        )
    return edition_id


def list_editions(conn: Connection, newsletter: str, limit: int = 50) -> list[EditionRow]:
    """The newsletter's editions, newest first."""
    rows = conn.execute(
        select(*_COLUMNS)
        .where(Edition.newsletter == newsletter)
        .order_by(Edition.number.desc())
        .limit(limit)
    ).all()
    return [_row(r) for r in rows]


def lock(conn: Connection, edition_id: int) -> None:
    """Hold the edition's row until the transaction ends (no-op on SQLite, which has one writer)."""
    conn.execute(select(Edition.id).where(Edition.id == edition_id).with_for_update())
