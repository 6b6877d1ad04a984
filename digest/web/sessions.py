"""Sign-in sessions stored on the server: a random token in the cookie, its SHA-256 here.

A session ends when its user signs out, gets a new password or is removed, when it has not been
used for the idle lifetime, and in any case after the absolute lifetime. A copy of the cookie
is then worth nothing, which a cookie that only carried a signature could not promise.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select, update

from digest.web.models import WebSession

# seen_at is written at most this often per session, so reading pages does not mean writing.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    """A live session: who, and the random value its CSRF tokens derive from."""

    user_id: int
    nonce: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(conn: Connection, user_id: int, now: datetime) -> str:
    """A new session for `user_id`; returns the token for the cookie (never stored as is)."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(WebSession).values(
            token_hash=_hash(token), user_id=user_id, nonce=secrets.token_urlsafe(16),
            created_at=now, seen_at=now,
        )
    )  # fmt: skip
    return token


def find(
    conn: Connection, token: str, now: datetime, idle: timedelta, absolute: timedelta
) -> Session | None:
    """The live session of a cookie's token, or None (unknown, ended, idle or too old)."""
    row = conn.execute(
        select(WebSession.user_id, WebSession.nonce, WebSession.created_at, WebSession.seen_at)
        .where(WebSession.token_hash == _hash(token))
    ).first()  # fmt: skip
    if row is None:
        return None
    if now - row.created_at > absolute or now - row.seen_at > idle:
        end(conn, token)
        return None
    if now - row.seen_at >= TOUCH_EVERY:
        conn.execute(
            update(WebSession).where(WebSession.token_hash == _hash(token)).values(seen_at=now)
        )
    return Session(int(row.user_id), str(row.nonce))


def end(conn: Connection, token: str) -> None:
    """End one session (signing out)."""
    conn.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of a user (a new password, a removed account); how many there were."""
    return conn.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount or 0


def sweep(conn: Connection, now: datetime, idle: timedelta, absolute: timedelta) -> int:
    """Delete sessions that can no longer be used, so the table holds only live ones."""
    stale = or_(WebSession.created_at < now - absolute, WebSession.seen_at < now - idle)
    return conn.execute(delete(WebSession).where(stale)).rowcount or 0
