"""The send's progress bar on a terminal (rich): a real total, the rate and the time left.

Kept apart so that a send without a terminal (cron, systemd, a container) never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from digest.cli.common import console
from digest.sending.loop import Hooks
from digest.sending.stopping import Stop


@contextmanager
def terminal_bar(stop: Stop) -> Iterator[Hooks]:
    """Hooks that drive the bar; the operator's messages (waits, outages) go above it."""
    columns = (
        TextColumn("sending"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
    )
    c = console()
    with Progress(*columns, console=c) as bar:
        task = bar.add_task("send", total=0)

        def grow(n: int) -> None:
            bar.update(task, total=(bar.tasks[0].total or 0) + n)

        yield Hooks(
            progress=lambda n: bar.advance(task, n),
            more=grow,
            say=lambda text: c.print(text),
            stop=stop,
        )


class RateColumn(TextColumn):
    """Readers per second, from rich's own speed estimate."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        """The rate, or nothing before there is one."""
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")
