"""Emails a reader asks for: the double opt-in link, and a link to their preferences page.

The CLI (`subscribers add --status pending`) and the web app's subscribe form both send them
here, through the configured provider as one-off messages (see `digest.sending.oneoff`).
"""

from __future__ import annotations

from sqlalchemy import select

from digest.core.app import App
from digest.sending.oneoff import send_one_off
from subscribers.models import Subscriber


def confirm_url(app: App, subscriber_id: int, list_name: str) -> str:
    """The signed link that confirms one membership (expires after confirm_max_age)."""
    token = app.signer.confirm_token(subscriber_id, list_name)
    return f"{app.settings.base_url}/confirm/{token}"


def confirmation_text(app: App, list_name: str, url: str) -> str:
    """The message: who asked, the link and how long it lasts, and what to do if it was not you."""
    settings = app.settings
    title = settings.newsletter(list_name).title
    days = settings.subscribers.confirm_max_age.days
    postal = f"\n{settings.sender.postal_address}\n" if settings.sender.postal_address else ""
    return (
        f"Someone, hopefully you, asked to receive {title} at this address.\n\n"
        f"To confirm, open this link (valid for {days} days):\n{url}\n\n"
        "If it was not you, ignore this email: nothing will be sent without your confirmation.\n"
        + postal
    )


def send_confirmation(app: App, subscriber_id: int, list_name: str) -> str:
    """Send the confirmation for a pending membership; returns the address it went to."""
    with app.engine.connect() as conn:
        email = conn.execute(
            select(Subscriber.email).where(Subscriber.id == subscriber_id)
        ).scalar_one()
    title = app.settings.newsletter(list_name).title
    text = confirmation_text(app, list_name, confirm_url(app, subscriber_id, list_name))
    subject = f"Please confirm your subscription to {title}"
    send_one_off(app, [email], subject, text, folder="confirm")
    return str(email)


def preferences_url(app: App, subscriber_id: int, list_name: str) -> str:
    """The signed link of a reader's preferences page, the same one every edition carries."""
    token = app.signer.preferences_token(subscriber_id, list_name)
    return f"{app.settings.base_url}/preferences/{token}"


def send_preferences_link(app: App, subscriber_id: int, list_name: str) -> None:
    """For a reader who asked from the web site (the archive, say) rather than an email."""
    with app.engine.connect() as conn:
        email = conn.execute(
            select(Subscriber.email).where(Subscriber.id == subscriber_id)
        ).scalar_one()
    settings = app.settings
    title = settings.newsletter(list_name).title
    postal = f"\n{settings.sender.postal_address}\n" if settings.sender.postal_address else ""
    text = (
        f"Someone, hopefully you, asked for a link to manage {title} at this address.\n\n"
        "Choose your topics, change your name or unsubscribe here:\n"
        f"{preferences_url(app, subscriber_id, list_name)}\n\n"
        "If it was not you, ignore this email: nothing changes unless the link is used.\n" + postal
    )
    send_one_off(app, [email], f"Your {title} preferences", text, folder="preferences")
