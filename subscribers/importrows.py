"""Rows of an import file: which column is which, and one row parsed into a subscriber or a
rejection with its reason. Pure functions, no database.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from subscribers.addresses import Address, InvalidAddress, clean_name, clean_value, parse_address
from subscribers.errors import ImportFileError

EMAIL_NAMES = ("email", "e_mail", "email_address", "emailaddress", "mail", "e_mail_address")
NAME_NAMES = ("name", "full_name", "fullname", "display_name")
TOPIC_NAMES = ("topics", "topic", "interests")
_TOPIC_SPLIT = re.compile(r"[;|,\s]+")
_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Rejection:
    """One row not imported: its line, the address as written, and why."""

    line: int
    email: str
    reason: str


@dataclass
class ImportRow:
    """A good row: the address and what goes with it (topics None: leave them as they are)."""

    line: int
    address: Address
    name: str
    attributes: dict[str, str]
    topics: list[str] | None
    # Imported all the same, but something in the row was left out (e.g. an unknown topic).
    warning: str = ""


def _key(header: str) -> str:
    return _KEY.sub("_", header.strip().lower()).strip("_")[:63]


@dataclass
class Columns:
    """Where the email, name and topics columns are; the rest are attributes."""

    email: int
    name: int | None
    topics: int | None
    attributes: list[tuple[int, str]]
    width: int


def find_columns(header: list[str], path: Path) -> Columns:
    """The columns by their names; ImportFileError (naming the file) without an email column."""
    keys = [_key(h) for h in header]

    def find(names: tuple[str, ...]) -> int | None:
        for name in names:
            if name in keys:
                return keys.index(name)
        return None

    email = find(EMAIL_NAMES)
    if email is None:
        shown = ", ".join(repr(h) for h in header[:10]) or "(empty)"
        raise ImportFileError(
            f"{path}: no email column in the header row (found {shown})",
            hint="name the column of addresses 'email'",
        )
    name, topics = find(NAME_NAMES), find(TOPIC_NAMES)
    taken = {email, name, topics}
    attributes = [(i, k) for i, k in enumerate(keys) if i not in taken and k]
    return Columns(email, name, topics, attributes, len(header))


def parse_row(
    line: int,
    fields: list[str],
    cols: Columns,
    allowed: Collection[str] | None,
    check: bool,
    unknown_topics: str = "ignore",
) -> ImportRow | Rejection:
    """One row: an ImportRow, or a Rejection saying why not.

    A topic the newsletter does not have is an interest label, not a reason to lose the person:
    with `unknown_topics="ignore"` the row keeps its known topics (none left: the member gets
    every topic) and carries a warning; "reject" refuses the row instead.
    """
    if len(fields) < cols.width:  # short rows: missing cells are empty
        fields = fields + [""] * (cols.width - len(fields))
    raw = fields[cols.email]
    if not raw or raw.isspace():
        return Rejection(line, "", "invalid address: empty")
    try:
        address = parse_address(raw, check_deliverability=check)
    except InvalidAddress as exc:
        return Rejection(line, raw[:320], f"invalid address: {exc}")
    name = clean_name(fields[cols.name]) if cols.name is not None else ""
    topics: list[str] | None = None
    warning = ""
    if cols.topics is not None:
        cell = fields[cols.topics]
        if cell and not cell.isspace():
            topics = sorted({t.lower() for t in _TOPIC_SPLIT.split(cell) if t})
            if allowed is not None:
                unknown = [t for t in topics if t not in allowed]
                if unknown and unknown_topics == "reject":
                    return Rejection(line, address.email, f"unknown topic: {', '.join(unknown)}")
                if unknown:
                    topics = [t for t in topics if t in allowed] or None
                    kept = "its other topics kept" if topics else "gets every topic"
                    warning = f"unknown topic ignored: {', '.join(unknown)} ({kept})"
    attributes = {}
    for i, key in cols.attributes:
        value = fields[i]
        if value and not value.isspace():
            attributes[key] = clean_value(value)
    return ImportRow(line, address, name, attributes, topics, warning)
