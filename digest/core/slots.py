"""Per-recipient slots: rendered once with markers, filled per recipient by string joins.

Rendering and CSS inlining cost milliseconds; filling a SlotTemplate costs microseconds, so
an edition is rendered once per variant and never per recipient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup

# Letters, digits and underscores only: survives HTML serialisation and CSS inlining untouched.
_MARKER = "__DIGEST_SLOT_{}__"
_FIND = re.compile(r"__DIGEST_SLOT_([a-z_]+?)__")

# The values every recipient gets; templates may use any of them.
SLOT_NAMES = ("first_name", "email", "unsubscribe_url", "preferences_url")


def marker(name: str) -> Markup:
    """The marker a template writes where a per-recipient value goes (`{{ slot('email') }}`)."""
    if name not in SLOT_NAMES:
        raise KeyError(f"unknown slot {name!r}; slots are {', '.join(SLOT_NAMES)}")
    return Markup(_MARKER.format(name))


@dataclass(frozen=True)
class SlotTemplate:
    """A rendered text split at its slots: literal, slot name, literal, slot name, …, literal."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, rendered: str) -> SlotTemplate:
        """Split a rendered document at its markers."""
        return cls(tuple(_FIND.split(rendered)))

    @property
    def slots(self) -> frozenset[str]:
        """The slot names this template uses."""
        return frozenset(self.parts[1::2])

    def fill(self, values: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        """The document with every slot replaced by its (escaped) value."""
        parts = list(self.parts)
        for i in range(1, len(parts), 2):
            value = values[parts[i]]
            parts[i] = escape(value) if escape else value
        return "".join(parts)

    def with_markers(self, make: Callable[[str], str]) -> str:
        """The document with each slot written as `make(name)`, for providers that substitute."""
        parts = list(self.parts)
        for i in range(1, len(parts), 2):
            parts[i] = make(parts[i])
        return "".join(parts)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts[::2])
