"""Storing and reading articles."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from digest.ingest.records import ParsedArticle
from digest.models import Article, ArticleAlias, ArticleTag, Edition, EditionArticle


class Outcome(enum.StrEnum):
    """What saving one parsed article did."""

    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ArticleRecord:
    """A stored article, as the pure pipeline steps see it."""

    id: int
    title: str
    text: str
    url: str | None
    author: str | None
    source: str
    published_at: datetime
    word_count: int
    tags: tuple[str, ...]


def save_article(conn: Connection, art: ParsedArticle, now: datetime) -> Outcome:
    """Insert, update in place (same guid, new text) or skip (same text under another guid)."""
    digest_ = art.content_hash
    row = conn.execute(
        select(Article.id, Article.content_hash, Article.title, Article.url).where(
            Article.guid == art.guid
        )
    ).first()
    values = {
        "url": art.url,
        "content_hash": digest_,
        "title": art.title,
        "author": art.author,
        "source": art.source,
        "text": art.text,
        "word_count": art.word_count,
        "updated_at": now,
    }
    if row is not None:
        if row.content_hash == digest_ and row.title == art.title and row.url == art.url:
            _replace_tags(conn, row.id, art.tags)
            return Outcome.UNCHANGED
        if art.published is not None:
            values["published_at"] = art.published
        conn.execute(update(Article).where(Article.id == row.id).values(**values))
        _replace_tags(conn, row.id, art.tags)
        return Outcome.UPDATED
    alias = conn.execute(select(ArticleAlias.article_id).where(ArticleAlias.guid == art.guid))
    if alias.first() is not None:
        return Outcome.DUPLICATE
    same = conn.execute(
        select(Article.id).where(Article.content_hash == digest_).order_by(Article.id).limit(1)
    ).first()
    if same is not None:
        # The same text under another guid or URL: linked to the stored one, not stored twice.
        conn.execute(
            insert(ArticleAlias).values(
                guid=art.guid, article_id=same.id, url=art.url, source=art.source, seen_at=now
            )
        )
        return Outcome.DUPLICATE
    new_id = conn.execute(
        insert(Article).values(
            guid=art.guid,
            published_at=art.published or now,
            published_guessed=art.published is None,
            created_at=now,
            **values,
        )
    ).inserted_primary_key
    assert new_id is not None
    _replace_tags(conn, new_id[0], art.tags)
    return Outcome.NEW


def _replace_tags(conn: Connection, article_id: int, tags: Sequence[str]) -> None:
    conn.execute(delete(ArticleTag).where(ArticleTag.article_id == article_id))
    if tags:
        conn.execute(insert(ArticleTag), [{"article_id": article_id, "tag": t} for t in tags])


_RECORD_COLUMNS = (
    Article.id,
    Article.title,
    Article.text,
    Article.url,
    Article.author,
    Article.source,
    Article.published_at,
    Article.word_count,
)


def articles_since(
    conn: Connection,
    since: datetime,
    until: datetime | None = None,
    tags: Iterable[str] | None = None,
    source: str | None = None,
) -> list[ArticleRecord]:
    """Articles published in [since, until], newest first, optionally with any of `tags`."""
    query = select(*_RECORD_COLUMNS).where(Article.published_at >= since)
    if until is not None:
        query = query.where(Article.published_at <= until)
    if tags:
        tagged = select(ArticleTag.article_id).where(ArticleTag.tag.in_(list(tags)))
        query = query.where(Article.id.in_(tagged))
    if source:
        query = query.where(Article.source == source)
    rows = conn.execute(query.order_by(Article.published_at.desc(), Article.id)).all()
    tag_map: dict[int, list[str]] = {row.id: [] for row in rows}
    ids = list(tag_map)
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = select(ArticleTag.article_id, ArticleTag.tag).where(
            ArticleTag.article_id.in_(ids[start : start + 500])
        )
        for aid, tag in conn.execute(chunk.order_by(ArticleTag.article_id, ArticleTag.tag)):
            tag_map[aid].append(tag)
    return [ArticleRecord(**row._mapping, tags=tuple(tag_map[row.id])) for row in rows]


def article_by_id(conn: Connection, article_id: int) -> ArticleRecord | None:
    """One stored article with its tags, or None."""
    row = conn.execute(select(*_RECORD_COLUMNS).where(Article.id == article_id)).first()
    if row is None:
        return None
    tags = conn.execute(
        select(ArticleTag.tag).where(ArticleTag.article_id == article_id).order_by(ArticleTag.tag)
    ).scalars()
    return ArticleRecord(**row._mapping, tags=tuple(tags))


def sent_article_ids(conn: Connection, newsletter: str) -> set[int]:
    """Articles that a sent edition of this newsletter already carried."""
    query = (
        select(EditionArticle.article_id)
        .join(Edition, Edition.id == EditionArticle.edition_id)
        .where(Edition.newsletter == newsletter, Edition.status == "sent")
    )
    return set(conn.execute(query).scalars())
