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
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_CI_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def _fast(candidate: str) -> Address | None:
    if len(candidate) > 254 or "--" in candidate or _FAST.fullmatch(candidate) is None:
        return None  # "--" may be an IDNA label: let the validator decide
    local, _, domain = candidate.rpartition("@")
    domain = domain.lower()
    if len(local) > 64 or domain.rpartition(".")[2] in _SPECIAL or local.lower() in _CI_NAMES:
        return None
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
    if "@" not in candidate:  # the commonest mistake, answered without the slow validator
        raise InvalidAddress(f"An email address must have an @-sign. ({candidate[:80]!r})")
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
    if raw.isprintable() and "  " not in raw and raw[0] != " " and raw[-1] != " ":
        return raw[:200]  # the common case, without rebuilding the string
    kept = raw if raw.isprintable() else "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(kept.split())[:200]


def clean_value(raw: str, limit: int = 1000) -> str:
    """An attribute value that can never break a header or a line: no CR, LF, NUL or controls."""
    if raw.isprintable() and "  " not in raw and raw[0] != " " and raw[-1] != " ":
        return raw[:limit]
    kept = raw if raw.isprintable() else "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(kept.split())[:limit]
