"""Sessions kept on the server, CSRF tokens bound to the session, and in-memory rate limits."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from digest.web import sessions
from digest.web.sessions import Session

SESSION_COOKIE = "digest_session"


class Sessions:
    """Sign-ins (kept on the server, see `digest.web.sessions`) and their CSRF tokens."""

    def __init__(
        self,
        keys: Sequence[str],
        engine: Engine,
        clock: Callable[[], datetime],
        max_age: timedelta,
        idle: timedelta,
    ) -> None:
        self._csrf_key = hashlib.sha256(("digest.csrf:" + keys[0]).encode()).digest()
        self._engine = engine
        self._clock = clock
        self.absolute = max_age
        self.idle = idle

    @property
    def max_age(self) -> float:
        """Seconds the cookie is kept by the browser: the absolute lifetime."""
        return self.absolute.total_seconds()

    def issue(self, user_id: int) -> str:
        """A new session's cookie value (a fresh nonce each sign-in, so old CSRF tokens die)."""
        now = self._clock()
        with self._engine.begin() as conn:
            sessions.sweep(conn, now, self.idle, self.absolute)
            return sessions.start(conn, user_id, now)

    def read(self, cookie: str | None) -> Session | None:
        """The live session of a cookie, or None when it is missing, unknown or ended."""
        if not cookie or len(cookie) > 200:
            return None
        with self._engine.begin() as conn:
            return sessions.find(conn, cookie, self._clock(), self.idle, self.absolute)

    def end(self, cookie: str | None) -> None:
        """Sign out: the cookie's session is gone, wherever copies of the cookie are."""
        if cookie:
            with self._engine.begin() as conn:
                sessions.end(conn, cookie)

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
