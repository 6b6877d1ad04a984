"""Choose an edition's candidate articles: a pure function of articles, newsletter, history, now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord


@dataclass(frozen=True)
class History:
    """What the newsletter's editions that reached readers did.

    `carried` are the articles they held; `drawn_at` is when the latest of them drew its
    candidates. An article first seen (or dated) after that instant was never in front of an
    edition, however old its date: a feed that lags by hours loses nothing, and an article
    that arrives between a draft and its send goes in the next edition.
    """

    carried: frozenset[int] = field(default_factory=frozenset)
    drawn_at: datetime | None = None

    def is_new(self, article: ArticleRecord) -> bool:
        """Whether no edition that reached readers carried the article or had it to choose."""
        if article.id in self.carried:
            return False
        if self.drawn_at is None:
            return True
        seen = article.first_seen or article.published_at
        return seen > self.drawn_at or article.published_at > self.drawn_at


def window_start(newsletter: NewsletterSettings, now: datetime) -> datetime:
    """The oldest date an edition can take: a late article may be `window_days` old on arrival,
    and arrive up to `window_days` ago."""
    return now - 2 * timedelta(days=newsletter.window_days)


def is_fresh(article: ArticleRecord, newsletter: NewsletterSettings, now: datetime) -> bool:
    """First seen in the last `window_days`, at most `window_days` old then, and not future.

    The window counts from when digest first saw the article, so an item a feed delivers
    hours late is as fresh as one it delivered on time, while a new source's old archive is
    not taken for news.
    """
    window = timedelta(days=newsletter.window_days)
    seen = article.first_seen or article.published_at
    return seen >= now - window and seen - window <= article.published_at <= now


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
    history: History | None = None,
) -> list[ArticleRecord]:
    """Fresh articles that pass the newsletter's rules and are new to its readers.

    Newest first (ties by id, so the result is the same for the same inputs). The cap on
    stories (`max_stories`) applies after grouping, not here: several articles may make one
    story.
    """
    history = history or History()
    chosen = [
        a
        for a in articles
        if is_fresh(a, newsletter, now) and history.is_new(a) and matches(a, newsletter)
    ]
    chosen.sort(key=lambda a: (-a.published_at.timestamp(), a.id))
    return chosen
