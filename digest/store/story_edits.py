"""Editors' changes to an edition's stories (pins, removals, rewritten text), and history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from digest.core.models import StoryEdit
from digest.stories.assemble import Changes, Edit


def edits_for(conn: Connection, newsletter: str, number: int) -> Changes:
    """The edits made to edition `number` of the newsletter."""
    rows = conn.execute(
        select(
            StoryEdit.story_key,
            StoryEdit.pinned,
            StoryEdit.removed,
            StoryEdit.headline,
            StoryEdit.summary,
        )
        .where(StoryEdit.newsletter == newsletter, StoryEdit.number == number)
        .order_by(StoryEdit.story_key)
    ).all()
    return Changes(
        tuple(
            Edit(r.story_key, bool(r.pinned), bool(r.removed), r.headline, r.summary) for r in rows
        )
    )


def save_edit(
    conn: Connection,
    newsletter: str,
    number: int,
    key: int,
    actor: str,
    now: datetime,
    **values: bool | str | None,
) -> None:
    """Record a change (pinned, removed, headline, summary) to the story holding article `key`."""
    allowed = {"pinned", "removed", "headline", "summary"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown story edit field(s): {sorted(unknown)}")
    where = (
        StoryEdit.newsletter == newsletter,
        StoryEdit.number == number,
        StoryEdit.story_key == key,
    )
    exists = conn.execute(select(StoryEdit.id).where(*where)).first()
    if exists is None:
        conn.execute(
            insert(StoryEdit).values(
                newsletter=newsletter,
                number=number,
                story_key=key,
                pinned=bool(values.get("pinned", False)),
                removed=bool(values.get("removed", False)),
                headline=values.get("headline"),
                summary=values.get("summary"),
                actor=actor,
                updated_at=now,
            )
        )
    else:
        conn.execute(update(StoryEdit).where(*where).values(actor=actor, updated_at=now, **values))
