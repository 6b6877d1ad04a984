"""Tables of the pipeline: articles, editions and the deliveries ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subscribers.models import Subscriber
from subscribers.sqltypes import NAMING, UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of the pipeline's tables."""

    metadata = MetaData(naming_convention=NAMING)


class Article(Base):
    """One article as ingested, deduplicated by guid and by content hash."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_published_at", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The source's stable identity for the article (feed guid, canonical URL, or file path).
    guid: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(200))
    # As the source declared it (feed, page or HTTP header), e.g. 'en' or 'pt-BR'; None if not.
    language: Mapped[str | None] = mapped_column(String(35))
    source: Mapped[str] = mapped_column(String(200))
    # Who published it (a page's site name or host), when that is not the source itself: a
    # folder of pages from four sites is one source and four outlets. None: the source.
    outlet: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # True when the source gave no date and we used the time we first saw the article.
    published_guessed: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ArticleTag(Base):
    """A tag on an article; kept in its own table so selection by tag is a query."""

    __tablename__ = "article_tags"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Edition(Base):
    """One issue of a newsletter: its content and where it is in its life."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("newsletter", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter: Mapped[str] = mapped_column(String(63))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300))
    # The edition's sections and stories as built (see digest.editions.build.Edition.to_json).
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The send time the scheduler built this edition for; None for editions made by hand.
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the content's candidate articles were last drawn: anything first seen (or dated)
    # after it was never in front of this edition, so it belongs to the next one.
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EditionArticle(Base):
    """Which articles an edition carries; sent editions' rows keep articles from repeating."""

    __tablename__ = "edition_articles"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Delivery(Base):
    """The ledger: one row per (edition, subscriber), so nobody is sent an edition twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id"),
        # No index holds a column a send changes (status, claim, answer), and PostgreSQL
        # leaves room on each page (fillfactor 50, set by migration 0015; not repeated here,
        # where naming a PostgreSQL option would load that dialect in every process):
        # claiming and recording then rewrite a row in place (a HOT update) instead of adding
        # an entry to every index each time.
        Index("ix_deliveries_edition", "edition_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey(Subscriber.id, ondelete="CASCADE"))
    # pending → claimed → sent | rejected | skipped | failed; see digest.store.deliveries.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # After a temporary failure: not claimed again before retry_at; given up (failed) once
    # failing_since is older than send.retry_window.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EditionEvent(Base):
    """One step in an edition's life: who moved it from what to what, when and why."""

    __tablename__ = "edition_events"
    __table_args__ = (Index("ix_edition_events_edition", "edition_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobLock(Base):
    """A lease on one scheduled job, so two scheduler processes never run it at once."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleRun(Base):
    """What a scheduled job did for one planned time; the unique key makes each run happen once."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("job", "planned_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ArticleAlias(Base):
    """Another guid or URL under which an already stored article's text came again."""

    __tablename__ = "article_aliases"

    guid: Mapped[str] = mapped_column(String(2048), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str | None] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SourceState(Base):
    """Per source: validators for conditional requests, and health (last success, errors)."""

    __tablename__ = "source_states"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # The last run's counts, e.g. {"new": 3, "updated": 0, "duplicate": 1, "unchanged": 9}.
    last_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SourceRun(Base):
    """One ingestion run of one source: when, what it did, and the error if any."""

    __tablename__ = "source_runs"
    __table_args__ = (Index("ix_source_runs_source", "source", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(63))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class SendControl(Base):
    """An operator's word on one edition's send: running, paused or cancelled."""

    __tablename__ = "send_controls"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StoryEdit(Base):
    """An editor's change to one story of an edition; kept apart so rebuilding keeps it.

    `story_key` is an article id: the change applies to whichever story holds that article.
    """

    __tablename__ = "story_edits"
    __table_args__ = (UniqueConstraint("newsletter", "number", "story_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter: Mapped[str] = mapped_column(String(63))
    number: Mapped[int] = mapped_column(Integer)
    story_key: Mapped[int] = mapped_column(Integer)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    headline: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    # Corrections to grouping: the article stands alone, or its story joins `merge_into`'s.
    split: Mapped[bool] = mapped_column(Boolean, default=False)
    merge_into: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
