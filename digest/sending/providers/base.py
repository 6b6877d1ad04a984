"""The provider interface: a batch of recipients in, one result per recipient out."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar, NamedTuple, TypeVar

from digest.core.errors import ConfigError
from digest.email.message import PreparedEdition, Recipient
from digest.settings import Settings


class Outcome(enum.StrEnum):
    """What the provider said about one recipient."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"  # permanent: do not retry
    RETRY = "retry"  # temporary: try again later
    # The request may have reached the provider but its answer was lost: never resent
    # unless the operator decides so (`--resend-uncertain`).
    UNKNOWN = "unknown"


class SendResult(NamedTuple):
    """The provider's answer for one delivery.

    A named tuple: a send makes one per reader, and a frozen dataclass costs several times more.
    """

    delivery_id: int
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None


class ProviderUnavailable(Exception):
    """The provider could not be reached or asked us to wait: the request never landed.

    `results` holds the answers already given for part of the batch (SMTP sends one message
    at a time); every other recipient of the batch was certainly not sent, so the send loop
    puts them back and waits (`retry_after` seconds when the provider said how long).
    """

    def __init__(
        self, reason: str, results: Sequence[SendResult] = (), retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.results = list(results)
        self.retry_after = retry_after


class Mailer(ABC):
    """A way to send mail. Subclasses declare their capabilities as class attributes."""

    name: ClassVar[str]
    max_batch: ClassVar[int] = 100
    # True when sending the same delivery twice is harmless (so a crashed batch can be redone).
    resend_safe: ClassVar[bool] = False
    # True when one instance may send several batches at once from different threads.
    thread_safe: ClassVar[bool] = False
    # True when the provider fills per-recipient slots itself (one request, many recipients).
    substitutions: ClassVar[bool] = False

    def __init__(self, settings: Settings, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.now = now

    @abstractmethod
    def send(self, edition: PreparedEdition, batch: Sequence[Recipient]) -> list[SendResult]:
        """Send one batch; exactly one result per recipient, in any order."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections; called once at the end of a send."""


_REGISTRY: dict[str, type[Mailer]] = {}
M = TypeVar("M", bound=type[Mailer])


def register(cls: M) -> M:
    """Class decorator that makes a provider available by its `name`."""
    _REGISTRY[cls.name] = cls
    return cls


def create_mailer(name: str, settings: Settings, now: Callable[[], datetime]) -> Mailer:
    """The provider registered as `name`, built from the settings."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown provider {name!r}", hint=f"known providers: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return cls(settings, now)
