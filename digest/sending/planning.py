"""Planning a send in steps, so its workers start on the first readers while the rest are planned.

On PostgreSQL the transaction that starts a send plans the readers among the first FIRST
members of the list and leaves a marker, a lease in job_locks named `plan:<edition id>`, saying
the ledger is not complete. Its holder plans the rest in steps of STEP members, one
transaction each, renewing the lease, and
removes the marker with the last step. A worker that runs out of pending rows stops only once
the marker is gone; if its holder died, the worker takes the marker over and plans the rest
itself (planning again is harmless: rows already planned stay as they are). On SQLite, where
one worker sends at a time anyway, the whole ledger is planned at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.sql import Select

from digest.core.models import Edition, JobLock
from digest.editions.lifecycle import Status
from digest.store import deliveries

FIRST = 5_000  # members whose readers are planned before the first worker starts
STEP = 20_000  # members per planning transaction after that


def marker(edition_id: int) -> str:
    """The job_locks name saying the edition's ledger is still being planned."""
    return f"plan:{edition_id}"


@dataclass
class Planner:
    """Plans one edition's ledger from a query of its readers' subscriber ids."""

    engine: Engine
    edition_id: int
    # The readers' subscriber ids after one id and up to another (None: to the end).
    readers: Callable[[int, int | None], Select[int]]
    # Where a step of n members that starts after an id ends (None: fewer are left).
    step_end: Callable[[Connection, int, int], int | None]
    clock: Callable[[], datetime]
    lease: timedelta
    # False for a holder known to have died (its lease may not have run out yet).
    alive: Callable[[str], bool] = lambda owner: True
    # Told how many rows each step added (a progress bar's total grows with it).
    on_added: Callable[[int], None] | None = None
    added: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def in_steps(self) -> bool:
        """Whether workers may start before the ledger is complete (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def start(self, conn: Connection, owner: str) -> int | None:
        """The first step, in the transaction that starts or resumes the send.

        Returns the subscriber id that `finish` goes on after, or None when there is nothing
        more for this process to plan (all planned, or another live process is planning).
        """
        now = self.clock()
        if not self.in_steps:
            self._count(deliveries.plan(conn, self.edition_id, self.readers(0, None), now))
            return None
        name = marker(self.edition_id)
        held = conn.execute(
            select(JobLock.owner, JobLock.expires_at).where(JobLock.name == name)
        ).first()
        if held is not None and held.expires_at > now and self.alive(held.owner):
            return None  # its holder plans the rest; our workers wait for the marker to go
        if held is None:
            from sqlalchemy.dialects import postgresql  # this path runs on PostgreSQL only

            conn.execute(
                postgresql.insert(JobLock)
                .values(name=name, owner=owner, expires_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )
        else:  # its holder died: take it over
            conn.execute(
                update(JobLock)
                .where(JobLock.name == name, JobLock.owner == held.owner)
                .values(owner=owner)
            )
        # From the first reader, whatever an earlier run planned: it may have stopped anywhere.
        # (A process that took the marker first makes _step answer None: it plans.)
        return self._step(conn, owner, 0, FIRST, analyze=True)

    def finish(self, owner: str, after: int) -> None:
        """Plan the rest in steps of STEP readers, then remove the marker."""
        nxt: int | None = after
        while nxt is not None:
            with self.engine.begin() as conn:
                nxt = self._step(conn, owner, nxt, STEP, analyze=False)

    def settled(self, owner: str) -> bool:
        """True once the ledger is complete.

        A marker whose holder died is taken over by `owner`, who plans the rest here; the
        answer is then False, so the caller looks for pending rows once more.
        """
        if not self.in_steps:
            return True
        name = marker(self.edition_id)
        with self.engine.begin() as conn:
            now = self.clock()
            held = conn.execute(
                select(JobLock.owner, JobLock.expires_at).where(JobLock.name == name)
            ).first()
            if held is None:
                return True
            if held.expires_at > now and self.alive(held.owner):
                return False
            taken = conn.execute(
                update(JobLock)
                .where(JobLock.name == name, JobLock.owner == held.owner)
                .values(owner=owner, expires_at=now + self.lease)
            ).rowcount
        if taken == 1:
            self.finish(owner, 0)
        return False

    def _step(
        self, conn: Connection, owner: str, after: int, size: int, analyze: bool
    ) -> int | None:
        """Plan the readers among the next `size` members after `after`, as `owner`.

        Returns the subscriber id the step ended at, or None once the ledger is complete.
        """
        name = marker(self.edition_id)
        now = self.clock()
        # The edition row is read FOR SHARE: a cancel (which locks it for update first) then
        # either sees this step's rows or stops the next one.
        status = conn.execute(
            select(Edition.status).where(Edition.id == self.edition_id).with_for_update(read=True)
        ).scalar()
        renewed = conn.execute(
            update(JobLock)
            .where(JobLock.name == name, JobLock.owner == owner)
            .values(expires_at=now + self.lease)
        ).rowcount
        if renewed != 1:
            return None  # another worker took the marker over (this one looked dead)
        if status != Status.SENDING:
            conn.execute(delete(JobLock).where(JobLock.name == name, JobLock.owner == owner))
            return None  # cancelled (or finished) meanwhile: nothing more to plan
        end = self.step_end(conn, after, size)
        added = deliveries.plan(conn, self.edition_id, self.readers(after, end), now)
        self._count(added)
        if analyze or end is None:
            deliveries.analyze(conn)
        if end is None:
            conn.execute(delete(JobLock).where(JobLock.name == name, JobLock.owner == owner))
        return end

    def _count(self, added: int) -> None:
        with self._lock:
            self.added += added
        if self.on_added is not None and added:
            self.on_added(added)
