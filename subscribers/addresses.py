"""Email address normalisation: one subscriber per address, however it was typed."""

from __future__ import annotations

import re
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from subscribers.errors import SubscribersError

try:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES
except ImportError:  # pragma: no cover - older email-validator
    SPECIAL_USE_DOMAIN_NAMES = ["arpa", "invalid", "local", "localhost", "onion", "test"]


class InvalidAddress(SubscribersError, ValueError):
    """The address is not a syntactically valid email address."""


class Address(NamedTuple):
    """A normalised address: as sent to, as identified by, and its domain."""

    email: str
    key: str
    domain: str


# email-validator costs ~300 µs per call, too slow for a million-row import. Plain ASCII
# addresses (nearly all of them) are checked by this strict pattern, which accepts only a
# subset of what email-validator accepts; everything else goes to email-validator.
_FAST = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_CI_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def _fast(candidate: str) -> Address | None:
    match = _FAST.fullmatch(candidate)
    if match is None or len(candidate) > 254:
        return None
    local, domain = match.group("local"), match.group("domain").lower()
    if len(local) > 64 or len(domain) > 253 or local.lower() in _CI_NAMES:
        return None
    labels = domain.split(".")
    if labels[-1] in _SPECIAL or any(label[2:4] == "--" for label in labels):
        return None  # reserved names and IDNA-looking labels: let the validator decide
    email = f"{local}@{domain}"
    return Address(email, email.lower(), domain)


def parse_address(raw: str, check_deliverability: bool = False) -> Address:
    """Normalise an address: trimmed, domain lower-cased and IDNA-encoded, local part kept.

    The key (lower-cased) makes upper-case variants one subscriber. Raises InvalidAddress.
    """
    candidate = raw.strip()
    if not check_deliverability:
        fast = _fast(candidate)
        if fast is not None:
            return fast
    try:
        result = validate_email(candidate, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{exc!s} ({candidate[:80]!r})") from None
    domain = result.ascii_domain.lower()
    email = f"{result.local_part}@{domain}"
    return Address(email, email.lower(), domain)


def normalise_email(raw: str) -> str:
    """Trimmed, domain lower-cased and IDNA-encoded, local part kept as typed.

    Raises InvalidAddress with the validator's reason.
    """
    return parse_address(raw).email


def normalise_domain(raw: str) -> str:
    """A domain for a suppression entry: lower-cased and IDNA-encoded; '@example.com' works."""
    candidate = raw.strip().lstrip("@")
    return parse_address(f"x@{candidate}").domain


def clean_name(raw: str | None) -> str:
    """A display name safe for headers: control characters dropped, spaces folded."""
    if not raw:
        return ""
    kept = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(kept.split())[:200]


def clean_value(raw: str, limit: int = 1000) -> str:
    """An attribute value that can never break a header or a line: no CR, LF, NUL or controls."""
    kept = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(kept.split())[:limit]
