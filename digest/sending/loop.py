"""The send loop: claim a batch from the ledger, hand it to the provider, record each answer.

Several workers (threads here, processes elsewhere) may run the loop on one edition: on
PostgreSQL their claims never overlap (SKIP LOCKED); on SQLite one process at a time holds the
edition's lock in the database. Nothing is marked sent that the provider did not accept, and
nothing is sent again that the provider may have (those rows are uncertain, for the operator).

One batch: wait for the rate limit, claim, take a last look at who is still deliverable, hand
the rest to the provider, record each answer. Waits happen with nothing claimed, so a reader
who leaves meanwhile is never sent to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from digest.core import leases, memory, workers
from digest.core.errors import SendError
from digest.core.workers import is_dead, worker_id
from digest.email.message import PreparedEdition, Recipient
from digest.sending.providers.base import Mailer, Outcome, ProviderUnavailable, SendResult
from digest.sending.retries import Outage, RetryPolicy
from digest.sending.stopping import Stop
from digest.sending.throttle import TokenBucket
from digest.store import claims, decisions, deliveries, sendctl
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
    # "paused" or "cancelled" by the operator, "signal" by SIGINT/SIGTERM, "outage" when the
    # provider stayed unreachable for longer than send.retry_window.
    stopped: str | None = None
    outage: str = ""  # the provider's last answer, when stopped by an outage
    exit_code: int = 0  # 128 + the signal's number, when stopped by one

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
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class Hooks:
    """How a send talks to whoever runs it: progress, messages, stopping and sleeping.

    `progress(n)` counts readers settled (sent, rejected, skipped, uncertain); `say` gets
    the lines an operator should read while it waits; every sleep is `stop.wait`, so a test
    can move a fake clock instead of sleeping.
    """

    progress: Callable[[int], None] | None = None
    # Told how many deliveries are left when the send starts, then of each planned later.
    more: Callable[[int], None] | None = None
    say: Callable[[str], None] = log.warning
    stop: Stop = field(default_factory=Stop)


def run_send(
    engine: Engine,
    mailer: Mailer,
    edition: PreparedEdition,
    signer: LinkSigner,
    base_url: str,
    now: Callable[[], datetime],
    options: SendOptions | None = None,
    variants: Callable[[tuple[str, ...]], PreparedEdition | None] | None = None,
    settled: Callable[[str], bool] | None = None,
    hooks: Hooks | None = None,
) -> SendSummary:
    """Send every pending delivery of the edition; safe to run again after any interruption.

    With `variants`, a reader who chose topics gets the variant for them (fewer sections);
    None from it means the edition holds none of their topics, and they are skipped.
    `settled(worker)` says whether the ledger is complete (see digest.sending.planning): until it
    is, a worker that finds no pending rows waits for more instead of stopping.
    """
    opts = options or SendOptions()
    hooks = hooks or Hooks()
    stop = hooks.stop
    started = time.perf_counter()
    summary = SendSummary()
    worker = opts.worker or worker_id()
    size = max(1, min(opts.batch_size, mailer.max_batch))
    bucket = TokenBucket(opts.rate_limit, burst=size, sleep=stop.wait)
    outage = Outage(opts.retry)
    halt = threading.Event()  # one thread failed or gave up: the others stop too
    lock_name = f"send:{edition.edition_id}"
    single = engine.dialect.name != "postgresql"
    memory.keep_freed_memory()  # each batch reuses what the one before freed
    workers.mark_active(worker)
    if single and not leases.take(engine, lock_name, worker, now(), opts.lease):
        workers.mark_done(worker)
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
            summary.resent_uncertain = decisions.resend_uncertain(conn, edition.edition_id, now())
    counts_lock = threading.Lock()

    # One signed token per reader for both links: an unsubscribe token also opens the
    # reader's preferences page (see subscribers.tokens).
    token = signer.unsubscribe_tokens(edition.newsletter, edition.edition_id)
    leave, manage = f"{base_url}/u/", f"{base_url}/preferences/"
    claim = claims.Claimer(
        engine.dialect.name, edition.edition_id, worker, size, still=deliverable(edition.newsletter)
    )

    def recipient(c: claims.Claimed) -> Recipient:
        signed = token(c.subscriber_id)
        return Recipient(
            c.delivery_id, c.subscriber_id, c.email, c.name, leave + signed, manage + signed
        )

    def stopping() -> bool:
        """A signal, or another thread's end: claim nothing more."""
        if stop.is_set():
            summary.stopped = summary.stopped or "signal"
            summary.exit_code = stop.exit_code
            return True
        return halt.is_set()

    def count(done: Counter[str]) -> None:
        with counts_lock:
            summary.counts.update(done)
        settled_now = sum(done[k] for k in ("sent", "rejected", "skipped", "uncertain"))
        if hooks.progress and settled_now:
            hooks.progress(settled_now)

    def when_none(conn: Connection, after: int) -> int | None:
        """Nothing claimed after `after`: where to look next, or None when all is done."""
        if settled is not None and not settled(worker):  # it may plan the rest itself
            stop.wait(0.05)  # more readers are being planned: they come after `after`
            return after
        if after:
            return 0  # look again from the start, for rows that went back to pending
        with conn.begin():
            # Counted after `settled`: the last step of planning is in these counts.
            found = deliveries.counts(conn, edition.edition_id)
            due = deliveries.next_due(conn, edition.edition_id) if found.get("retrying") else None
        if found.get("pending"):
            # Rows another worker is claiming this instant are skipped, not gone: wait for
            # them to be settled one way or the other before calling it done.
            stop.wait(0.02)
            return 0
        if due is None:
            return None
        wait = (due - now()).total_seconds()
        if wait > 0:
            hooks.say(
                f"{found['retrying']} deliveries wait after a temporary failure; the next try "
                f"is at {due:%Y-%m-%d %H:%M:%S} UTC, in {wait:.0f} s"
            )
            stop.wait(wait)
        return 0

    def one_batch(conn: Connection, after: int) -> int | None:
        """Claim the batch after id `after`, send and record it; returns where to go on.

        None when there is nothing left to do (or the send is stopping).
        """
        if stopping():
            return None
        bucket.take(size)  # before the claim: nobody waits here holding readers
        if stopping():
            bucket.put_back(size)
            return None
        reasons: dict[int, str] = {}
        with conn.begin():
            control = sendctl.state(conn, edition.edition_id)
            if control != "running":
                summary.stopped = control
                return None
            # The claim is the last look: it reads, in the same statement, who is still an
            # active, unsuppressed member; nothing waits between it and the provider call.
            claimed = claim(conn, now(), after)
            gone = [c.delivery_id for c in claimed if not c.deliverable]
            reasons.update(
                dict.fromkeys(gone, "left the list (unsubscribed, suppressed or erased)")
            )
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
                errors: dict[int, str | None] = {d: reasons[d] for d in gone}
                deliveries.mark(conn, gone, "skipped", now(), errors=errors)
        if len(copies) < size:  # tokens are spent only on messages that go
            bucket.put_back(size - len(copies))
        if not claimed:
            return when_none(conn, after)
        batch = [recipient(c) for c in claimed if c.delivery_id in copies]
        attempts = {c.delivery_id: c.attempts for c in claimed}
        done: Counter[str] = Counter(skipped=len(gone))
        if stopping():  # asked to stop while claiming: these were never handed over
            with conn.begin():
                deliveries.release(conn, [r.delivery_id for r in batch], worker, now())
            count(done)
            return None
        by_copy: dict[int, list[Recipient]] = {}
        for r in batch:
            by_copy.setdefault(id(copies[r.delivery_id]), []).append(r)
        results: list[SendResult] = []

        def record_part() -> None:
            """The answers given so far are recorded; the rest were never handed over."""
            answered = {res.delivery_id for res in results}
            took = [r for r in batch if r.delivery_id in answered]
            _record(conn, results, took, worker, now(), opts.retry, attempts, done)
            with conn.begin():
                rest = [r.delivery_id for r in batch if r.delivery_id not in answered]
                deliveries.release(conn, rest, worker, now())

        try:
            for group in by_copy.values():
                results += mailer.send(copies[group[0].delivery_id], group)
        except ProviderUnavailable as exc:
            results += exc.results
            record_part()
            done["retried"] += 1
            count(done)
            wait = outage.failed(now(), exc.retry_after)
            if wait is None:
                summary.stopped, summary.outage = "outage", exc.reason
                halt.set()
                return None
            since = outage.since or now()
            hooks.say(
                f"{exc.reason}: this batch was not sent; trying again in {wait:.0f} s "
                f"(failing since {since:%Y-%m-%d %H:%M:%S} UTC; given up after "
                f"{opts.retry.window} of failures)"
            )
            stop.wait(wait)
            return after  # the same rows, pending again
        except SendError:
            # The provider refused the send (credentials, sender): this group went nowhere;
            # groups it already took are recorded, the rest go back to pending.
            record_part()
            raise
        outage.ended()
        _record(conn, results, batch, worker, now(), opts.retry, attempts, done)
        count(done)
        if single:
            leases.acquire(engine, lock_name, worker, now(), opts.lease)  # renew
        return claimed[-1].delivery_id

    def loop() -> None:
        try:
            # One connection per thread for the whole send: a checkout per transaction
            # would also ping the server each time.
            with engine.connect() as conn:
                after: int | None = 0
                while after is not None:
                    after = one_batch(conn, after)
        except BaseException:
            halt.set()
            raise

    try:
        threads = opts.concurrency if mailer.thread_safe else 1
        if threads == 1:
            loop()
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="send") as pool:
                futures = [pool.submit(loop) for _ in range(threads)]
                for fut in futures:
                    fut.result()
    finally:
        workers.mark_done(worker)
        mailer.close()
        if single:
            leases.release(engine, lock_name, worker)
    summary.elapsed = time.perf_counter() - started
    return summary


def _record(
    conn: Connection,
    results: list[SendResult],
    batch: list[Recipient],
    worker: str,
    stamp: datetime,
    policy: RetryPolicy,
    attempts: dict[int, int],
    done: Counter[str],
) -> None:
    """Write the provider's answers and count them in `done`.

    A recipient it did not answer for, or whose answer was lost, is uncertain; one it asked
    to try later waits in the ledger (see digest.sending.retries).
    """
    by_outcome: dict[Outcome, list[int]] = {o: [] for o in Outcome}
    for res in results:
        by_outcome[res.outcome].append(res.delivery_id)
    errors = {r.delivery_id: r.error for r in results}
    answered = {r.delivery_id for r in results}
    missing = [r.delivery_id for r in batch if r.delivery_id not in answered]
    if missing:
        log.error("provider gave no answer for %d deliveries; marked uncertain", len(missing))
        errors.update(dict.fromkeys(missing, "the provider gave no answer for this recipient"))
    unknown = by_outcome[Outcome.UNKNOWN] + missing
    later: dict[int, list[int]] = {}
    for d in by_outcome[Outcome.RETRY]:
        later.setdefault(attempts.get(d, 1), []).append(d)
    with conn.begin():
        deliveries.mark(
            conn,
            by_outcome[Outcome.ACCEPTED],
            "sent",
            stamp,
            provider_ids={r.delivery_id: r.provider_id for r in results},
            worker=worker,
        )
        deliveries.mark(
            conn, by_outcome[Outcome.REJECTED], "rejected", stamp, errors=errors, worker=worker
        )
        deliveries.mark(conn, unknown, "uncertain", stamp, errors=errors, worker=worker)
        for tries, ids in later.items():
            due = stamp + timedelta(seconds=policy.delay(tries))
            first = errors.get(ids[0]) or "temporary failure"
            deliveries.retry_later(conn, ids, due, stamp, policy.window, first, worker)
    done["sent"] += len(by_outcome[Outcome.ACCEPTED])
    done["rejected"] += len(by_outcome[Outcome.REJECTED])
    done["uncertain"] += len(unknown)
    done["retrying"] += len(by_outcome[Outcome.RETRY])
