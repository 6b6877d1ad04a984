"""Schedules: the plain forms editors write, turned into APScheduler triggers, and time arithmetic.

Every function takes the time it works from; nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

FORMS = (
    "'daily 07:30'",
    "'weekdays 07:00'",
    "'weekly mon 08:00'",
    "'monthly 1 09:00' (day of month; 'monthly last 09:00' for the last day)",
    "a five-field cron expression such as '0 8 * * 1' (minute hour day month weekday, 0 = Sunday)",
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = {
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
    "friday": "fri", "saturday": "sat", "sunday": "sun",
}  # fmt: skip
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbers weekdays from Sunday
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"


def parse_schedule(text: str, tz: str) -> CronTrigger:
    """A trigger for `text` in time zone `tz`; ValueError lists the accepted forms."""
    zone = ZoneInfo(tz)
    spec = " ".join(text.lower().split())
    try:
        if m := re.fullmatch(rf"daily {_TIME}", spec):
            return CronTrigger(hour=int(m[1]), minute=int(m[2]), timezone=zone)
        if m := re.fullmatch(rf"weekdays {_TIME}", spec):
            return CronTrigger(
                day_of_week="mon-fri", hour=int(m[1]), minute=int(m[2]), timezone=zone
            )
        if m := re.fullmatch(rf"weekly ([a-z]+) {_TIME}", spec):
            day = _FULL_DAYS.get(m[1], m[1])
            if day not in _DAYS:
                raise ValueError(f"unknown weekday {m[1]!r}")
            return CronTrigger(day_of_week=day, hour=int(m[2]), minute=int(m[3]), timezone=zone)
        if m := re.fullmatch(rf"monthly (last|[1-9]|[12]\d|3[01]) {_TIME}", spec):
            return CronTrigger(day=m[1], hour=int(m[2]), minute=int(m[3]), timezone=zone)
        fields = spec.split(" ")
        if len(fields) == 5:
            minute, hour, day, month, dow = fields
            trigger = CronTrigger(
                minute=minute, hour=hour, day=day, month=month,
                day_of_week=_cron_weekdays(dow), timezone=zone,
            )  # fmt: skip
            # '0 0 30 2 *' is well formed and names no real date: refuse it rather than
            # accept a schedule that never sends. (A fixed start: nothing here reads the clock;
            # APScheduler looks years ahead, so 29 February is found.)
            if trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=zone)) is None:
                raise ValueError("it names no date that exists, so it would never fire")
            return trigger
    except ValueError as exc:
        raise ValueError(f"schedule {text!r}: {exc}; accepted forms: {', '.join(FORMS)}") from None
    raise ValueError(f"schedule {text!r} is not understood; accepted forms: {', '.join(FORMS)}")


def _cron_weekdays(field: str) -> str:
    """Cron numbers weekdays 0–7 from Sunday; APScheduler from Monday: translate to names."""

    def name(m: re.Match[str]) -> str:
        if int(m[0]) > 7:
            raise ValueError(
                f"weekday {m[0]} does not exist: cron weekdays are 0-7 (0 and 7 are Sunday)"
            )
        return _CRON_DAYS[int(m[0]) % 7]

    return re.sub(r"\d+", name, field)


class LeadTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires `lead` before each fire time of another trigger (drafts ahead of each send)."""

    def __init__(self, trigger: BaseTrigger, lead: timedelta) -> None:
        self.trigger = trigger
        self.lead = lead

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The next send time after now + lead, moved back by lead."""
        prev = previous_fire_time + self.lead if previous_fire_time else None
        nxt = self.trigger.get_next_fire_time(prev, now + self.lead)
        return nxt - self.lead if nxt else None

    def __getstate__(self) -> dict[str, object]:
        return {"trigger": self.trigger, "lead": self.lead}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.trigger = state["trigger"]
        self.lead = state["lead"]

    def __str__(self) -> str:
        return f"{self.trigger} minus {self.lead}"


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`."""
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return fire


def fire_times(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in (start, end]."""
    out = []
    current = start
    while (fire := next_fire(trigger, current)) is not None and fire <= end:
        out.append(fire)
        current = fire
    return out


def last_fire(
    trigger: BaseTrigger, now: datetime, horizon: timedelta = timedelta(days=62)
) -> datetime | None:
    """The latest fire time at or before `now` (within `horizon`), e.g. the send a job is for."""
    times = fire_times(trigger, now - horizon, now)
    return times[-1] if times else None
