"""What editors do to an edition by name and number: approve, reopen, cancel, change stories
(pin, remove, rewrite, split and merge), each checked before anything is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from digest.core.app import App
from digest.core.errors import DigestError
from digest.editions.lifecycle import Status, transition
from digest.store import editions, story_edits
from digest.store.editions import EditionRow
from digest.store.story_edits import edits_for


def find_edition(app: App, newsletter: str, number: int | None) -> EditionRow:
    """Edition `number`, or the current one (draft, approved, sending or failed)."""
    app.settings.newsletter(newsletter)  # a clear error for an unknown newsletter
    with app.engine.connect() as conn:
        row = (
            editions.get_edition(conn, newsletter, number)
            if number
            else editions.open_edition(conn, newsletter)
        )
    if row is None:
        which = f"edition {number}" if number else "open edition"
        raise DigestError(
            f"{newsletter} has no {which}",
            hint=f"`digest edition list {newsletter}` shows its editions; "
            f"`digest preview {newsletter}` builds a draft",
        )
    return row


def act(
    app: App, newsletter: str, number: int | None, action: str, actor: str, reason: str = ""
) -> tuple[EditionRow, Status]:
    """Apply one lifecycle action to an edition; returns the edition and its new status."""
    edition = find_edition(app, newsletter, number)
    with app.engine.begin() as conn:
        status = transition(conn, edition.id, action, actor, app.clock(), reason)
    return edition, status


def _name(edition: EditionRow) -> str:
    return f"{edition.newsletter} #{edition.number}"


def _check_draft(edition: EditionRow) -> None:
    if edition.status != Status.DRAFT:
        raise DigestError(
            f"{_name(edition)} is {edition.status}: its stories no longer change",
            hint=f"reopen it first: digest edition reopen {edition.newsletter} {edition.number}"
            if edition.status == Status.APPROVED
            else "changes apply to the next draft",
        )


def _not_found(edition: EditionRow, article: int) -> DigestError:
    return DigestError(
        f"article {article} is in no story of {_name(edition)}",
        hint=f"`digest story list {edition.newsletter}` shows each story's article ids",
    )


def check_story_edit(conn: Connection, edition: EditionRow, article: int) -> None:
    """Refuse, with the reason, a story change that could not take effect: the edition is past
    its draft, or no story of it holds `article` (a removed one counts, so it can come back)."""
    _check_draft(edition)
    removed = {e.key for e in edits_for(conn, edition.newsletter, edition.number).edits
               if e.removed}  # fmt: skip
    if article not in set(edition.content.article_ids) | removed:
        raise _not_found(edition, article)


def check_regroup(edition: EditionRow, article: int, into: int | None = None) -> None:
    """Refuse a split (`into` None) or a merge that could not take effect: the edition is past
    its draft, an id is in none of its stories, the article already stands alone, or the two
    articles are already one story."""
    _check_draft(edition)
    story_of = {i: s.article_ids for s in edition.content.stories for i in s.article_ids}
    for wanted in (article,) if into is None else (article, into):
        if wanted not in story_of:
            raise _not_found(edition, wanted)
    if into is None and len(story_of[article]) == 1:
        raise DigestError(
            f"article {article} is already a story of its own",
            hint=f"`digest story merge {edition.newsletter} {article} OTHER` joins it to another",
        )
    if into is not None and into in story_of[article]:
        raise DigestError(
            f"articles {article} and {into} are already one story",
            hint=f"`digest story split {edition.newsletter} {article}` takes one out",
        )


def regroup_story(
    conn: Connection,
    edition: EditionRow,
    op: str,
    article: int,
    into: int | None,
    actor: str,
    now: datetime,
) -> str:
    """Check and store one correction to grouping; returns what it does, for the editor.

    `split`: the article stands alone. `merge`: the article's story joins the one holding
    `into` (an article split out before moves alone). `regroup`: grouping places the article
    again (its split and merge, and merges into its story, are dropped). The caller rebuilds.
    """
    nl, number = edition.newsletter, edition.number
    if op == "split":
        check_regroup(edition, article)
        story_edits.save_edit(conn, nl, number, article, actor, now, split=True, merge_into=None)
        return f"article {article} is now a story of its own"
    if op == "merge":
        if into is None:
            raise DigestError("a merge needs the article whose story to join")
        check_regroup(edition, article, into)
        story_edits.save_edit(conn, nl, number, article, actor, now, merge_into=into)
        return f"the story of article {article} joined the story of article {into}"
    if op == "regroup":
        check_story_edit(conn, edition, article)
        story_edits.clear_regrouping(conn, nl, number, article, actor, now)
        return f"grouping places article {article} again"
    raise DigestError(f"unknown story correction {op!r}", hint="use split, merge or regroup")
