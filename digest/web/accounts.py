"""Accounts of the desk: users with a role, argon2id password hashes, and the audit log."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.core.errors import DigestError
from digest.web import sessions
from digest.web.models import AuditEntry, WebUser

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
_HASHER = PasswordHasher()  # argon2id with the library's (OWASP-minded) defaults
# Compared against when the user name is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password")
MIN_PASSWORD = 10


class Role(enum.StrEnum):
    """What a user may do: editors run the desk, operators look after the lists."""

    EDITOR = "editor"
    OPERATOR = "operator"


@dataclass(frozen=True)
class User:
    """A signed-in (or signing-in) user."""

    id: int
    username: str
    role: Role
    email: str


_COLS = (WebUser.id, WebUser.username, WebUser.role, WebUser.email, WebUser.disabled)


class AccountError(DigestError):
    """A user cannot be added or changed as asked."""


def add_user(
    conn: Connection, username: str, password: str, role: str, now: datetime, email: str = ""
) -> int:
    """Create a user; the password is stored only as an argon2id hash."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise AccountError(
            f"user name {username!r} is not allowed",
            hint="use lower-case letters, digits and . _ @ - (at most 100)",
        )
    if role not in Role.__members__.values():
        raise AccountError(f"unknown role {role!r}", hint="roles: editor, operator")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    try:
        result = conn.execute(
            insert(WebUser).values(
                username=name,
                password_hash=_HASHER.hash(password),
                role=role,
                email=email,
                disabled=False,
                created_at=now,
            )
        )
    except IntegrityError:
        raise AccountError(
            f"user {name!r} already exists", hint="`digest users passwd` sets a new password"
        ) from None
    record(conn, "cli", "user.add", name, f"role={role}", now)
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def set_password(conn: Connection, username: str, password: str, now: datetime) -> None:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    user_id = _user_id(conn, username)
    conn.execute(
        update(WebUser).where(WebUser.id == user_id).values(password_hash=_HASHER.hash(password))
    )
    ended = sessions.end_all(conn, user_id)  # whoever knew the old password is signed out
    record(conn, "cli", "user.passwd", username, f"sessions ended: {ended}", now)


def remove_user(conn: Connection, username: str, now: datetime) -> int:
    """Delete an account and end its sessions at once; returns how many sessions were ended.
    The audit log keeps the name in what the account did."""
    user_id = _user_id(conn, username)
    ended = sessions.end_all(conn, user_id)
    conn.execute(delete(WebUser).where(WebUser.id == user_id))
    record(conn, "cli", "user.remove", username, f"sessions ended: {ended}", now)
    return ended


def _user_id(conn: Connection, username: str) -> int:
    found = conn.execute(
        select(WebUser.id).where(WebUser.username == username.strip().lower())
    ).scalar()
    if found is None:
        raise AccountError(f"no user {username!r}", hint="`digest users list` shows the users")
    return int(found)


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The user when name and password match and the account is enabled; else None."""
    row = conn.execute(
        select(*_COLS, WebUser.password_hash).where(WebUser.username == username.strip().lower())
    ).first()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        conn.execute(
            update(WebUser).where(WebUser.id == row.id).values(password_hash=_HASHER.hash(password))
        )
    return User(row.id, row.username, Role(row.role), row.email)


def get_user(conn: Connection, user_id: int) -> User | None:
    """An enabled user by id (sessions carry the id)."""
    row = conn.execute(select(*_COLS).where(WebUser.id == user_id)).first()
    if row is None or row.disabled:
        return None
    return User(row.id, row.username, Role(row.role), row.email)


def list_users(conn: Connection) -> list[User]:
    """Every user, by name."""
    rows = conn.execute(select(*_COLS).order_by(WebUser.username)).all()
    return [User(r.id, r.username, Role(r.role), r.email) for r in rows]


def record(
    conn: Connection, actor: str, action: str, target: str, detail: str, now: datetime
) -> None:
    """Write one audit-log row (in the caller's transaction, so it commits with the change)."""
    conn.execute(
        insert(AuditEntry).values(
            actor=actor[:200], action=action[:100], target=target[:300], detail=detail, at=now
        )
    )


def audit_log(conn: Connection, limit: int = 200) -> list[Row[tuple[Any, ...]]]:
    """The newest audit rows (at, actor, action, target, detail)."""
    query = select(
        AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.detail
    )
    rows = conn.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
    return list(rows)  # type: ignore[arg-type]
