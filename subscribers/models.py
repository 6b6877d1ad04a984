"""Tables of subscriber-list management."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)

from subscribers.sqltypes import NAMING, UTCDateTime
from subscribers.tables import Tables


class SubscribersBase(Tables):
    """Base of this package's tables; its metadata joins digest's in the migrations."""

    metadata = MetaData(naming_convention=NAMING)


class Status(enum.StrEnum):
    """Where a subscriber stands on one list."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# Statuses a person (or their mail server) chose; no import or `add` may undo them.
LEFT = frozenset({Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED})


class Method(enum.StrEnum):
    """How consent was given."""

    IMPORT = "import"
    FORM = "form"
    CLI = "cli"
    API = "api"
    CONFIRM = "confirm"


class Subscriber(SubscribersBase):
    """One person, by normalised email address; `email_key` makes case variants one person."""

    __tablename__ = "subscribers"

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    email: ColumnElement[str] = Column(String(320), nullable=False)
    # The address lower-cased: what identity, duplicates and suppression are decided on.
    email_key: ColumnElement[str] = Column(String(320), unique=True, nullable=False)
    # The ASCII domain, so domain suppressions are an indexed join.
    # (No index: only suppression checks join on it, and they probe the suppressions side.)
    domain: ColumnElement[str] = Column(String(255), nullable=False)
    name: ColumnElement[str] = Column(String(200), default="", nullable=False)
    attributes: ColumnElement[dict[str, Any]] = Column(JSON, default=dict, nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class Membership(SubscribersBase):
    """A subscriber on one list (a list is a newsletter), with a status."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_name"),
        Index("ix_memberships_list_status", "list_name", "status", "subscriber_id"),
        CheckConstraint(
            "status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')",
            name="status",
        ),
    )

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    subscriber_id: ColumnElement[int] = Column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    )
    list_name: ColumnElement[str] = Column(String(63), nullable=False)
    status: ColumnElement[str] = Column(String(16), nullable=False)
    status_changed_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    # Who made the last status change (import, form, cli, api, link, webhook, ...).
    status_source: ColumnElement[str] = Column(String(32), default="", nullable=False)
    # The edition whose unsubscribe link was used, so leaving can be attributed (no FK:
    # this package does not know digest's tables).
    status_edition_id: ColumnElement[int | None] = Column(Integer, nullable=True)


class Consent(SubscribersBase):
    """Evidence of consent for one membership: when, how, from where, to what."""

    __tablename__ = "consents"

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    membership_id: ColumnElement[int] = Column(
        Integer, ForeignKey("memberships.id", ondelete="CASCADE"), index=True, nullable=False
    )
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    method: ColumnElement[str] = Column(String(16), nullable=False)
    ip: ColumnElement[str | None] = Column(String(45), nullable=True)
    text: ColumnElement[str] = Column(Text, default="", nullable=False)


class MembershipEvent(SubscribersBase):
    """One status a membership took: what, when, through what, and from which edition."""

    __tablename__ = "membership_events"

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    membership_id: ColumnElement[int] = Column(
        Integer, ForeignKey("memberships.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: ColumnElement[str] = Column(String(16), nullable=False)
    source: ColumnElement[str] = Column(String(32), default="", nullable=False)
    edition_id: ColumnElement[int | None] = Column(Integer, nullable=True)
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class MembershipTopic(SubscribersBase):
    """One topic a member chose on a list; none at all means every topic."""

    __tablename__ = "membership_topics"

    membership_id: ColumnElement[int] = Column(
        Integer, ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    topic: ColumnElement[str] = Column(String(63), primary_key=True)


class Suppression(SubscribersBase):
    """An address or a whole domain that is never mailed, whatever its statuses say.

    An address entry keeps a keyed hash (so an erased address stays blocked without being
    stored) and, until erasure, the plain lower-cased address.
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(
            "address_hash IS NOT NULL OR email_key IS NOT NULL OR domain IS NOT NULL",
            name="target",
        ),
    )

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    email_key: ColumnElement[str | None] = Column(String(320), unique=True, nullable=True)
    address_hash: ColumnElement[str | None] = Column(String(64), unique=True, nullable=True)
    domain: ColumnElement[str | None] = Column(String(255), unique=True, nullable=True)
    reason: ColumnElement[str] = Column(String(200), default="", nullable=False)
    source: ColumnElement[str] = Column(String(32), default="", nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
