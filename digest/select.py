"""Choose an edition's candidate articles: a pure function of articles, newsletter, history, now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord


def select_articles(
    articles: Iterable[ArticleRecord],
    newsletter: NewsletterSettings,
    now: datetime,
    already_sent: set[int] | frozenset[int] = frozenset(),
) -> list[ArticleRecord]:
    """Articles in the window that carry one of the newsletter's tags and were never sent.

    Newest first (ties by id, so the result is the same for the same inputs), at most
    `max_stories` of them.
    """
    since = now - timedelta(days=newsletter.window_days)
    wanted = set(newsletter.tags)
    chosen = [
        a
        for a in articles
        if since <= a.published_at <= now
        and wanted.intersection(a.tags)
        and a.id not in already_sent
    ]
    chosen.sort(key=lambda a: (-a.published_at.timestamp(), a.id))
    return chosen[: newsletter.max_stories]
