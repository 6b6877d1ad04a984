"""A token bucket: at most `rate` messages per second, with bursts up to one batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Blocks `take(n)` until n tokens are there; a rate of 0 means no limit."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(burst, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.last = clock()
        self.lock = threading.Lock()

    def take(self, n: int) -> float:
        """Wait until `n` messages may go; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        waited = 0.0
        with self.lock:
            while True:
                now = self.clock()
                self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
                self.last = now
                # A batch bigger than the bucket goes once the bucket is full.
                need = min(float(n), self.capacity)
                if self.tokens >= need:
                    self.tokens -= n
                    return waited
                pause = (need - self.tokens) / self.rate
                self.sleep(pause)
                waited += pause

    def put_back(self, n: int) -> None:
        """Return tokens taken for messages that were not sent (a smaller or empty batch)."""
        if self.rate <= 0 or n <= 0:
            return
        with self.lock:
            self.tokens = min(self.capacity, self.tokens + n)
