"""Editors' changes to an edition's stories (pins, removals, rewritten text, splits and
merges), kept apart from the edition so every rebuild of the draft applies them again."""

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
            StoryEdit.split,
            StoryEdit.merge_into,
        )
        .where(StoryEdit.newsletter == newsletter, StoryEdit.number == number)
        .order_by(StoryEdit.story_key)
    ).all()
    return Changes(tuple(Edit(*r[:5], split=bool(r.split), merge_into=r.merge_into) for r in rows))


def save_edit(
    conn: Connection,
    newsletter: str,
    number: int,
    key: int,
    actor: str,
    now: datetime,
    **values: bool | int | str | None,
) -> None:
    """Record a change (pinned, removed, headline, summary, split, merge_into) to the story
    holding article `key`."""
    allowed = {"pinned", "removed", "headline", "summary", "split", "merge_into"}
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
                split=bool(values.get("split", False)),
                merge_into=values.get("merge_into"),
                actor=actor,
                updated_at=now,
            )
        )
    else:
        conn.execute(update(StoryEdit).where(*where).values(actor=actor, updated_at=now, **values))


def clear_regrouping(
    conn: Connection, newsletter: str, number: int, article: int, actor: str, now: datetime
) -> None:
    """Let grouping place `article` again: its split and merge are dropped, and so are other
    articles' merges into its story."""
    where = (StoryEdit.newsletter == newsletter, StoryEdit.number == number)
    conn.execute(
        update(StoryEdit)
        .where(*where, StoryEdit.story_key == article)
        .values(split=False, merge_into=None, actor=actor, updated_at=now)
    )
    conn.execute(
        update(StoryEdit)
        .where(*where, StoryEdit.merge_into == article)
        .values(merge_into=None, actor=actor, updated_at=now)
    )
