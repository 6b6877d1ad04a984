"""Signed tokens for the links in emails: unguessable, unforgeable, key rotation built in."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadSignature, URLSafeSerializer


class InvalidToken(ValueError):
    """The token is malformed, tampered with, or signed with an unknown key."""


class LinkSigner:
    """Issues and checks link tokens; the first key signs, every key verifies (rotation)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or not all(keys):
            raise ValueError("LinkSigner needs at least one non-empty key")
        # itsdangerous signs with the last key of the list and verifies with all.
        self._unsubscribe = URLSafeSerializer(
            list(reversed(keys)),
            salt="digest.unsubscribe",
            signer_kwargs={"digest_method": hashlib.sha256},
        )

    def unsubscribe_token(self, subscriber_id: int, list_name: str, edition_id: int) -> str:
        """A token for one subscriber leaving one list, tied to the edition it came from."""
        return str(self._unsubscribe.dumps([subscriber_id, list_name, edition_id]))

    def read_unsubscribe(self, token: str) -> tuple[int, str, int]:
        """(subscriber id, list, edition id) from a token; InvalidToken says nothing more."""
        try:
            sub, list_name, edition = self._unsubscribe.loads(token)
            return int(sub), str(list_name), int(edition)
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("invalid or expired link") from None
