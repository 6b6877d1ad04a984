"""Tables of the pipeline: articles, editions and the deliveries ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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

from subscribers.models import Subscriber
from subscribers.sqltypes import NAMING, UTCDateTime
from subscribers.tables import Tables


class Base(Tables):
    """Base of the pipeline's tables (and the web app's)."""

    metadata = MetaData(naming_convention=NAMING)


class Article(Base):
    """One article as ingested, deduplicated by guid and by content hash."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_published_at", "published_at"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    # The source's stable identity for the article (feed guid, canonical URL, or file path).
    guid: ColumnElement[str] = Column(String(2048), unique=True, nullable=False)
    url: ColumnElement[str | None] = Column(String(2048), index=True)
    content_hash: ColumnElement[str] = Column(String(64), index=True, nullable=False)
    title: ColumnElement[str] = Column(String(500), nullable=False)
    author: ColumnElement[str | None] = Column(String(200))
    # As the source declared it (feed, page or HTTP header), e.g. 'en' or 'pt-BR'; None if not.
    language: ColumnElement[str | None] = Column(String(35))
    source: ColumnElement[str] = Column(String(200), nullable=False)
    # Who published it (a page's site name or host), when that is not the source itself: a
    # folder of pages from four sites is one source and four outlets. None: the source.
    outlet: ColumnElement[str | None] = Column(String(200))
    published_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    # True when the source gave no date and we used the time we first saw the article.
    published_guessed: ColumnElement[bool] = Column(Boolean, default=False, nullable=False)
    text: ColumnElement[str] = Column(Text, nullable=False)
    word_count: ColumnElement[int] = Column(Integer, nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class ArticleTag(Base):
    """A tag on an article; kept in its own table so selection by tag is a query."""

    __tablename__ = "article_tags"

    article_id: ColumnElement[int] = Column(
        Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag: ColumnElement[str] = Column(String(100), primary_key=True, index=True)


class Edition(Base):
    """One issue of a newsletter: its content and where it is in its life."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("newsletter", "number"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    newsletter: ColumnElement[str] = Column(String(63), nullable=False)
    number: ColumnElement[int] = Column(Integer, nullable=False)
    status: ColumnElement[str] = Column(String(16), nullable=False)
    subject: ColumnElement[str] = Column(String(300), nullable=False)
    preheader: ColumnElement[str] = Column(String(300), nullable=False)
    # The edition's sections and stories as built (see digest.editions.build.Edition.to_json).
    content: ColumnElement[dict[str, Any]] = Column(JSON, nullable=False)
    created_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    sent_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    # The send time the scheduler built this edition for; None for editions made by hand.
    scheduled_for: ColumnElement[datetime | None] = Column(UTCDateTime())
    # When the content's candidate articles were last drawn: anything first seen (or dated)
    # after it was never in front of this edition, so it belongs to the next one.
    drawn_at: ColumnElement[datetime | None] = Column(UTCDateTime())


class EditionArticle(Base):
    """Which articles an edition carries; sent editions' rows keep articles from repeating."""

    __tablename__ = "edition_articles"

    edition_id: ColumnElement[int] = Column(
        Integer, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: ColumnElement[int] = Column(
        Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
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

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    edition_id: ColumnElement[int] = Column(
        Integer, ForeignKey("editions.id", ondelete="CASCADE"), nullable=False
    )
    subscriber_id: ColumnElement[int] = Column(
        Integer, ForeignKey(Subscriber.id, ondelete="CASCADE"), nullable=False
    )
    # pending → claimed → sent | rejected | skipped | failed; see digest.store.deliveries.
    status: ColumnElement[str] = Column(String(16), default="pending", nullable=False)
    attempts: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    provider_message_id: ColumnElement[str | None] = Column(String(200))
    error: ColumnElement[str | None] = Column(Text)
    claimed_by: ColumnElement[str | None] = Column(String(100))
    claimed_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    # After a temporary failure: not claimed again before retry_at; given up (failed) once
    # failing_since is older than send.retry_window.
    retry_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    failing_since: ColumnElement[datetime | None] = Column(UTCDateTime())


class EditionEvent(Base):
    """One step in an edition's life: who moved it from what to what, when and why."""

    __tablename__ = "edition_events"
    __table_args__ = (Index("ix_edition_events_edition", "edition_id", "id"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    edition_id: ColumnElement[int] = Column(
        Integer, ForeignKey("editions.id", ondelete="CASCADE"), nullable=False
    )
    from_status: ColumnElement[str] = Column(String(16), nullable=False)
    to_status: ColumnElement[str] = Column(String(16), nullable=False)
    actor: ColumnElement[str] = Column(String(200), nullable=False)
    reason: ColumnElement[str] = Column(Text, default="", nullable=False)
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class JobLock(Base):
    """A lease on one scheduled job, so two scheduler processes never run it at once."""

    __tablename__ = "job_locks"

    name: ColumnElement[str] = Column(String(200), primary_key=True)
    owner: ColumnElement[str] = Column(String(200), nullable=False)
    expires_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class ScheduleRun(Base):
    """What a scheduled job did for one planned time; the unique key makes each run happen once."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("job", "planned_for"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    job: ColumnElement[str] = Column(String(200), nullable=False)
    planned_for: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    outcome: ColumnElement[str] = Column(String(20), nullable=False)
    message: ColumnElement[str] = Column(Text, default="", nullable=False)
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class ArticleAlias(Base):
    """Another guid or URL under which an already stored article's text came again."""

    __tablename__ = "article_aliases"

    guid: ColumnElement[str] = Column(String(2048), primary_key=True)
    article_id: ColumnElement[int] = Column(
        Integer, ForeignKey("articles.id", ondelete="CASCADE"), index=True, nullable=False
    )
    url: ColumnElement[str | None] = Column(String(2048))
    source: ColumnElement[str] = Column(String(200), nullable=False)
    seen_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class SourceState(Base):
    """Per source: validators for conditional requests, and health (last success, errors)."""

    __tablename__ = "source_states"

    name: ColumnElement[str] = Column(String(63), primary_key=True)
    etag: ColumnElement[str | None] = Column(String(500))
    last_modified: ColumnElement[str | None] = Column(String(100))
    last_run_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    last_success_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    last_error_at: ColumnElement[datetime | None] = Column(UTCDateTime())
    last_error: ColumnElement[str | None] = Column(Text)
    consecutive_failures: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    # The last run's counts, e.g. {"new": 3, "updated": 0, "duplicate": 1, "unchanged": 9}.
    last_counts: ColumnElement[dict[str, Any]] = Column(JSON, default=dict, nullable=False)


class SourceRun(Base):
    """One ingestion run of one source: when, what it did, and the error if any."""

    __tablename__ = "source_runs"
    __table_args__ = (Index("ix_source_runs_source", "source", "id"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    source: ColumnElement[str] = Column(String(63), nullable=False)
    at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
    new: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    updated: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    duplicate: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    unchanged: ColumnElement[int] = Column(Integer, default=0, nullable=False)
    error: ColumnElement[str | None] = Column(Text)


class SendControl(Base):
    """An operator's word on one edition's send: running, paused or cancelled."""

    __tablename__ = "send_controls"

    edition_id: ColumnElement[int] = Column(
        Integer, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    state: ColumnElement[str] = Column(String(16), nullable=False)
    actor: ColumnElement[str] = Column(String(200), nullable=False)
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)


class StoryEdit(Base):
    """An editor's change to one story of an edition; kept apart so rebuilding keeps it.

    `story_key` is an article id: the change applies to whichever story holds that article.
    """

    __tablename__ = "story_edits"
    __table_args__ = (UniqueConstraint("newsletter", "number", "story_key"),)

    id: ColumnElement[int] = Column(Integer, primary_key=True)
    newsletter: ColumnElement[str] = Column(String(63), nullable=False)
    number: ColumnElement[int] = Column(Integer, nullable=False)
    story_key: ColumnElement[int] = Column(Integer, nullable=False)
    pinned: ColumnElement[bool] = Column(Boolean, default=False, nullable=False)
    removed: ColumnElement[bool] = Column(Boolean, default=False, nullable=False)
    headline: ColumnElement[str | None] = Column(Text)
    summary: ColumnElement[str | None] = Column(Text)
    # Corrections to grouping: the article stands alone, or its story joins `merge_into`'s.
    split: ColumnElement[bool] = Column(Boolean, default=False, nullable=False)
    merge_into: ColumnElement[int | None] = Column(Integer)
    actor: ColumnElement[str] = Column(String(200), nullable=False)
    updated_at: ColumnElement[datetime] = Column(UTCDateTime(), nullable=False)
