"""How long to wait after a temporary failure, and when an outage has lasted too long.

Two kinds of temporary failure are told apart. One reader's (an SMTP 4xx for that address)
waits in the ledger: the row gets a retry_at and others go on. The provider's (unreachable,
429, 5xx: the request never landed) is everyone's: the batch goes back untouched, no reader's
count grows, and the worker waits before it tries again, for at most send.retry_window.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Delays that double from `first` up to `longest`, with jitter; given up after `window`."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(minutes=30)
    window: timedelta = timedelta(hours=24)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1 for the first).

        Jitter takes between half and all of the delay, so workers that failed together do
        not all come back in the same second.
        """
        steps = min(max(failures, 1) - 1, 30)
        full = min(self.longest.total_seconds(), self.first.total_seconds() * 2**steps)
        return float(full * (rng or random).uniform(0.5, 1.0))


@dataclass
class Outage:
    """The provider's failures in a row, shared by one worker's threads."""

    policy: RetryPolicy
    since: datetime | None = None
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def failed(self, now: datetime, retry_after: float | None) -> float | None:
        """Note a failure; the seconds to wait before the next try, or None to give up.

        A provider that says how long (429 with X-RateLimit-Reset) is waited for that long,
        and not counted as a failure in a row.
        """
        with self._lock:
            if self.since is None:
                self.since = now
            if now - self.since > self.policy.window:
                return None
            if retry_after is not None:
                return min(retry_after, self.policy.longest.total_seconds())
            self.failures += 1
            return self.policy.delay(self.failures)

    def ended(self) -> None:
        """A request went through: the next failure starts a new outage."""
        with self._lock:
            self.since, self.failures = None, 0
