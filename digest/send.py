"""The send loop: claim a batch from the ledger, hand it to the provider, record each answer."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from digest.message import PreparedEdition, Recipient
from digest.providers.base import Mailer, Outcome
from digest.store import deliveries
from subscribers.store import active_ids
from subscribers.tokens import LinkSigner


@dataclass
class SendSummary:
    """What a send did, for the end-of-send report."""

    counts: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Messages accepted per second."""
        return self.counts["sent"] / self.elapsed if self.elapsed else 0.0


def worker_id() -> str:
    """A name for this process in the ledger's claimed_by column."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_send(
    engine: Engine,
    mailer: Mailer,
    edition: PreparedEdition,
    signer: LinkSigner,
    base_url: str,
    now: Callable[[], datetime],
    on_batch: Callable[[int], None] | None = None,
) -> SendSummary:
    """Send every pending delivery of the edition; safe to run again after any interruption."""
    started = time.perf_counter()
    summary = SendSummary()
    worker = worker_id()
    with engine.begin() as conn:
        summary.recovered = deliveries.recover_claimed(
            conn, edition.edition_id, mailer.resend_safe, now()
        )

    def unsubscribe_url(subscriber_id: int) -> str:
        token = signer.unsubscribe_token(subscriber_id, edition.newsletter, edition.edition_id)
        return f"{base_url}/u/{token}"

    while True:
        with engine.begin() as conn:
            claimed = deliveries.claim(conn, edition.edition_id, worker, mailer.max_batch, now())
            if not claimed:
                break
            # Someone who left the list after planning is not sent to.
            still = active_ids(conn, edition.newsletter, [c[1] for c in claimed])
            gone = [c[0] for c in claimed if c[1] not in still]
            if gone:
                deliveries.mark(
                    conn, gone, "skipped", now(), errors=dict.fromkeys(gone, "no longer active")
                )
                summary.counts["skipped"] += len(gone)
        batch = [
            Recipient(
                delivery_id=d,
                subscriber_id=s,
                email=email,
                name=name,
                unsubscribe_url=unsubscribe_url(s),
            )
            for d, s, email, name in claimed
            if s in still
        ]
        results = mailer.send(edition, batch) if batch else []
        by_outcome: dict[Outcome, list[int]] = {o: [] for o in Outcome}
        for res in results:
            by_outcome[res.outcome].append(res.delivery_id)
        with engine.begin() as conn:
            stamp = now()
            deliveries.mark(
                conn,
                by_outcome[Outcome.ACCEPTED],
                "sent",
                stamp,
                provider_ids={r.delivery_id: r.provider_id for r in results},
            )
            deliveries.mark(
                conn,
                by_outcome[Outcome.REJECTED],
                "rejected",
                stamp,
                errors={r.delivery_id: r.error for r in results},
            )
            deliveries.mark(
                conn,
                by_outcome[Outcome.RETRY],
                "pending",
                stamp,
                errors={r.delivery_id: r.error for r in results},
            )
        summary.counts["sent"] += len(by_outcome[Outcome.ACCEPTED])
        summary.counts["rejected"] += len(by_outcome[Outcome.REJECTED])
        summary.counts["retried"] += len(by_outcome[Outcome.RETRY])
        if on_batch:
            on_batch(len(claimed))
    mailer.close()
    summary.elapsed = time.perf_counter() - started
    return summary
