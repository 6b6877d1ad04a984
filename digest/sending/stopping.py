"""Stopping a send on request: SIGINT and SIGTERM end it cleanly, between two batches.

A send's threads share one Stop. Its `wait` is the only way the send sleeps (rate limit,
waiting out an outage, waiting for a retry), so a stop request cuts every wait short; a
request already handed to the provider is let finish (bounded by its timeout), and rows
claimed but never handed over go back to pending. A second signal ends the process at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Stop:
    """A stop request shared by a send's threads, and waits that end when it comes."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def set(self, signum: int | None = None) -> None:
        """Ask every thread to stop after its current request."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (at once) when a stop is asked for meanwhile."""
        return self._event.wait(max(seconds, 0.0))

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextmanager
def on_signals(stop: Stop) -> Iterator[Stop]:
    """While inside, SIGINT and SIGTERM set `stop`; a second one exits the process at once.

    Only the main thread may install handlers; elsewhere (a web request, a scheduler's worker
    thread) this does nothing and the caller's own shutdown applies.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)  # the operator insists: in-flight rows become uncertain
        stop.set(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
