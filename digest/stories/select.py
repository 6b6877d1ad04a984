"""Choose an edition's candidate articles: a pure function of articles, newsletter, history, now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord


@dataclass(frozen=True)
class History:
    """What earlier sent editions of the newsletter did."""

    sent_article_ids: frozenset[int] = field(default_factory=frozenset)
    last_sent_at: datetime | None = None


def window_start(newsletter: NewsletterSettings, now: datetime, history: History) -> datetime:
    """Since the last sent edition, but never further back than `window_days`."""
    floor = now - timedelta(days=newsletter.window_days)
    if history.last_sent_at is not None and history.last_sent_at > floor:
        return history.last_sent_at
    return floor


def matches(article: ArticleRecord, newsletter: NewsletterSettings) -> bool:
    """Whether the article passes the newsletter's tag, length and source rules."""
    tags = set(article.tags)
    if not tags.intersection(newsletter.tags):
        return False
    if newsletter.tags_all and not tags.issuperset(newsletter.tags_all):
        return False
    if tags.intersection(newsletter.tags_exclude):
        return False
    if article.word_count < newsletter.min_words:
        return False
    if newsletter.sources_allow and article.source not in newsletter.sources_allow:
        return False
    return article.source not in newsletter.sources_deny


def select_articles(
    articles: Iterable[ArticleRecord],
    newsletter: NewsletterSettings,
    now: datetime,
    already_sent: set[int] | frozenset[int] = frozenset(),
    last_sent_at: datetime | None = None,
) -> list[ArticleRecord]:
    """Articles in the window that pass the newsletter's rules and no sent edition carried.

    Newest first (ties by id, so the result is the same for the same inputs). The cap on
    stories (`max_stories`) applies after grouping, not here: several articles may make one
    story.
    """
    history = History(frozenset(already_sent), last_sent_at)
    since = window_start(newsletter, now, history)
    chosen = [
        a
        for a in articles
        if since <= a.published_at <= now
        and a.id not in history.sent_article_ids
        and matches(a, newsletter)
    ]
    chosen.sort(key=lambda a: (-a.published_at.timestamp(), a.id))
    return chosen
