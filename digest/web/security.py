"""Sessions in signed cookies, CSRF tokens bound to the session, and in-memory rate limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "digest_session"


@dataclass(frozen=True)
class Session:
    """What the session cookie carries: who, and a random value the CSRF token derives from."""

    user_id: int
    nonce: str


class Sessions:
    """Issues and reads session cookies and the CSRF tokens that belong to them."""

    def __init__(self, keys: Sequence[str], max_age: float) -> None:
        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)),
            salt="digest.session",
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        self._csrf_key = hashlib.sha256(("digest.csrf:" + keys[0]).encode()).digest()
        self.max_age = max_age

    def issue(self, user_id: int) -> str:
        """A new cookie value (a fresh nonce each sign-in, so old CSRF tokens die with it)."""
        return str(self._serializer.dumps([user_id, secrets.token_urlsafe(16)]))

    def read(self, cookie: str | None) -> Session | None:
        """The session from a cookie, or None when it is missing, forged or too old."""
        if not cookie:
            return None
        try:
            user_id, nonce = self._serializer.loads(cookie, max_age=int(self.max_age))
            return Session(int(user_id), str(nonce))
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token that every form of this session must send back."""
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, nonce: str, token: str | None) -> bool:
        """True when `token` is this session's CSRF token (constant-time)."""
        return bool(token) and hmac.compare_digest(self.csrf_token(nonce), str(token))


class RateLimiter:
    """At most `limit` hits per key within `window` seconds (one process; sliding window)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str) -> bool:
        """True when `key` has used up its hits."""
        with self._lock:
            return len(self._trim(key, time.monotonic())) >= self.limit

    def hit(self, key: str) -> bool:
        """Count one hit; False when the key was already over its limit (the hit is not counted)."""
        with self._lock:
            now = time.monotonic()
            hits = self._trim(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def reset(self, key: str) -> None:
        """Forget a key (e.g. after a successful sign-in)."""
        with self._lock:
            self._hits.pop(key, None)


def safe_next(target: str | None, default: str = "/desk") -> str:
    """A redirect target only if it stays on this site (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
