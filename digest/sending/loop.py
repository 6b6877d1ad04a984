"""The send loop: claim a batch from the ledger, hand it to the provider, record each answer.

Several workers (threads here, processes elsewhere) may run the loop on one edition: on
PostgreSQL their claims never overlap (SKIP LOCKED); on SQLite one process at a time holds the
edition's lock in the database. Nothing is marked sent that the provider did not accept.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from digest.core import leases
from digest.core.errors import SendError
from digest.email.message import PreparedEdition, Recipient
from digest.sending.providers.base import Mailer, Outcome, SendResult
from digest.sending.throttle import TokenBucket
from digest.store import deliveries, sendctl
from subscribers.store import deliverable, topics_for
from subscribers.tokens import LinkSigner

log = logging.getLogger(__name__)


@dataclass
class SendSummary:
    """What a send did, for the end-of-send report."""

    counts: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    resent_uncertain: int = 0
    elapsed: float = 0.0
    stopped: str | None = None  # "paused" or "cancelled" when the operator stopped it

    @property
    def rate(self) -> float:
        """Messages accepted per second."""
        return self.counts["sent"] / self.elapsed if self.elapsed else 0.0


@dataclass(frozen=True)
class SendOptions:
    """How one worker runs: batch size, pace, threads, lease, and the operator's choices."""

    batch_size: int = 1000
    rate_limit: float = 0.0
    concurrency: int = 1
    lease: timedelta = timedelta(minutes=10)
    resend_uncertain: bool = False
    worker: str = ""


def worker_id() -> str:
    """A name for this run in the ledger's claimed_by column: host, process, run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# Runs going on in this process, so a restart within one process can tell its own dead runs.
_ACTIVE: set[str] = set()


@contextmanager
def active(worker: str) -> Iterator[None]:
    """Count `worker` as running in this process meanwhile (is_dead says False for it)."""
    _ACTIVE.add(worker)
    try:
        yield
    finally:
        _ACTIVE.discard(worker)


def is_dead(worker: str) -> bool:
    """True when `worker` ran on this machine and is certainly gone (no need to wait a lease)."""
    host, _, rest = worker.partition(":")
    pid_text, _, _run = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its lease can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return worker not in _ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class _Stop(Exception):
    """Raised inside the loop to end it early."""


def run_send(
    engine: Engine,
    mailer: Mailer,
    edition: PreparedEdition,
    signer: LinkSigner,
    base_url: str,
    now: Callable[[], datetime],
    on_batch: Callable[[int], None] | None = None,
    options: SendOptions | None = None,
    variants: Callable[[tuple[str, ...]], PreparedEdition | None] | None = None,
    settled: Callable[[str], bool] | None = None,
) -> SendSummary:
    """Send every pending delivery of the edition; safe to run again after any interruption.

    With `variants`, a reader who chose topics gets the variant for them (fewer sections);
    None from it means the edition holds none of their topics, and they are skipped.
    `settled(worker)` says whether the ledger is complete (see digest.sending.planning): until it
    is, a worker that finds no pending rows waits for more instead of stopping.
    """
    opts = options or SendOptions()
    started = time.perf_counter()
    summary = SendSummary()
    worker = opts.worker or worker_id()
    size = max(1, min(opts.batch_size, mailer.max_batch))
    bucket = TokenBucket(opts.rate_limit, burst=size)
    lock_name = f"send:{edition.edition_id}"
    single = engine.dialect.name != "postgresql"
    _ACTIVE.add(worker)
    if single and not _take_lock(engine, lock_name, worker, now(), opts.lease):
        _ACTIVE.discard(worker)
        raise SendError(
            f"another worker is sending edition {edition.number} of {edition.newsletter}",
            hint="on SQLite one worker sends at a time; wait for it, or use PostgreSQL for "
            "several workers (its lock expires after send.lease if that worker died)",
        )
    with engine.begin() as conn:
        summary.recovered = deliveries.recover_expired(
            conn, edition.edition_id, mailer.resend_safe, now(), opts.lease
        )
        dead = [w for w in deliveries.claimers(conn, edition.edition_id) if is_dead(w)]
        summary.recovered += deliveries.recover_workers(
            conn, edition.edition_id, dead, mailer.resend_safe, now()
        )
        if opts.resend_uncertain:
            summary.resent_uncertain = deliveries.resend_uncertain(conn, edition.edition_id, now())
    counts_lock = threading.Lock()

    token = signer.unsubscribe_tokens(edition.newsletter, edition.edition_id)
    still_member = deliverable(edition.newsletter)

    def unsubscribe_url(subscriber_id: int) -> str:
        return f"{base_url}/u/{token(subscriber_id)}"

    def when_none(conn: Connection, after: int, pending: bool) -> int | None:
        """Nothing claimed after `after`: where to look next, or None when all is done."""
        if pending:
            # Rows another worker is claiming this instant are skipped, not gone: wait for
            # them to be settled one way or the other before calling it done.
            time.sleep(0.02)
            return 0
        if settled is not None and not settled(worker):  # it may plan the rest itself
            time.sleep(0.05)  # more readers are being planned: they come after `after`
            return after
        if after:
            return 0  # look again from the start, for rows that went back to pending
        with conn.begin():
            # The last step of planning may have landed since the look for pending rows.
            pending = bool(deliveries.counts(conn, edition.edition_id).get("pending"))
        return 0 if pending else None

    def one_batch(conn: Connection, after: int) -> int | None:
        """Claim the batch after id `after`, send and record it; returns the last id claimed.

        None when there is nothing left to do.
        """
        reasons: dict[int, str] = {}
        with conn.begin():
            control = sendctl.state(conn, edition.edition_id)
            if control != "running":
                summary.stopped = control
                return None
            claimed = deliveries.claim(
                conn, edition.edition_id, worker, size, now(), after, still=still_member
            )
            pending = not claimed and not after
            if pending:
                pending = bool(deliveries.counts(conn, edition.edition_id).get("pending"))
            # Someone who left the list after planning is not sent to.
            gone = [c.delivery_id for c in claimed if not c.deliverable]
            staying = [c.subscriber_id for c in claimed if c.deliverable]
            chosen = topics_for(conn, edition.newsletter, staying) if variants else {}
            groups: dict[tuple[str, ...], list[int]] = {}
            for c in claimed:
                if c.deliverable:
                    groups.setdefault(chosen.get(c.subscriber_id, ()), []).append(c.delivery_id)
            copies: dict[int, PreparedEdition] = {}
            for topics, ids in groups.items():
                copy = variants(topics) if variants and topics else edition
                if copy is None:  # none of their topics is in this edition
                    gone += ids
                    reasons.update(dict.fromkeys(ids, "none of the reader's topics"))
                else:
                    copies.update(dict.fromkeys(ids, copy))
            if gone:
                errors: dict[int, str | None] = {
                    d: reasons.get(d, "no longer active") for d in gone
                }
                deliveries.mark(conn, gone, "skipped", now(), errors=errors)
        if not claimed:
            return when_none(conn, after, pending)
        batch = [
            Recipient(d, s, email, name, unsubscribe_url(s))
            for d, s, email, name, _ in claimed
            if d in copies
        ]
        bucket.take(len(batch))
        by_copy: dict[int, list[Recipient]] = {}
        for r in batch:
            by_copy.setdefault(id(copies[r.delivery_id]), []).append(r)
        results: list[SendResult] = []
        try:
            for group in by_copy.values():
                results += mailer.send(copies[group[0].delivery_id], group)
        except SendError:
            # The provider refused the send (credentials, sender): this group went nowhere;
            # groups it already took are recorded, the rest go back to pending.
            done = {res.delivery_id for res in results}
            if results:
                _record(conn, results, [r for r in batch if r.delivery_id in done], worker, now())
            with conn.begin():
                rest = [r.delivery_id for r in batch if r.delivery_id not in done]
                deliveries.release(conn, rest, worker, now())
            raise
        _record(conn, results, batch, worker, now())
        with counts_lock:
            summary.counts["skipped"] += len(gone)
            for res in results:
                summary.counts[_COUNTED[res.outcome]] += 1
        if single:
            leases.acquire(engine, lock_name, worker, now(), opts.lease)  # renew
        if on_batch:
            on_batch(len(claimed))
        return claimed[-1].delivery_id

    def loop() -> None:
        # One connection per thread for the whole send: a checkout per transaction would
        # also ping the server each time.
        with engine.connect() as conn:
            after: int | None = 0
            while after is not None:
                after = one_batch(conn, after)

    try:
        threads = opts.concurrency if mailer.thread_safe else 1
        if threads == 1:
            loop()
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="send") as pool:
                for fut in [pool.submit(loop) for _ in range(threads)]:
                    fut.result()
    finally:
        _ACTIVE.discard(worker)
        mailer.close()
        if single:
            leases.release(engine, lock_name, worker)
    summary.elapsed = time.perf_counter() - started
    return summary


_COUNTED = {Outcome.ACCEPTED: "sent", Outcome.REJECTED: "rejected", Outcome.RETRY: "retried"}


def _record(
    conn: Connection,
    results: list[SendResult],
    batch: list[Recipient],
    worker: str,
    stamp: datetime,
) -> None:
    """Write the provider's answers; a recipient it did not answer for stays uncertain."""
    by_outcome: dict[Outcome, list[int]] = {o: [] for o in Outcome}
    for res in results:
        by_outcome[res.outcome].append(res.delivery_id)
    answered = {r.delivery_id for r in results}
    missing = [r.delivery_id for r in batch if r.delivery_id not in answered]
    if missing:
        log.error("provider gave no answer for %d deliveries; marked uncertain", len(missing))
    with conn.begin():
        deliveries.mark(
            conn,
            by_outcome[Outcome.ACCEPTED],
            "sent",
            stamp,
            provider_ids={r.delivery_id: r.provider_id for r in results},
            worker=worker,
        )
        errors = {r.delivery_id: r.error for r in results}
        deliveries.mark(
            conn, by_outcome[Outcome.REJECTED], "rejected", stamp, errors=errors, worker=worker
        )
        deliveries.mark(
            conn, by_outcome[Outcome.RETRY], "pending", stamp, errors=errors, worker=worker
        )
        deliveries.mark(
            conn,
            missing,
            "uncertain",
            stamp,
            errors=dict.fromkeys(missing, "the provider gave no answer for this recipient"),
            worker=worker,
        )


def _take_lock(engine: Engine, name: str, worker: str, now: datetime, lease: timedelta) -> bool:
    """The edition's send lock, taken over at once from a holder known to be dead."""
    if leases.acquire(engine, name, worker, now, lease):
        return True
    holder = leases.holder(engine, name)
    if holder is not None and is_dead(holder):
        return leases.take_over(engine, name, holder, worker, now, lease)
    return False
