"""A 20-story edition in ten languages and with the text that breaks emails, for tests and bench.

Ten stories come from tests/fixtures/multilingual.json (our own short articles in Arabic,
Hebrew, Chinese, Japanese, Korean, Hindi, Thai, Russian, Greek and English, each declaring its
language); ten more carry what real sources send: a 300-character URL in the text, an
83-character German compound in a headline, emoji, `&amp;` and `<script>` in titles, a
headline-only item.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from digest.editions.build import build_edition
from digest.editions.content import EditionContent
from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord
from digest.stories.assemble import StoryGroup

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIXTURE = Path(__file__).parent / "fixtures" / "multilingual.json"
TAGS = ["transit", "housing", "climate", "open-source"]
LONG_URL = "https://data.portalder.example/reports/" + "-".join(["tide-gauge-readings"] * 13)
COMPOUND = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaftsamt"
CONTEXT: dict[str, Any] = {
    "description": "A weekly round-up from Port Alder, in many languages.",
    "postal_address": "Port Alder Weekly, 12 Quay Street, Port Alder",
    "sender_name": "Port Alder Weekly",
    "base_url": "https://news.portalder.example",
    "view_url": "https://news.portalder.example/archive/weekly/3",
}
NEWSLETTER = NewsletterSettings(
    title="Port Alder Weekly", tags=TAGS, max_stories=20, summary_sentences=2
)


def fixture_articles() -> list[dict[str, Any]]:
    """The ten articles of the fixture, as written."""
    rows: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return rows


def _english(i: int) -> tuple[str, str]:
    body = (
        f"The harbour board published report {i} on Monday about berth maintenance. "
        "Engineers found corrosion on two of the older piles and asked for repairs. "
        "The board expects the work to finish before the spring ferry season."
    )
    extra: list[tuple[str, str]] = [
        (
            "Tide gauge data now online for everyone",
            f"The harbour board put fifty years of tide readings at {LONG_URL} for anyone to "
            f"use. {body}",
        ),
        (f"{COMPOUND} opens a Port Alder office", body),
        ("Ferry crews celebrate 🎉 a record summer ⛴️", body),
        # As ingestion stores it: entities decoded; the markup is text, escaped on output.
        ("Tom & Jerry's café wins award <script>alert(1)</script>", body),
        ("Harbour board meets on Thursday", "Harbour board meets on Thursday"),
    ]
    return extra[i] if i < len(extra) else (f"Harbour board report {i} on berth repairs", body)


def articles() -> list[ArticleRecord]:
    """The 20 articles, one story each, newest first."""
    out: list[ArticleRecord] = []
    for i, row in enumerate(fixture_articles()):
        out.append(
            ArticleRecord(
                id=i + 1, title=row["title"], text=row["text"],
                url=f"https://{row['language']}.news.example/story/{i + 1}", author=None,
                source=f"Source {row['language']}", published_at=NOW - timedelta(hours=i + 1),
                word_count=80, tags=(TAGS[i % 4],), language=row["language"],
            )
        )  # fmt: skip
    for i in range(10):
        title, text = _english(i)
        n = len(out) + 1
        out.append(
            ArticleRecord(
                id=n, title=title, text=text, url=f"https://en.news.example/story/{n}",
                author=None, source=f"Harbour News {i % 3}",
                published_at=NOW - timedelta(hours=n), word_count=60, tags=(TAGS[i % 4],),
                language="en" if i % 2 else None,
            )
        )  # fmt: skip
    return out


def edition() -> EditionContent:
    """The 20-story edition, built the way `digest draft` builds one (one story per article,
    each summarised by the story summariser); the first story has a second source."""
    arts = articles()
    also = ArticleRecord(
        id=99, title=arts[0].title, text=arts[0].text, url="https://other.example/tram",
        author=None, source="Other Source", published_at=arts[0].published_at,
        word_count=70, tags=arts[0].tags, language="ar",
    )  # fmt: skip
    groups = [StoryGroup((arts[0], also), score=20.0)]
    groups += [StoryGroup((a,), score=19.0 - i) for i, a in enumerate(arts[1:])]
    return build_edition("weekly", NEWSLETTER, [*arts, also], 3, NOW, stories=groups)
