"""Signed tokens for the links in emails: unguessable, unforgeable, key rotation built in.

Each kind of link has its own salt, so a token for one purpose never works for another, with
one exception: an unsubscribe token also opens that reader's preferences page for its list.
Both let the holder leave the list, and a send then signs one token per reader, not two.
Unsubscribe and preferences tokens never expire; confirm tokens do.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer


class InvalidToken(ValueError):
    """The token is malformed, tampered with, expired, or signed with an unknown key."""


_SIGNER = {"digest_method": hashlib.sha256}


class LinkSigner:
    """Issues and checks link tokens; the first key signs, every key verifies (rotation)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or not all(keys):
            raise ValueError("LinkSigner needs at least one non-empty key")
        # itsdangerous signs with the last key of the list and verifies with all.
        ordered = list(reversed(keys))
        self._unsubscribe = URLSafeSerializer(
            ordered, salt="digest.unsubscribe", signer_kwargs=_SIGNER
        )
        self._preferences = URLSafeSerializer(
            ordered, salt="digest.preferences", signer_kwargs=_SIGNER
        )
        self._confirm = URLSafeTimedSerializer(
            ordered, salt="digest.confirm", signer_kwargs=_SIGNER
        )
        # A send signs a token per reader: the derived key and the HMAC state are made once
        # here, not per token (itsdangerous derives the key again on every dumps).
        self._unsubscribe_mac = _mac(self._unsubscribe)

    def __repr__(self) -> str:
        return "LinkSigner(<keys hidden>)"

    def unsubscribe_token(self, subscriber_id: int, list_name: str, edition_id: int) -> str:
        """A token for one subscriber leaving one list, tied to the edition it came from."""
        return str(self._unsubscribe.dumps([subscriber_id, list_name, edition_id]))

    def unsubscribe_tokens(self, list_name: str, edition_id: int) -> Callable[[int], str]:
        """unsubscribe_token for one list and edition, as a fast function of the subscriber id."""
        tail = "," + json.dumps(list_name, ensure_ascii=False) + "," + str(int(edition_id)) + "]"
        return _fast_tokens(self._unsubscribe_mac, tail)

    def read_unsubscribe(self, token: str) -> tuple[int, str, int]:
        """(subscriber id, list, edition id) from a token; InvalidToken says nothing more."""
        try:
            sub, list_name, edition = self._unsubscribe.loads(token)
            return int(sub), str(list_name), int(edition)
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("invalid or expired link") from None

    def preferences_token(self, subscriber_id: int, list_name: str) -> str:
        """A token for a member's preferences page (topics, leaving)."""
        return str(self._preferences.dumps([subscriber_id, list_name]))

    def read_preferences(self, token: str) -> tuple[int, str]:
        """(subscriber id, list) from a preferences or unsubscribe token; InvalidToken else."""
        try:
            sub, list_name = self._preferences.loads(token)
            return int(sub), str(list_name)
        except (BadSignature, ValueError, TypeError):
            pass
        sub, list_name, _ = self.read_unsubscribe(token)
        return sub, list_name

    def confirm_token(self, subscriber_id: int, list_name: str) -> str:
        """A token for the double opt-in link; it carries its issue time and expires."""
        return str(self._confirm.dumps([subscriber_id, list_name]))

    def read_confirm(self, token: str, max_age: timedelta) -> tuple[int, str]:
        """(subscriber id, list) from a confirm token no older than max_age; InvalidToken else."""
        try:
            sub, list_name = self._confirm.loads(token, max_age=int(max_age.total_seconds()))
            return int(sub), str(list_name)
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("invalid or expired link") from None


def _mac(serializer: URLSafeSerializer) -> tuple[Any, Any]:
    """HMAC-SHA256 with the key itsdangerous signs `serializer`'s tokens with (its newest).

    Kept as the two keyed SHA-256 states of RFC 2104 (inner, outer): copying two hashlib
    states costs half of what copying an hmac.HMAC does, once per reader of a send.
    """
    # The derived key is itself a SHA-256 digest, shorter than a block: padded, not hashed.
    key = serializer.make_signer().derive_key().ljust(hashlib.sha256().block_size, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def _fast_tokens(mac: tuple[Any, Any], tail: str) -> Callable[[int], str]:
    """Tokens of the payload `[subscriber_id` + `tail`, exactly as itsdangerous makes them.

    Same compact JSON, same HMAC-SHA256 signature, never compressed (too short to gain, and
    the readers accept either form), so the `read_*` methods read them like any other.
    """
    encode = base64.urlsafe_b64encode
    inner, outer = mac

    def token(subscriber_id: int) -> str:
        payload = encode(f"[{int(subscriber_id)}{tail}".encode()).rstrip(b"=")
        step = inner.copy()
        step.update(payload)
        last = outer.copy()
        last.update(step.digest())
        return (payload + b"." + encode(last.digest()).rstrip(b"=")).decode("ascii")

    return token
