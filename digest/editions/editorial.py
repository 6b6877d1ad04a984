"""What editors do to an edition by name and number: approve, reopen, cancel, change stories."""

from __future__ import annotations

from sqlalchemy import Connection

from digest.core.app import App
from digest.core.errors import DigestError
from digest.editions.lifecycle import Status, transition
from digest.store import editions
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


def check_story_edit(conn: Connection, edition: EditionRow, article: int) -> None:
    """Refuse, with the reason, a story change that could not take effect: the edition is past
    its draft, or no story of it holds `article` (a removed one counts, so it can come back)."""
    name = f"{edition.newsletter} #{edition.number}"
    if edition.status != Status.DRAFT:
        raise DigestError(
            f"{name} is {edition.status}: its stories no longer change",
            hint=f"reopen it first: digest edition reopen {edition.newsletter} {edition.number}"
            if edition.status == Status.APPROVED
            else "changes apply to the next draft",
        )
    removed = {e.key for e in edits_for(conn, edition.newsletter, edition.number).edits
               if e.removed}  # fmt: skip
    if article not in set(edition.content.article_ids) | removed:
        raise DigestError(
            f"article {article} is in no story of {name}",
            hint=f"`digest story list {edition.newsletter}` shows each story's article ids",
        )
