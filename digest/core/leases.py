"""A lease in the database on a named job: one holder at a time, on one machine or many."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.core.models import JobLock
from digest.core.workers import active, is_dead


def acquire(engine: Engine, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Take the lease if it is free or expired; True when `owner` holds it now."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(JobLock)
            .where(JobLock.name == name, (JobLock.expires_at < now) | (JobLock.owner == owner))
            .values(owner=owner, expires_at=now + lease)
        )
        if taken.rowcount == 1:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(JobLock).values(name=name, owner=owner, expires_at=now + lease))
        return True
    except IntegrityError:  # someone else holds a live lease
        return False


def holder(engine: Engine, name: str) -> str | None:
    """Who holds the lease now (live or expired), if anyone."""
    with engine.connect() as conn:
        return conn.execute(select(JobLock.owner).where(JobLock.name == name)).scalar_one_or_none()


def take_over(
    engine: Engine, name: str, dead: str, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take the lease from `dead`, a holder known to have died; False if it changed hands."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(JobLock)
            .where(JobLock.name == name, JobLock.owner == dead)
            .values(owner=owner, expires_at=now + lease)
        )
        return taken.rowcount == 1


def take(engine: Engine, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Acquire the lease, or take it over at once from a holder known to be dead."""
    if acquire(engine, name, owner, now, lease):
        return True
    dead = holder(engine, name)
    return dead is not None and is_dead(dead) and take_over(engine, name, dead, owner, now, lease)


def release(engine: Engine, name: str, owner: str) -> None:
    """Give the lease back (only if `owner` still holds it)."""
    with engine.begin() as conn:
        conn.execute(delete(JobLock).where(JobLock.name == name, JobLock.owner == owner))


@contextmanager
def job_lock(
    engine: Engine, name: str, owner: str, now: datetime, lease: timedelta
) -> Iterator[bool]:
    """`with job_lock(...) as held:` runs the body either way; `held` says whether to work.

    A lease left by a dead process on this machine is taken over at once; one from another
    machine waits for its expiry. Meanwhile the owner counts as alive in this process.
    """
    with active(owner):
        held = take(engine, name, owner, now, lease)
        try:
            yield held
        finally:
            if held:
                release(engine, name, owner)
