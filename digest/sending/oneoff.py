"""One-off messages (sign-up confirmations, editors' notices) through the configured provider.

They go the same way as editions, so an operator who set up SMTP or SendGrid needs nothing else,
but they carry no list headers and no delivery record: they are not list mail.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from digest.core.app import App
from digest.core.slots import SlotTemplate
from digest.email.message import PreparedEdition, Recipient
from digest.email.render import RenderedEdition
from digest.sending.providers import create_mailer


def send_one_off(
    app: App,
    to: Sequence[str],
    subject: str,
    text: str,
    *,
    folder: str,
    ref: int = 0,
    number: int | None = None,
) -> int:
    """Send a short plain message (shown as preformatted text in the HTML part) to each address.

    `folder` names the kind of message (the outbox writes it under that folder, SendGrid uses it
    as the category); `ref` is an edition id when the message concerns one, `number` its
    number (the outbox's subfolder, so an operator finds the notices about edition 3 under 3).
    Returns how many the provider accepted.
    """
    if not to:
        return 0
    s = app.settings
    style = "font-family:sans-serif;white-space:pre-wrap"
    page = (
        f'<!DOCTYPE html><html><body><pre style="{style}">{html.escape(text)}</pre></body></html>'
    )
    message = PreparedEdition(
        edition_id=ref,
        newsletter=folder,
        number=ref if number is None else number,
        subject=subject,
        from_name=s.sender.name,
        from_email=s.sender.email,
        reply_to=s.sender.reply_to,
        list_id="",
        rendered=RenderedEdition(html=SlotTemplate.parse(page), text=SlotTemplate.parse(text)),
        transactional=True,
    )
    batch = [
        Recipient(delivery_id=0, subscriber_id=0, email=address, name="", unsubscribe_url="")
        for address in to
    ]
    mailer = create_mailer(s.provider, s, app.clock)
    try:
        results = mailer.send(message, batch)
    finally:
        mailer.close()
    return sum(1 for r in results if r.outcome == "accepted")
