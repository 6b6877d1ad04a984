"""From selected articles to ranked stories: group, pick the lead, rank. Pure functions.

Lead rule: the most complete article of the story (most words); ties go to the earliest
published, then the lowest id. The other articles are "also covered by" links, one per source.

Ranking: stories covered by more outlets, more recent, and from weightier sources come first;
editor pins come before everything. score = (1 + ln(outlets)) × recency × weight, where
recency = 1 / (1 + age in days / window_days) and weight is the highest `source_weights`
entry among the story's sources and outlets (1.0 when unset).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from digest.core.scripts import join_sentences
from digest.settings import NewsletterSettings, StoriesSettings
from digest.store.articles import ArticleRecord
from digest.stories.summarize import Document, summarize_documents

# The lead outweighs the other sources when picking summary sentences.
OTHER_SOURCE_WEIGHT = 0.8


@dataclass(frozen=True)
class StoryGroup:
    """Articles reporting one event; `articles[0]` is the lead."""

    articles: tuple[ArticleRecord, ...]
    score: float
    pinned: bool = False

    @property
    def lead(self) -> ArticleRecord:
        """The article the story links to first."""
        return self.articles[0]

    @property
    def sources(self) -> list[str]:
        """Distinct outlets (a page's site, else its source), the lead's first."""
        seen: list[str] = []
        for art in self.articles:
            if art.outlet_name not in seen:
                seen.append(art.outlet_name)
        return seen

    @property
    def key(self) -> int:
        """A stable handle for editors' changes: the story's earliest-stored article id."""
        return min(a.id for a in self.articles)


def lead_order(articles: Sequence[ArticleRecord]) -> list[ArticleRecord]:
    """The lead first (most words, then earliest, then lowest id), the rest in the same order."""
    return sorted(articles, key=lambda a: (-a.word_count, a.published_at, a.id))


def score(
    articles: Sequence[ArticleRecord], newsletter: NewsletterSettings, now: datetime
) -> float:
    """Coverage × recency × source weight (see the module docstring)."""
    outlets = {a.outlet_name for a in articles}
    newest = max(a.published_at for a in articles)
    age_days = max(0.0, (now - newest).total_seconds() / 86400)
    recency = 1 / (1 + age_days / newsletter.window_days)
    weights = newsletter.source_weights
    weight = max(max(weights.get(a.source, 1.0), weights.get(a.outlet_name, 1.0)) for a in articles)
    return (1 + math.log(len(outlets))) * recency * weight


def make_stories(
    articles: Sequence[ArticleRecord],
    newsletter: NewsletterSettings,
    settings: StoriesSettings,
    now: datetime,
    pinned: Collection[int] = (),
) -> list[StoryGroup]:
    """Group `articles` into stories, ranked; a story holding a `pinned` article id goes first.

    The same inputs give the same stories in the same order.
    """
    ordered = sorted(articles, key=lambda a: (a.published_at, a.id))
    # Grouping needs numpy: imported when stories are made, not by every reader of editions.
    from digest.stories.grouping import Item, group

    items = [Item(a.title, a.text, a.published_at) for a in ordered]
    groups = group(
        items,
        threshold=settings.threshold,
        headline_threshold=settings.headline_threshold,
        time_scale_days=settings.time_scale.total_seconds() / 86400,
    )
    pins = set(pinned)
    stories = []
    for members in groups:
        arts = lead_order([ordered[i] for i in members])
        stories.append(
            StoryGroup(
                articles=tuple(arts),
                score=score(arts, newsletter, now),
                pinned=any(a.id in pins for a in arts),
            )
        )
    stories.sort(
        key=lambda s: (not s.pinned, -round(s.score, 9), -s.lead.published_at.timestamp(), s.key)
    )
    return stories


def story_summary(story: StoryGroup, sentences: int, max_words: int | None = None) -> str:
    """An extractive summary drawn from all the story's articles, the lead favoured."""
    docs = [
        Document(a.text, a.title, 1.0 if i == 0 else OTHER_SOURCE_WEIGHT)
        for i, a in enumerate(story.articles)
    ]
    return join_sentences(summarize_documents(docs, sentences, max_words))


@dataclass(frozen=True)
class Edit:
    """One story's change; `key` is an article id of the story."""

    key: int
    pinned: bool = False
    removed: bool = False
    headline: str | None = None
    summary: str | None = None


@dataclass(frozen=True)
class Changes:
    """All of an edition's edits, applied on every rebuild of its draft."""

    edits: tuple[Edit, ...] = field(default_factory=tuple)

    @property
    def pinned_keys(self) -> list[int]:
        """Article ids whose stories go first."""
        return [e.key for e in self.edits if e.pinned]

    def for_story(self, article_ids: Sequence[int]) -> Edit | None:
        """The edit that applies to a story holding these articles (lowest key wins)."""
        ids = set(article_ids)
        matching = [e for e in self.edits if e.key in ids]
        return min(matching, key=lambda e: e.key) if matching else None

    def apply(self, groups: Sequence[StoryGroup]) -> list[StoryGroup]:
        """The stories minus those an editor removed."""
        removed = {e.key for e in self.edits if e.removed}
        return [g for g in groups if not removed.intersection(a.id for a in g.articles)]
