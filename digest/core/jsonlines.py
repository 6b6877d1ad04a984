"""JSON Lines in and out for the quality commands (`digest summarize`, `digest stories`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from digest.core.errors import DigestError


class InputError(DigestError):
    """A row of a JSON Lines input is malformed; the message names the source and line."""


def read_rows(stream: TextIO, name: str, required: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Objects of a JSON Lines stream, each checked to carry the `required` string fields."""
    needed = tuple(required)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{name}, line {number}: not JSON ({exc.msg})",
                hint='each line must be one object such as {"id": "a1", "text": "..."}',
            ) from None
        if not isinstance(row, dict):
            raise InputError(f"{name}, line {number}: expected an object, got {type(row).__name__}")
        for key in needed:
            if key not in row:
                raise InputError(f"{name}, line {number}: missing key {key!r}")
            if key != "id" and not isinstance(row[key], str):
                raise InputError(f"{name}, line {number}: {key!r} must be a string")
        yield row


def parse_time(value: Any, name: str, number: int) -> datetime | None:
    """An ISO 8601 `published` value (naive means UTC), or None when absent."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            f"{name}, line {number}: 'published' {value!r} is not an ISO 8601 time",
            hint="use e.g. 2026-11-30T08:00:00+00:00",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def write_row(stream: TextIO, row: dict[str, Any]) -> None:
    """One object as one line."""
    stream.write(json.dumps(row, ensure_ascii=False) + "\n")
