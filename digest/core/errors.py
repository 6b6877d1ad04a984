"""One error hierarchy for the whole pipeline.

    DigestError                 anything the user can act on; the CLI prints it as one line
    ├── ConfigError             a setting is unknown, malformed or missing
    ├── StorageError            the database cannot be opened or migrated
    ├── IngestError             a source or file could not be read or parsed
    ├── TemplateError           a template is missing or failed to render
    ├── NothingToSend           an edition would be empty
    └── SendError               the provider refused the whole send

Every error carries a `hint` that says what to do, so the message is useful on its own.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base of every error a user can act on."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(DigestError):
    """A setting is unknown, has the wrong type or value, or is missing."""


class StorageError(DigestError):
    """The database cannot be reached, opened or migrated."""


class IngestError(DigestError):
    """A source, or one file of it, could not be read or parsed."""


class TemplateError(DigestError):
    """A template is missing or failed while rendering."""


class NothingToSend(DigestError):
    """The newsletter has no new articles for an edition."""


class SendError(DigestError):
    """The provider refused the send as a whole (bad credentials, bad sender)."""
