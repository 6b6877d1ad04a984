"""Tables of subscriber-list management."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subscribers.sqltypes import NAMING, UTCDateTime


class SubscribersBase(DeclarativeBase):
    """Declarative base of this package; its metadata joins digest's in the migrations."""

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

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # The address lower-cased: what identity, duplicates and suppression are decided on.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    # The ASCII domain, so domain suppressions are an indexed join.
    # (No index: only suppression checks join on it, and they probe the suppressions side.)
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


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

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_name: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who made the last status change (import, form, cli, api, link, webhook, ...).
    status_source: Mapped[str] = mapped_column(String(32), default="")
    # The edition whose unsubscribe link was used, so leaving can be attributed (no FK:
    # this package does not know digest's tables).
    status_edition_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Consent(SubscribersBase):
    """Evidence of consent for one membership: when, how, from where, to what."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")


class MembershipEvent(SubscribersBase):
    """One status a membership took: what, when, through what, and from which edition."""

    __tablename__ = "membership_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), default="")
    edition_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class MembershipTopic(SubscribersBase):
    """One topic a member chose on a list; none at all means every topic."""

    __tablename__ = "membership_topics"

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(63), primary_key=True)


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

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str | None] = mapped_column(String(320), unique=True, nullable=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    domain: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
