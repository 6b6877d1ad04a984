"""Short notices to a newsletter's editors (draft ready, late, missed, blocked), by the provider."""

from __future__ import annotations

from datetime import datetime

from digest.core.app import App
from digest.core.text import counted, in_zone
from digest.sending.oneoff import send_one_off
from digest.store.editions import EditionRow


def notify_editors(app: App, edition: EditionRow, kind: str, subject: str, body: str) -> int:
    """Send `body` to the newsletter's editors; returns how many accepted it."""
    editors = app.settings.newsletter(edition.newsletter).editors
    # Notices go to their own outbox folder per kind, apart from the edition's emails.
    folder = f"{edition.newsletter}/notices-{kind}"
    return send_one_off(
        app, editors, subject, body, folder=folder, ref=edition.id, number=edition.number
    )


def draft_ready_text(app: App, edition: EditionRow, send_at: datetime | None) -> str:
    """The body of the 'draft is ready' notice."""
    s = app.settings
    content = edition.content
    deadline = f"It goes out at {local_time(app, edition.newsletter, send_at)}" if send_at else ""
    needs = s.newsletter(edition.newsletter).approval == "required"
    lines = [
        f"Edition {content.number} of {content.title} is ready for review: {content.subject}",
        f"{counted(len(content.stories), 'story')} in {counted(len(content.sections), 'section')}.",
        "",
        f"Preview: {s.base_url}/desk/editions/{edition.id}",
        f"or: digest preview {edition.newsletter}",
        "",
        (f"{deadline} if approved before then: "
         f"digest edition approve {edition.newsletter} {edition.number}") if needs
        else f"{deadline} as it is (approval is automatic for this newsletter).",
    ]  # fmt: skip
    return "\n".join(lines)


def late_text(app: App, edition: EditionRow, send_at: datetime) -> str:
    """The body of the 'draft missed its send time' notice."""
    return "\n".join([
        f"Edition {edition.number} of {edition.content.title} was due at "
        f"{local_time(app, edition.newsletter, send_at)} but is still a draft awaiting approval, "
        "so it was NOT sent.",
        "",
        "To send it now: "
        f"digest edition approve {edition.newsletter} {edition.number} --send-now",
        f"To drop it:     digest edition cancel {edition.newsletter} {edition.number}",
    ])  # fmt: skip


def missed_text(app: App, edition: EditionRow, send_at: datetime, now: datetime) -> str:
    """The body of the 'send time missed while no scheduler ran' notice."""
    how = (
        f"digest send {edition.newsletter}"
        if edition.status == "approved"
        else f"digest edition approve {edition.newsletter} {edition.number} --send-now"
    )
    return "\n".join([
        f"Edition {edition.number} of {edition.content.title} was due at "
        f"{local_time(app, edition.newsletter, send_at)}, but no scheduler was running then. "
        f"It was back at {local_time(app, edition.newsletter, now)}, later than "
        "scheduler.misfire_grace_time allows, so the edition was NOT sent.",
        "",
        f"To send it now: {how}",
        f"To drop it:     digest edition cancel {edition.newsletter} {edition.number}",
        "Otherwise it waits for the next send time.",
    ])  # fmt: skip


def local_time(app: App, newsletter: str, when: datetime | None) -> str:
    """`when` in the newsletter's time zone, with the zone: what editors read."""
    if when is None:
        return "(no time set)"
    return in_zone(when, app.settings.newsletter(newsletter).timezone or app.settings.timezone)
