"""The shared seed pages read as plain-text articles (deeper cleaning comes with ingestion)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.core.app import App
from digest.ingest.files import parse_text_dump, parse_text_file
from digest.ingest.service import ingest_path
from digest.ingest.tagging import KeywordTagger
from tests.conftest import NOW, SHARED

SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"{SEEDS} is absent (../shared not beside the repo)"
)


@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_single_article_seed_gives_one_article(prefix: str) -> None:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    art = parse_text_file(path, "seeds")
    assert art.title.strip()
    assert art.word_count > 300
    assert art.content_hash


ARCHIVE_HEADLINES = 21
CHROME_LINES = (
    "Skip to content", "Accueil »", "openai_microsoft", "Leave a Reply",
    "will not be published", "Powered by", "Laura B.", "I track the latest", "Source WSJ",
)  # fmt: skip
RULES = {"openai": ["OpenAI", "ChatGPT"], "microsoft": ["Microsoft"]}


def _seed(prefix: str) -> Path:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return path


def test_tag_archive_splits_into_its_articles() -> None:
    path = _seed("000")
    raw = path.read_text(encoding="utf-8")
    arts = parse_text_dump(path, "seeds")
    headlines = [line.strip()[1:].strip() for line in raw.splitlines() if line.startswith("  •")]
    assert len(arts) == ARCHIVE_HEADLINES == len(headlines)
    assert [a.title for a in arts] == headlines
    for art in arts:
        assert art.tags == ("openai",)
        assert art.title not in art.text  # the repeated headline is not in the body
        assert art.word_count > 100
    # The first article's own bullet points stay in it; they are not articles.
    assert "AI is becoming a commodity" in arts[0].text
    assert len({a.guid for a in arts}) == ARCHIVE_HEADLINES


@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_single_article_seed_has_no_chrome(prefix: str) -> None:
    [art] = parse_text_dump(_seed(prefix), "seeds")
    assert art.title.strip() and len(art.title.split()) <= 20
    assert not art.title.endswith(":")
    for line in CHROME_LINES:
        assert line not in art.text, line
    assert KeywordTagger(RULES).tags(art) == ["openai", "microsoft"]


def test_keyword_rules_tag_archive_articles_that_name_microsoft() -> None:
    path = _seed("000")
    tagger = KeywordTagger(RULES)
    arts = parse_text_dump(path, "seeds")
    named = [a.title for a in arts if re.search(r"\bmicrosoft\b", f"{a.title} {a.text}", re.I)]
    tagged = [a.title for a in arts if "microsoft" in tagger.tags(a)]
    assert tagged == named and 0 < len(tagged) < ARCHIVE_HEADLINES
    assert all("openai" in tagger.tags(a) for a in arts)


def test_seed_folder_ingested_twice_adds_nothing(app: App) -> None:
    first = ingest_path(app.engine, SEEDS, NOW, source="seeds")
    again = ingest_path(app.engine, SEEDS, NOW, source="seeds")
    assert first.ok and first.counts["new"] == ARCHIVE_HEADLINES + 4
    assert again.counts["new"] == 0 and again.counts["unchanged"] == ARCHIVE_HEADLINES + 4
