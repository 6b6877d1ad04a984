"""Helpers the commands share: the state object, durations, the console."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click
from rich.console import Console

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def console() -> Console:
    """A console on stdout that does not wrap JSON or paths."""
    return Console(soft_wrap=True, highlight=False)


def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '12h', '30m', '2w', or an ISO date/time → the moment it stands for."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use a duration like 7d, 12h, 2w or a date like 2026-11-01",
            param_hint="--since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
