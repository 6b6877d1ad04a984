"""The operator's controls over a send (pause, resume, cancel), read by workers between batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.core.models import SendControl

STATES = ("running", "paused", "cancelled")


def state(conn: Connection, edition_id: int) -> str:
    """`running` unless an operator paused or cancelled the send."""
    found = conn.execute(
        select(SendControl.state).where(SendControl.edition_id == edition_id)
    ).scalar_one_or_none()
    return found or "running"


def set_state(conn: Connection, edition_id: int, new: str, actor: str, now: datetime) -> None:
    """Record the operator's decision (the last one wins)."""
    if new not in STATES:
        raise ValueError(f"unknown send state {new!r}")
    changed = conn.execute(
        update(SendControl)
        .where(SendControl.edition_id == edition_id)
        .values(state=new, actor=actor, updated_at=now)
    )
    if changed.rowcount == 0:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(SendControl).values(
                        edition_id=edition_id, state=new, actor=actor, updated_at=now
                    )
                )
        except IntegrityError:  # someone inserted it meanwhile: update theirs
            conn.execute(
                update(SendControl)
                .where(SendControl.edition_id == edition_id)
                .values(state=new, actor=actor, updated_at=now)
            )
