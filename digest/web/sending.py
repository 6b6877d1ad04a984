"""Sends started from the desk: in a background thread of the web process, one per newsletter.

The ledger is what makes this safe: a send claims readers in batches, so a second start (a
double click, the scheduler at the same moment) only helps finish the same edition, and a send
cut off with the process resumes with the next `digest send` or scheduler run.
"""

from __future__ import annotations

import logging
import threading

from digest.core.app import App
from digest.core.errors import DigestError

log = logging.getLogger(__name__)
_running: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def start_send(app: App, newsletter: str, actor: str) -> bool:
    """Start sending the newsletter's approved edition unless this process already is; True
    when a new send started."""
    from digest.pipeline import send

    def run() -> None:
        try:
            report = send(app, newsletter, actor=actor)
            log.info("send of %s from the desk ended: %s", newsletter, dict(report.counts))
        except DigestError as exc:
            log.warning("send of %s from the desk stopped: %s", newsletter, exc)
        finally:
            with _lock:
                _running.pop(newsletter, None)

    with _lock:
        if newsletter in _running:
            return False
        thread = threading.Thread(target=run, name=f"send-{newsletter}", daemon=True)
        _running[newsletter] = thread
        thread.start()
    return True


def wait(newsletter: str, timeout: float) -> None:
    """Wait for this process's send of the newsletter to end (tests, shutdown)."""
    with _lock:
        thread = _running.get(newsletter)
    if thread is not None:
        thread.join(timeout)
