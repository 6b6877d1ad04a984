"""Storing and reading articles."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, or_, select, update

from digest.core.models import (
    Article,
    ArticleAlias,
    ArticleTag,
    Delivery,
    Edition,
    EditionArticle,
)
from digest.core.text import near_identical
from digest.ingest.records import ParsedArticle


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
    # When digest first stored it (a lagging feed's article is dated long before this).
    first_seen: datetime | None = None
    # The language its source declared (BCP 47, e.g. 'ar', 'pt-BR'), None when unknown.
    language: str | None = None
    # Who published it, when not the source itself (see digest.core.models.Article.outlet).
    outlet: str | None = None

    @property
    def outlet_name(self) -> str:
        """The name readers see for where it was published: the outlet, else the source."""
        return self.outlet or self.source


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
        "language": art.language,
        "source": art.source,
        "outlet": art.outlet,
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


def save_articles(conn: Connection, arts: Sequence[ParsedArticle], now: datetime) -> list[Outcome]:
    """`save_article` for many: a few queries per 500 articles instead of several per article.

    The outcomes are those of saving the articles one by one, in order.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(arts), _CHUNK):
        outcomes += _save_chunk(conn, arts[start : start + _CHUNK], now)
    return outcomes


_CHUNK = 500  # stays under SQLite's bound-parameter limit


def _save_chunk(conn: Connection, arts: Sequence[ParsedArticle], now: datetime) -> list[Outcome]:
    guids = list({a.guid for a in arts})
    known = _rows_by_guid(conn, guids)
    aliased = set(
        conn.execute(select(ArticleAlias.guid).where(ArticleAlias.guid.in_(guids))).scalars()
    )
    by_hash: dict[str, int] = {}
    hashes = list({a.content_hash for a in arts})
    for aid, digest_ in conn.execute(
        select(Article.id, Article.content_hash).where(Article.content_hash.in_(hashes))
    ):
        by_hash[digest_] = min(aid, by_hash.get(digest_, aid))
    # Near-identical texts are looked for among articles with the same title: a republished
    # copy keeps its headline, and this keeps the comparison to a handful of candidates.
    fresh_titles = list({a.title for a in arts if a.guid not in known})
    same_title: dict[str, list[tuple[int, str]]] = {}
    for aid, title, text in conn.execute(
        select(Article.id, Article.title, Article.text).where(Article.title.in_(fresh_titles))
    ):
        same_title.setdefault(title, []).append((aid, text))
    outcomes: list[Outcome] = []
    batch: list[ParsedArticle] = []
    batch_keys: set[str] = set()
    retag: dict[int, tuple[str, ...]] = {}

    def flush() -> None:
        if not batch:
            return
        rows = [_new_row(art, now) for art in batch]
        ids = (
            conn.execute(insert(Article).returning(Article.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        for art, aid in zip(batch, ids, strict=True):
            by_hash.setdefault(art.content_hash, aid)
            same_title.setdefault(art.title, []).append((aid, art.text))
            retag[aid] = art.tags
        batch.clear()
        batch_keys.clear()

    for art in arts:
        if (
            art.guid in batch_keys
            or f"#{art.content_hash}" in batch_keys
            or f"@{art.title}" in batch_keys
        ):
            flush()  # a repeat of an article not yet written: write, then decide as usual
            known.update(_rows_by_guid(conn, [art.guid]))
        row = known.get(art.guid)
        if row is not None:
            if (row.content_hash, row.title, row.url) == (art.content_hash, art.title, art.url):
                retag[row.id] = art.tags
                outcomes.append(Outcome.UNCHANGED)
            else:
                outcomes.append(save_article(conn, art, now))  # updates are rare: one by one
                retag.pop(row.id, None)  # save_article wrote the tags
                known.update(_rows_by_guid(conn, [art.guid]))
        elif art.guid in aliased:
            outcomes.append(Outcome.DUPLICATE)
        elif (same := by_hash.get(art.content_hash) or _near(art, same_title)) is not None:
            conn.execute(
                insert(ArticleAlias).values(
                    guid=art.guid, article_id=same, url=art.url, source=art.source, seen_at=now
                )
            )
            aliased.add(art.guid)
            outcomes.append(Outcome.DUPLICATE)
        else:
            batch.append(art)
            batch_keys.update((art.guid, f"#{art.content_hash}", f"@{art.title}"))
            outcomes.append(Outcome.NEW)
    flush()
    _retag_many(conn, retag)
    return outcomes


def _rows_by_guid(conn: Connection, guids: list[str]) -> dict[str, Any]:
    query = select(
        Article.id, Article.guid, Article.content_hash, Article.title, Article.url
    ).where(Article.guid.in_(guids))
    return {r.guid: r for r in conn.execute(query)}


def _near(art: ParsedArticle, same_title: dict[str, list[tuple[int, str]]]) -> int | None:
    for aid, text in same_title.get(art.title, []):
        if near_identical(art.text, text):
            return aid
    return None


def _new_row(art: ParsedArticle, now: datetime) -> dict[str, object]:
    return {
        "guid": art.guid, "url": art.url, "content_hash": art.content_hash, "title": art.title,
        "author": art.author, "language": art.language, "source": art.source,
        "outlet": art.outlet, "text": art.text, "word_count": art.word_count, "updated_at": now,
        "created_at": now,
        "published_at": art.published or now, "published_guessed": art.published is None,
    }  # fmt: skip


def _retag_many(conn: Connection, tags: dict[int, tuple[str, ...]]) -> None:
    ids = list(tags)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        conn.execute(delete(ArticleTag).where(ArticleTag.article_id.in_(chunk)))
    rows = [{"article_id": aid, "tag": t} for aid, ts in tags.items() for t in ts]
    if rows:
        conn.execute(insert(ArticleTag), rows)


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
    Article.created_at.label("first_seen"),
    Article.language,
    Article.outlet,
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


def reached_readers(newsletter: str, partly: bool = True) -> ColumnElement[bool]:
    """Editions of `newsletter` that some reader has (or may have): sent, or sent in part.

    A send cancelled or failed halfway still reached the readers it reached, so what it
    carried must not come back in the next edition; `partly` False counts only editions sent
    to everyone (the newsletter's `repeat_partly_sent`).
    """
    if not partly:
        return and_(Edition.newsletter == newsletter, Edition.status == "sent")
    some_sent = (
        select(Delivery.id)
        .where(
            Delivery.edition_id == Edition.id,
            Delivery.status.in_(("sent", "uncertain", "unconfirmed")),
        )
        .exists()
    )
    return and_(Edition.newsletter == newsletter, or_(Edition.status == "sent", some_sent))


def carried_article_ids(conn: Connection, newsletter: str, partly: bool = True) -> set[int]:
    """Articles that an edition which reached readers already carried."""
    query = (
        select(EditionArticle.article_id)
        .join(Edition, Edition.id == EditionArticle.edition_id)
        .where(reached_readers(newsletter, partly))
    )
    return set(conn.execute(query).scalars())


def last_drawn_at(conn: Connection, newsletter: str, partly: bool = True) -> datetime | None:
    """When the latest edition that reached readers drew its candidate articles."""
    return conn.execute(
        select(Edition.drawn_at)
        .where(reached_readers(newsletter, partly), Edition.drawn_at.is_not(None))
        .order_by(Edition.number.desc())
        .limit(1)
    ).scalar()


def members(conn: Connection, article_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(outlet or source, title) of each article, for showing what a story holds."""
    ids = list(article_ids)
    found: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(Article.id, Article.outlet, Article.source, Article.title).where(
                Article.id.in_(ids[i : i + 500])
            )
        )
        for r in rows:
            found[int(r.id)] = (r.outlet or r.source, r.title)
    return found
