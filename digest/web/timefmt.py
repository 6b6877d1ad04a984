"""Times as people read them on the desk: in the newsletter's zone, and how far off they are."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))


def distance(when: datetime, now: datetime) -> str:
    """How far `when` is from `now` ("in 5 days", "3 hours ago"), in its largest whole unit."""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "just now"
    for size, unit in _UNITS:
        if span >= size:
            n = int(span // size)
            text = f"{n} {unit}{'' if n == 1 else 's'}"
            return f"in {text}" if seconds > 0 else f"{text} ago"
    return "just now"  # not reached: span >= 60 matched the minute


def humanise(when: datetime | str | None, now: datetime, zone: str) -> str:
    """A time like "Tue 8 Dec 2026, 09:00 CET (in 5 days)"; empty for no time. ISO strings
    (as the JSON views of subscribers carry them) are read first."""
    if not when:
        return ""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return str(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z} ({distance(when, now)})"
