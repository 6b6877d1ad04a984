"""Errors of subscriber-list management; each carries a message and, where useful, a hint.

SubscribersError
 ├── InvalidAddress        not a syntactically valid email address
 ├── NotFound              no such subscriber or membership
 ├── Suppressed            the address or its domain is on the suppression list
 ├── Refused               the operation would undo a person's choice (e.g. re-subscribe)
 ├── UnknownTopic          a topic that is not one of the newsletter's tags
 └── ImportFileError       the file cannot be imported at all (no email column, unreadable)
"""

from __future__ import annotations


class SubscribersError(Exception):
    """Base of this package's errors: a message, and a hint that says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(SubscribersError):
    """No such subscriber or membership."""


class Suppressed(SubscribersError):
    """The address or its domain is suppressed."""


class Refused(SubscribersError):
    """The operation would undo a person's own choice."""


class UnknownTopic(SubscribersError, ValueError):
    """A topic that the newsletter does not have."""


class ImportFileError(SubscribersError):
    """The file as a whole cannot be imported."""
