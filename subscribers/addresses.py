"""Email address normalisation: one subscriber per address, however it was typed."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """The address is not a syntactically valid email address."""


def normalise_email(raw: str) -> str:
    """Trimmed, domain lower-cased and IDNA-encoded, local part kept as typed.

    Raises InvalidAddress with the validator's reason.
    """
    candidate = raw.strip()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    return f"{result.local_part}@{result.ascii_domain.lower()}"


def clean_name(raw: str | None) -> str:
    """A display name safe for headers: control characters dropped, spaces folded."""
    if not raw:
        return ""
    kept = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(kept.split())[:200]
