"""Double opt-in emails: the confirmation message and its delivery.

Until providers can send one-off messages, confirmations go to the outbox folder (the default
provider), one .eml per subscriber and list; a new request for the same pair replaces it.
"""

from __future__ import annotations

import os
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import select

from digest.app import App
from digest.message import HEADER_POLICY, clean_header
from subscribers.models import Subscriber


def confirm_url(app: App, subscriber_id: int, list_name: str) -> str:
    """The signed link that confirms one membership (expires after confirm_max_age)."""
    token = app.signer.confirm_token(subscriber_id, list_name)
    return f"{app.settings.base_url}/confirm/{token}"


def confirmation_message(
    app: App, *, email: str, name: str, list_name: str, url: str, now: datetime
) -> EmailMessage:
    """A short plain-text email with the confirmation link; no tracking, nothing else."""
    settings = app.settings
    title = settings.newsletter(list_name).title
    msg = EmailMessage(policy=HEADER_POLICY)
    msg["From"] = Address(clean_header(settings.sender.name), addr_spec=settings.sender.email)
    msg["To"] = Address(clean_header(name), addr_spec=email) if name else email
    msg["Subject"] = clean_header(f"Please confirm your subscription to {title}")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=settings.sender.domain)
    if settings.sender.reply_to:
        msg["Reply-To"] = settings.sender.reply_to
    days = settings.subscribers.confirm_max_age.days
    msg.set_content(
        f"Someone, hopefully you, asked to receive {title} at this address.\n\n"
        f"To confirm, open this link (valid for {days} days):\n{url}\n\n"
        "If it was not you, ignore this email: nothing will be sent without your confirmation.\n"
        + (f"\n{settings.sender.postal_address}\n" if settings.sender.postal_address else "")
    )
    return msg


def send_confirmation(app: App, subscriber_id: int, list_name: str) -> Path:
    """Build and deliver the confirmation email for a pending membership; returns the file."""
    with app.engine.connect() as conn:
        row = conn.execute(
            select(Subscriber.email, Subscriber.name).where(Subscriber.id == subscriber_id)
        ).one()
    now = app.clock()
    msg = confirmation_message(
        app,
        email=row.email,
        name=row.name,
        list_name=list_name,
        url=confirm_url(app, subscriber_id, list_name),
        now=now,
    )
    folder = app.settings.outbox_dir / "confirmations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{list_name}-{subscriber_id:08d}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    os.replace(tmp, path)
    return path
