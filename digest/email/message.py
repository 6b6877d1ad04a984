"""Build the RFC 5322 message for one recipient. Providers never build headers of their own."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, make_msgid
from typing import NamedTuple

from digest.core.slots import SLOT_NAMES
from digest.email.render import RenderedEdition


class _HeaderPolicy(EmailPolicy):
    """Headers with lines up to 998 characters (RFC 5322's hard limit), but Subject at 78.

    Folding everything at 78 would RFC 2047-encode the long URLs in List-Unsubscribe, which
    mailbox providers then cannot read; a non-ASCII subject unfolded would be one encoded-word
    far past RFC 2047's 75 characters, which some clients show raw.
    """

    def fold(self, name: str, value: str) -> str:
        folded: str = (
            _SUBJECT_POLICY.fold(name, value)
            if name.lower() == "subject"
            else super().fold(name, value)
        )
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "subject":
            return _SUBJECT_POLICY.fold_binary(name, value)
        return super().fold_binary(name, value)


# Python's folder lets an encoded-word reach the line's length: at 76, none exceeds 75.
_SUBJECT_POLICY = SMTP.clone(max_line_length=76)
HEADER_POLICY = _HeaderPolicy(linesep="\r\n", max_line_length=998)
# Bodies are encoded earlier, under BODY_POLICY, so quoted-printable lines stay within
# RFC 2045's 76 characters.
BODY_POLICY = SMTP.clone(max_line_length=76)

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


def clean_header(value: str) -> str:
    """A header value with no CR, LF or other control characters: data never adds a header."""
    return " ".join(_UNSAFE.sub(" ", value).split())


@dataclass(frozen=True)
class PreparedEdition:
    """An edition ready to go: rendered once, plus what every recipient's headers share."""

    edition_id: int
    newsletter: str
    number: int
    subject: str
    from_name: str
    from_email: str
    reply_to: str | None
    list_id: str
    rendered: RenderedEdition
    # A test copy for an editor: "[TEST]" in the subject, and never recorded as a delivery.
    test: bool = False
    # A one-off message (a sign-up confirmation, an editor's notice): no list headers, since
    # it is not list mail, and never a delivery of its own.
    transactional: bool = False

    @property
    def domain(self) -> str:
        """The sender's domain, used for Message-IDs."""
        return self.from_email.rsplit("@", 1)[1]


class Recipient(NamedTuple):
    """One planned delivery: who, and the per-recipient values for the slots.

    A named tuple, like SendResult, since a send makes one for every reader.
    """

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    unsubscribe_url: str
    # The reader's preferences page; where there is no reader (a test send, the archive) the
    # caller gives a page that needs none.
    preferences_url: str = ""

    def slots(self) -> tuple[str, str, str, str]:
        """The slot values in SLOT_NAMES order: first name, email, unsubscribe, preferences."""
        words = self.name.split()
        return (
            words[0] if words else "there",
            self.email,
            self.unsubscribe_url,
            self.preferences_url or self.unsubscribe_url,
        )

    def slot_values(self) -> dict[str, str]:
        """The values of the template slots for this recipient, by slot name."""
        return dict(zip(SLOT_NAMES, self.slots(), strict=True))


def list_unsubscribe_headers(url: str, mailto: str) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (https and mailto) and RFC 8058 one-click."""
    return {
        "List-Unsubscribe": f"<{url}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def compose(
    edition: PreparedEdition, recipient: Recipient, now: datetime, test: bool = False
) -> EmailMessage:
    """multipart/alternative (text first, then HTML) with every list header set."""
    values = recipient.slot_values()
    msg = EmailMessage(policy=BODY_POLICY)
    subject = clean_header(edition.subject)
    msg["Subject"] = f"[TEST] {subject}" if test or edition.test else subject
    msg["From"] = Address(clean_header(edition.from_name), addr_spec=edition.from_email)
    msg["To"] = Address(clean_header(recipient.name), addr_spec=recipient.email)
    if edition.reply_to:
        msg["Reply-To"] = edition.reply_to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(
        idstring=f"{edition.edition_id}.{recipient.delivery_id}", domain=edition.domain
    )
    if not edition.transactional:
        msg["List-Id"] = clean_header(edition.list_id)
        mailto = f"mailto:{edition.from_email}?subject=unsubscribe"
        for name, value in list_unsubscribe_headers(recipient.unsubscribe_url, mailto).items():
            msg[name] = value
    msg.set_content(edition.rendered.text.fill(values), subtype="plain", cte="quoted-printable")
    msg.add_alternative(
        edition.rendered.html.fill(values, escape=html.escape),
        subtype="html",
        cte="quoted-printable",
    )
    msg.policy = HEADER_POLICY
    return msg
