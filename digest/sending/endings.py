"""How a send that did not finish ends: one error per reason, each saying what to do next.

The CLI turns them into one line and an exit code; SendStopped carries the signal's code.
"""

from __future__ import annotations

from digest.core.errors import DigestError


class SendPaused(DigestError):
    """The operator paused the send; it continues after `digest send resume`."""


class SendCancelled(DigestError):
    """The operator cancelled the send; pending deliveries will never be sent."""


class SendStopped(DigestError):
    """SIGINT or SIGTERM stopped the send between batches; running it again resumes it."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 130) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


class SendFailed(DigestError):
    """Readers could not be sent within send.retry_window: the edition is marked failed."""


class SendUncertain(DigestError):
    """The provider may or may not have some deliveries: the operator decides about them."""


class SendUnfinished(DigestError):
    """Deliveries are left for another run (or another worker) to finish."""
