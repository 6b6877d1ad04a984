"""The shared seeds as stories: 001–004 tell one story; the tag archive 000 keeps events apart.

The articles are read through the real ingestion (the folder source's text-file readers), so
they carry the headlines it extracts and none of the site chrome it strips.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from digest.ingest.files import parse_text_dump, parse_text_file
from digest.stories.grouping import Item, group
from digest.stories.summarize import summarize
from tests.conftest import SHARED

SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"{SEEDS} is absent (../shared not beside the repo)"
)


def archive_items() -> list[Item]:
    """The tag archive 000 split into its articles, as ingestion splits it (one per bullet)."""
    [path] = SEEDS.glob("000_*.txt")
    return [Item(a.title or "", a.text) for a in parse_text_dump(Path(path), "seeds")]


def single(prefix: str) -> Item:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    art = parse_text_file(Path(path), "seeds")
    return Item(art.title or "", art.text)


def test_ingestion_gives_001_its_headline_not_chrome() -> None:
    assert single("001").title.startswith("Microsoft-OpenAI Agreement")


def pool() -> list[Item]:
    """The five seed files as one draft's candidates: 001–004, then the archive's articles."""
    return [single(p) for p in ("001", "002", "003", "004")] + archive_items()


def test_no_two_archive_articles_about_different_subjects_merge() -> None:
    items = pool()
    assert len(items) >= 24
    for members in group(items):
        if len(members) > 1 and min(members) >= 4:
            # Each merged group is one of the archive's pairs: its headlines share a subject.
            subjects = [set(re.findall(r"\b[A-Z][\w-]+", items[m].title)) for m in members]
            assert set.intersection(*subjects) - {"OpenAI", "AI", "The", "What", "Why"}, [
                items[m].title for m in members
            ]
            assert len(members) == 2


def test_seeds_001_to_004_are_one_story() -> None:
    assert [0, 1, 2, 3] in group(pool())


def _others() -> list[Item]:
    """Unrelated full articles to grow a pool to 500: the ECB+ set (earthquakes, arrests,
    celebrities), read by path."""
    path = SHARED / "eval" / "stories" / "ecbplus.articles.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the 500-article pool needs it")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Item(r.get("title", ""), r["text"]) for r in rows]


def _seed_stories(items: list[Item]) -> list[list[int]]:
    return [m for m in group(items) if set(m) & {0, 1, 2, 3}]


@pytest.mark.parametrize("size", [4, 8, 25, 500])
def test_one_event_is_one_story_whatever_else_is_in_the_pool(size: int) -> None:
    seeds, archive = pool()[:4], archive_items()
    if size == 4:
        pools = [seeds]
    elif size == 8:  # every run of four archive articles beside the seeds
        pools = [seeds + archive[k : k + 4] for k in range(len(archive) - 3)]
    elif size == 25:
        pools = [seeds + archive]
    else:
        pools = [(seeds + archive + _others())[:size]]
    for items in pools:
        assert len(items) == size
        [story] = _seed_stories(items)
        assert {0, 1, 2, 3} <= set(story), [items[i].title for i in story]
        extra = [items[i].title for i in story if i > 3]
        if size != 8:
            assert not extra
        else:  # the later Microsoft–OpenAI agreement, or Microsoft and AWS, when alone
            assert len(extra) <= 1 and all("Microsoft" in t for t in extra), extra


def test_the_seed_story_takes_no_archive_article() -> None:
    [story] = [members for members in group(pool()) if 1 in members]
    assert {1, 2, 3} <= set(story) and max(story) < 4


def test_seed_summaries_have_no_chrome() -> None:
    for prefix in ("001", "002", "003", "004"):
        item = single(prefix)
        text = summarize(item.text, item.title, sentences=3)
        assert text and "Skip to content" not in text and "»" not in text
        assert "Leave a Reply" not in text


def test_every_summary_sentence_comes_from_its_own_story() -> None:
    from datetime import timedelta

    from digest.core.sentences import split_sentences
    from digest.settings import NewsletterSettings, StoriesSettings
    from digest.store.articles import ArticleRecord
    from digest.stories.assemble import make_stories, story_summary
    from tests.conftest import NOW

    records = [
        ArticleRecord(
            id=i + 1,
            title=it.title,
            text=it.text,
            url=f"https://seed.example/{i}",
            author=None,
            source=f"site{i % 5}",
            published_at=NOW - timedelta(hours=i),
            word_count=len(it.text.split()),
            tags=("openai",),
        )
        for i, it in enumerate(pool())
    ]
    nl = NewsletterSettings(title="Seeds", tags=["openai"])
    for story in make_stories(records, nl, StoriesSettings(), NOW):
        own = " ".join(" ".join(a.text.split()) for a in story.articles)
        for sentence in split_sentences(story_summary(story, 3)):
            assert " ".join(sentence.split()) in own, (story.lead.title, sentence)
