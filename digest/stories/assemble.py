"""From selected articles to ranked stories: group, pick the lead, rank. Pure functions.

Lead rule: the most complete article of the story (most words); ties go to the earliest
published, then the lowest id (when an editor merged a story into another, the other's
articles come first). The other articles are "also covered by" links, one per source.

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


def lead_order(
    articles: Sequence[ArticleRecord], leading: Collection[int] = ()
) -> list[ArticleRecord]:
    """The lead first (most words, then earliest, then lowest id), the rest in the same order;
    articles in `leading` (the story an editor merged another into) come before the others."""
    return sorted(
        articles, key=lambda a: (a.id not in leading, -a.word_count, a.published_at, a.id)
    )


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


def regroup(
    groups: Sequence[Sequence[int]], split: Collection[int], merge: Sequence[tuple[int, int]]
) -> list[list[int]]:
    """Groups of article ids after an editor's corrections: each `split` article stands alone,
    then each `(article, into)` merge joins the two stories holding them. Ids that are no
    longer candidates change nothing. Groups come sorted, each by id, the list by first id."""
    out = [[i] for g in groups for i in g if i in split]
    out += [kept for g in groups if (kept := [i for i in g if i not in split])]
    parent = {i: k for k, g in enumerate(out) for i in g}
    root = list(range(len(out)))

    def find(k: int) -> int:
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    for article, into in merge:
        if article in parent and into in parent:
            a, b = find(parent[article]), find(parent[into])
            root[max(a, b)] = min(a, b)
    joined: dict[int, list[int]] = {}
    for k, g in enumerate(out):
        joined.setdefault(find(k), []).extend(g)
    return sorted((sorted(g) for g in joined.values()), key=lambda g: g[0])


def make_stories(
    articles: Sequence[ArticleRecord],
    newsletter: NewsletterSettings,
    settings: StoriesSettings,
    now: datetime,
    pinned: Collection[int] = (),
    changes: Changes | None = None,
) -> list[StoryGroup]:
    """Group `articles` into stories, ranked; a story holding a `pinned` article id goes first.
    An editor's splits and merges in `changes` correct the grouping before anything else.

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
    by_id = {a.id: a for a in ordered}
    ids = [[ordered[i].id for i in members] for members in groups]
    leading: set[int] = set()  # a story merged into another keeps the other's lead
    if changes is not None:
        apart = regroup(ids, changes.splits, ())
        targets = {into for _, into in changes.merges}
        leading = {i for g in apart if targets.intersection(g) for i in g}
        ids = regroup(ids, changes.splits, changes.merges)
    pins = set(pinned)
    stories = []
    for members in ids:
        arts = lead_order([by_id[i] for i in members], leading)
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
    split: bool = False  # the article stands alone, whatever grouping says
    merge_into: int | None = None  # the article's story joins the story holding this article


@dataclass(frozen=True)
class Changes:
    """All of an edition's edits, applied on every rebuild of its draft."""

    edits: tuple[Edit, ...] = field(default_factory=tuple)

    @property
    def pinned_keys(self) -> list[int]:
        """Article ids whose stories go first."""
        return [e.key for e in self.edits if e.pinned]

    @property
    def splits(self) -> set[int]:
        """Article ids an editor split out of their stories."""
        return {e.key for e in self.edits if e.split}

    @property
    def merges(self) -> list[tuple[int, int]]:
        """(article, into): the article's story joins the one holding `into`."""
        return [(e.key, e.merge_into) for e in self.edits if e.merge_into is not None]

    def for_story(self, article_ids: Sequence[int]) -> Edit | None:
        """The rewrite (headline, summary) of a story holding these articles (lowest key wins)."""
        ids = set(article_ids)
        matching = [e for e in self.edits if e.key in ids and (e.headline or e.summary)]
        return min(matching, key=lambda e: e.key) if matching else None

    def apply(self, groups: Sequence[StoryGroup]) -> list[StoryGroup]:
        """The stories minus those an editor removed."""
        removed = {e.key for e in self.edits if e.removed}
        return [g for g in groups if not removed.intersection(a.id for a in g.articles)]
