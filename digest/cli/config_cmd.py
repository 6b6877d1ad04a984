"""`digest config ...`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click
from rich.table import Column, Table

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.settings import Settings
from digest.settings.loading import effective_settings


@cli.group()
def config() -> None:
    """Inspect settings."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON, for scripts.")
@click.pass_obj
def check(state: State, as_json: bool) -> None:
    """Validate the settings and print every effective value, secrets masked, with its origin.

    Then each scheduled newsletter's next three send times, in its time zone.

    Example: DIGEST_HOME=/tmp/d digest config check
    """
    loaded = state.loaded()
    rows = effective_settings(loaded)
    sends = upcoming_sends(loaded.settings)
    if as_json:
        settings = [{"key": k, "value": v, "from": o} for k, v, o in rows]
        nexts = {name: [f"{t:%Y-%m-%dT%H:%M%z}" for t in times] for name, times in sends.items()}
        doc = {"config_file": str(loaded.path or ""), "settings": settings, "next_sends": nexts}
        click.echo(json.dumps(doc, indent=2))
        return
    table = Table(
        Column("setting", no_wrap=True), Column("value", overflow="fold"),
        Column("from", overflow="fold"),
    )  # fmt: skip
    for key, value, origin in rows:
        table.add_row(key, value, origin)
    c = console()
    c.print(f"config file: {loaded.path or '(none: built-in defaults)'}")
    c.print(table)
    for name, times in sends.items():
        shown = ", ".join(f"{t:%a %d %b %H:%M}" for t in times)
        c.print(f"{name} sends next: {shown} {times[0]:%Z}" if times else f"{name}: never sends")
    c.print("[green]settings are valid[/]")


def upcoming_sends(settings: Settings, count: int = 3) -> dict[str, list[datetime]]:
    """The next `count` send times of each scheduled newsletter, in its time zone."""
    from digest.schedule.expressions import fire_times, parse_schedule

    out = {}
    now = datetime.now(UTC)
    for name, nl in settings.newsletters.items():
        if nl.schedule is None:
            continue
        zone = nl.timezone or settings.timezone
        trigger = parse_schedule(nl.schedule, zone)
        times = fire_times(trigger, now, now + timedelta(days=400))[:count]
        out[name] = [t.astimezone(ZoneInfo(zone)) for t in times]
    return out
