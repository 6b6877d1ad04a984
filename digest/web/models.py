"""Tables of the web app: accounts, the audit log, and the provider events we have stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from digest.core.models import Base
from subscribers.sqltypes import UTCDateTime


class WebUser(Base):
    """Someone who may sign in to the desk: an editor or an operator."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    # argon2id hash in PHC string form; the parameters travel with the hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A sign-in, kept on the server so that signing out, a new password or removing the
    account ends it at once; the cookie carries only a random token, stored here hashed."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    # The CSRF tokens of this session's forms derive from it.
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One change made through the web app: who, what, to which thing, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProviderEvent(Base):
    """One event the provider reported (SendGrid's Event Webhook), stored once by its id."""

    __tablename__ = "provider_events"
    __table_args__ = (Index("ix_provider_events_edition", "edition_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # SendGrid's sg_event_id: unique, so a replayed or retried batch stores nothing twice.
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320), default="")
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    edition_id: Mapped[int | None] = mapped_column(Integer)
    subscriber_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
