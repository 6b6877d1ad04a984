"""Helpers the commands share: the state object, durations, the console."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def console() -> Console:
    """A console on stdout that does not wrap JSON or paths (rich is imported here: most
    commands print plain lines)."""
    from rich.console import Console

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


def path_for_config(typed: str, config: Path | None) -> str:
    """A path typed on the command line (relative to where it was typed), as the config file
    should hold it: relative to the file's folder (which is how the file's paths are read),
    or absolute when it lies elsewhere or there is no file. URLs are left as they are."""
    if "://" in typed:
        return typed
    where = Path(typed).expanduser().resolve()
    if config is None:
        return str(where)
    folder = config.resolve().parent
    if where.is_relative_to(folder):
        return where.relative_to(folder).as_posix()
    return str(where)


def confirm_or_refuse(yes: bool, question: str, scripted: str) -> None:
    """Ask before something that cannot be undone; with no one to ask (a script), refuse and
    name the command that says yes (`scripted`)."""
    import sys

    from digest.core.errors import DigestError

    if yes:
        return
    if not sys.stdin.isatty():
        raise DigestError(
            f"not done: this asks first ({question}), and there is no one here to answer",
            hint=f"in a script, say so: {scripted}",
        )
    click.confirm(question[:1].upper() + question[1:], abort=True)
