"""Schedules: the plain forms, cron, time zones across DST, drafts ahead of sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digest.core.errors import ConfigError
from digest.schedule.expressions import (
    LeadTrigger,
    fire_times,
    last_fire,
    next_fire,
    parse_schedule,
)
from digest.settings.loading import load_settings

WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("daily 07:30", datetime(2026, 11, 26, 7, 30)),
        ("weekdays 07:00", datetime(2026, 11, 26, 7, 0)),
        ("weekly mon 08:00", datetime(2026, 11, 30, 8, 0)),
        ("Weekly Monday 08:00", datetime(2026, 11, 30, 8, 0)),
        ("monthly 1 09:00", datetime(2026, 12, 1, 9, 0)),
        ("monthly last 09:00", datetime(2026, 11, 30, 9, 0)),
        ("0 8 * * 1", datetime(2026, 11, 30, 8, 0)),  # cron: 1 = Monday
        ("0 8 * * 0", datetime(2026, 11, 29, 8, 0)),  # cron: 0 = Sunday
        ("30 6 * * 1-5", datetime(2026, 11, 26, 6, 30)),
    ],
)
def test_forms(spec: str, expected: datetime) -> None:
    after = datetime(2026, 11, 25, 12, 0, tzinfo=WARSAW)  # a Wednesday
    fire = next_fire(parse_schedule(spec, "Europe/Warsaw"), after)
    assert fire == expected.replace(tzinfo=WARSAW)


@pytest.mark.parametrize("spec", ["weekly funday 08:00", "daily 25:00", "every tuesday", "* * *"])
def test_nonsense_lists_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_schedule(spec, "UTC")
    assert "weekly mon 08:00" in str(err.value) and "cron" in str(err.value)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("0 8 * * 9", "weekday 9 does not exist"),
        ("0 8 * * 1-9", "weekday 9 does not exist"),
        ("0 0 30 2 *", "never fire"),
        ("0 0 31 4,6,9,11 *", "never fire"),
        ("60 8 * * 1", "60"),
    ],
)
def test_well_formed_cron_that_cannot_fire_is_refused(spec: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_schedule(spec, "Europe/Warsaw")


def test_cron_on_29_february_and_sunday_as_7_are_accepted() -> None:
    after = datetime(2026, 12, 2, tzinfo=UTC)
    assert next_fire(parse_schedule("0 0 29 2 *", "UTC"), after) == datetime(
        2028, 2, 29, tzinfo=UTC
    )
    sunday = next_fire(parse_schedule("0 8 * * 7", "UTC"), after)
    assert sunday is not None and sunday.weekday() == 6


def test_nonsense_cron_is_refused_by_config_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from digest.cli import cli

    path = tmp_path / "d.toml"
    path.write_text('[newsletters.w]\ntitle = "W"\ntags = ["a"]\nschedule = "0 8 * * 9"\n')
    for command in (["config", "check"], ["schedule", "list"]):
        result = CliRunner().invoke(cli, ["--config", str(path), *command])
        assert result.exit_code == 1
        assert "newsletters.w.schedule" in result.output and "weekday 9" in result.output


def test_bad_schedule_in_config_names_the_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.toml"
    path.write_text('[newsletters.w]\ntitle = "W"\ntags = ["a"]\nschedule = "fortnightly"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "newsletters.w.schedule" in str(err.value) and "daily 07:30" in str(err.value)


@pytest.mark.parametrize(
    ("zone", "start"),
    [(WARSAW, datetime(2027, 3, 1, tzinfo=UTC)), (NEW_YORK, datetime(2027, 3, 1, tzinfo=UTC)),
     (WARSAW, datetime(2027, 10, 4, tzinfo=UTC)), (NEW_YORK, datetime(2027, 10, 25, tzinfo=UTC))],
)  # fmt: skip
def test_local_time_holds_across_dst(zone: ZoneInfo, start: datetime) -> None:
    trigger = parse_schedule("weekly mon 08:00", str(zone))
    fires = fire_times(trigger, start, start + timedelta(weeks=6))
    assert len(fires) == 6
    assert all(f.astimezone(zone).hour == 8 and f.astimezone(zone).weekday() == 0 for f in fires)
    offsets = {f.utcoffset() for f in fires}
    assert len(offsets) == 2  # the UTC offset changed, the local time did not


def test_daily_send_on_the_dst_night_fires_once() -> None:
    # 02:30 does not exist on the spring-forward night in Warsaw; it must not vanish or double.
    trigger = parse_schedule("daily 02:30", "Europe/Warsaw")
    start = datetime(2027, 3, 26, tzinfo=UTC)
    fires = fire_times(trigger, start, start + timedelta(days=4))
    days = [f.astimezone(WARSAW).date() for f in fires]
    assert len(days) == len(set(days))


def test_draft_lead_trigger() -> None:
    send = parse_schedule("weekly mon 08:00", "Europe/Warsaw")
    draft = LeadTrigger(send, timedelta(hours=20))
    now = datetime(2026, 11, 25, 12, 0, tzinfo=WARSAW)
    first_draft = draft.get_next_fire_time(None, now)
    assert first_draft == datetime(2026, 11, 29, 12, 0, tzinfo=WARSAW)
    assert next_fire(send, first_draft) == first_draft + timedelta(hours=20)
    assert draft.get_next_fire_time(first_draft, first_draft + timedelta(seconds=1)) == (
        datetime(2026, 12, 6, 12, 0, tzinfo=WARSAW)
    )


def test_last_fire() -> None:
    send = parse_schedule("weekly mon 08:00", "UTC")
    assert last_fire(send, datetime(2026, 12, 2, tzinfo=UTC)) == datetime(
        2026, 11, 30, 8, tzinfo=UTC
    )
