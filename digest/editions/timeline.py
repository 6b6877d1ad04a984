"""A newsletter's weeks as editors and operators read them: editions, and the sends that made none.

A week skipped for having nothing new, or missed while no scheduler ran, leaves no edition (or a
draft that was never sent) but a recorded scheduler run; the timeline puts both in one list, each
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from digest.core.models import ScheduleRun
from digest.store.editions import EditionRow, list_editions

# Outcomes of a send job worth showing beside the editions: the week did not go as planned.
NOTABLE = ("skipped", "missed", "late", "blocked")


@dataclass(frozen=True)
class Week:
    """One line of the timeline: an edition, a planned send that made none, or both."""

    when: datetime | None  # the planned send time, else when the edition was made
    edition: EditionRow | None
    outcome: str  # the edition's status, or the send job's outcome
    reason: str = ""


def timeline(conn: Connection, newsletter: str, limit: int = 50) -> list[Week]:
    """Editions and notable send runs of `newsletter`, newest first."""
    runs = {
        r.planned_for: r
        for r in conn.execute(
            select(ScheduleRun.planned_for, ScheduleRun.outcome, ScheduleRun.message)
            .where(ScheduleRun.job == f"send:{newsletter}", ScheduleRun.outcome.in_(NOTABLE))
            .order_by(ScheduleRun.planned_for.desc())
            .limit(limit)
        )
    }
    weeks = []
    for e in list_editions(conn, newsletter, limit):
        run = runs.pop(e.scheduled_for, None) if e.scheduled_for else None
        if run is not None and e.status in ("draft", "approved", "skipped"):
            weeks.append(Week(e.scheduled_for, e, f"{e.status} ({run.outcome})", run.message))
        else:
            weeks.append(Week(e.scheduled_for or e.created_at, e, e.status))
    weeks += [Week(r.planned_for, None, r.outcome, r.message) for r in runs.values()]
    weeks.sort(key=lambda w: w.when or datetime.min.replace(tzinfo=UTC), reverse=True)
    return weeks[:limit]
