"""The double opt-in email. Only the outbox provider exists today, so it is written there;
the lead points this at the transactional path of the sending code when that lands."""

from __future__ import annotations

import os
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from digest.app import App
from digest.message import HEADER_POLICY, clean_header


def send_confirmation(app: App, email: str, list_title: str, link: str) -> None:
    """A short plain-text email with the confirm link (nothing else: no tracking, no promo)."""
    s = app.settings
    msg = EmailMessage()
    msg["Subject"] = clean_header(f"Confirm your subscription to {list_title}")
    msg["From"] = Address(clean_header(s.sender.name), addr_spec=s.sender.email)
    msg["To"] = email
    msg["Date"] = format_datetime(app.clock())
    msg["Message-ID"] = make_msgid(domain=s.sender.domain)
    msg.set_content(
        f"Someone (we hope you) asked to get {list_title} at this address.\n\n"
        f"To confirm, open:\n{link}\n\n"
        "If it was not you, ignore this email: nothing will be sent.\n"
    )
    msg.policy = HEADER_POLICY
    folder = s.outbox_dir / "confirm"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{email.replace('/', '_')}-{uuid.uuid4().hex[:8]}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    os.replace(tmp, path)
