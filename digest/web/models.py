"""Tables of the web app: accounts, the audit log, and the provider events we have stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ColumnElement, Index, Integer, String, Text

from digest.core.models import Base
from subscribers.sqltypes import UTCDateTime


class WebUser(Base):
    """Someone who may sign in to the desk: an editor or an operator."""

    __tablename__ = "web_users"

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    username: ColumnElement[str] = Column(String(100), unique=True, nullable=False)
    # argon2id hash in PHC string form; the parameters travel with the hash.
    password_hash: ColumnElement[str] = Column(String(255), nullable=False)
    role: ColumnElement[str] = Column(String(16), nullable=False)
    email: ColumnElement[str] = Column(String(320), default="", nullable=False)
    disabled: ColumnElement[bool] = Column(Boolean, default=False, nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class WebSession(Base):
    """A sign-in, kept on the server so that signing out, a new password or removing the
    account ends it at once; the cookie carries only a random token, stored here hashed."""

    __tablename__ = "web_sessions"

    token_hash: ColumnElement[str] = Column(String(64), primary_key=True)
    user_id: ColumnElement[int] = Column(Integer, index=True, nullable=False)
    # The CSRF tokens of this session's forms derive from it.
    nonce: ColumnElement[str] = Column(String(64), nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    seen_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class AuditEntry(Base):
    """One change made through the web app: who, what, to which thing, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    actor: ColumnElement[str] = Column(String(200), nullable=False)
    action: ColumnElement[str] = Column(String(100), nullable=False)
    target: ColumnElement[str] = Column(String(300), default="", nullable=False)
    detail: ColumnElement[str] = Column(Text, default="", nullable=False)
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class ProviderEvent(Base):
    """One event the provider reported (SendGrid's Event Webhook), stored once by its id."""

    __tablename__ = "provider_events"
    __table_args__ = (Index("ix_provider_events_edition", "edition_id", "event"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    # SendGrid's sg_event_id: unique, so a replayed or retried batch stores nothing twice.
    event_id: ColumnElement[str] = Column(String(200), unique=True, nullable=False)
    event: ColumnElement[str] = Column(String(32), nullable=False)
    email: ColumnElement[str] = Column(String(320), default="", nullable=False)
    delivery_id: ColumnElement[int | None] = Column(Integer)
    edition_id: ColumnElement[int | None] = Column(Integer)
    subscriber_id: ColumnElement[int | None] = Column(Integer, index=True)
    reason: ColumnElement[str] = Column(Text, default="", nullable=False)
    occurred_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    received_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
