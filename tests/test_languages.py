"""Every script: sentences, word counts, summaries and `digest summarize` in ten languages.

The articles in tests/fixtures/multilingual.json are ours, written for these tests (Arabic,
Hebrew, Chinese, Japanese, Korean, Hindi, Thai, Russian, Greek and English), each a short news
item about Port Alder of three or four sentences (Thai: one unpunctuated run, as Thai writes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.core.direction import direction
from digest.core.scripts import cut, tokens, word_units
from digest.core.sentences import split_sentences
from digest.ingest.records import derive_title
from digest.stories.summarize import lead_summary, summarize

ARTICLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "multilingual.json").read_text(encoding="utf-8")
)
LANGUAGES = [a["language"] for a in ARTICLES]


def article(language: str) -> dict[str, Any]:
    return next(a for a in ARTICLES if a["language"] == language)


def from_text(summary: str, text: str) -> bool:
    """Whether every piece of the summary is the article's own text (a cut piece ends in …)."""
    pieces = split_sentences(summary) or [summary]
    return all(p.rstrip("…") in text for p in pieces)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_gets_a_summary_of_its_own_text(language: str) -> None:
    art = article(language)
    summary = summarize(art["text"], art["title"], sentences=2)
    assert summary, f"{language}: empty summary"
    assert from_text(summary, art["text"]), summary
    assert word_units(summary) <= word_units(art["text"])


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", 4), ("he", 4), ("zh", 4), ("ja", 4), ("ko", 4), ("hi", 4), ("ru", 4), ("el", 4)],
)
def test_sentences_end_where_each_script_ends_them(language: str, expected: int) -> None:
    sentences = split_sentences(article(language)["text"])
    assert len(sentences) == expected, sentences
    assert "".join(sentences).replace(" ", "") == article(language)["text"].replace(" ", "")


def test_chinese_sentences_are_joined_without_spaces() -> None:
    summary = summarize(article("zh")["text"], sentences=2)
    assert "。 " not in summary and summary.count("。") == 2


def test_the_report_cases_from_outside() -> None:
    arabic = (
        "وافق مجلس المدينة على الخطة الجديدة مساء الثلاثاء. وقال الرئيس إن المشروع سيكلف الكثير."
    )
    assert summarize(arabic) == arabic
    assert summarize("One sentence here.") == "One sentence here."
    # A headline-only feed item: its text is its headline, and that is what it has to say.
    assert summarize("Ferry timetable changes", "Ferry timetable changes") == (
        "Ferry timetable changes"
    )
    assert summarize("") == ""


def test_thai_without_sentence_marks_is_cut_at_a_space_with_an_ellipsis() -> None:
    text = article("th")["text"]
    summary = summarize(text, sentences=2, max_words=30)
    assert summary.endswith("…")
    head = summary[:-1]
    assert text.startswith(head) and text[len(head)] == " "


def test_a_long_run_on_is_cut_at_a_word_boundary() -> None:
    words = " ".join(f"word{i}" for i in range(300))
    summary = lead_summary(words, sentences=2, max_words=20)
    assert summary.endswith("…") and summary[:-1] == " ".join(f"word{i}" for i in range(40))


def test_word_units_count_unspaced_scripts_by_characters() -> None:
    assert word_units("The tram line opens") == 4
    assert word_units("well-known fact") == 2
    assert word_units("市议会周二批准") == 4  # 7 characters, two to a word, rounded up
    assert word_units("東京 opens") == 2
    assert tokens("Tokyo 東京の市議会") == ["tokyo", "東京", "京の", "の市", "市議", "議会"]
    assert tokens("Ünïcode Straße") == ["ünïcode", "straße"]


def test_cut_keeps_whole_words_and_says_it_cut() -> None:
    assert cut("one two three four", 4) == "one two three four"
    assert cut("one two three four", 2) == "one two…"
    assert cut("港口阿尔德市交通局本周开放了实时公交数据接口，所有开发者都可以免费使用。", 5) == (
        "港口阿尔德市交通局本…"
    )


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("ar", "", "rtl"),
        ("he-IL", "", "rtl"),
        ("fa", "", "rtl"),
        ("ur", "", "rtl"),
        ("en", "", "ltr"),
        ("ja", "", "ltr"),
        (None, "مجلس المدينة يوافق", "rtl"),
        (None, "הספרייה תהיה פתוחה", "rtl"),
        (None, "Council approves tram", "ltr"),
        (None, "", "ltr"),
    ],
)
def test_direction_from_the_language_else_the_letters(
    language: str | None, text: str, expected: str
) -> None:
    assert direction(language, text) == expected


def test_derived_titles_work_in_unspaced_scripts() -> None:
    title = derive_title(article("ja")["text"], max_words=10)
    assert title.endswith("…") and article("ja")["text"].startswith(title[:-1])
    assert word_units(title[:-1]) <= 10


def test_digest_summarize_in_every_language(tmp_path: Path) -> None:
    rows = "".join(
        json.dumps({"id": a["language"], "text": a["text"]}, ensure_ascii=False) + "\n"
        for a in ARTICLES
    )
    result = CliRunner().invoke(cli, ["summarize", "--sentences", "2", "-"], input=rows)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in out] == LANGUAGES
    for row in out:
        assert row["summary"], row
        assert from_text(row["summary"], article(row["id"])["text"]), row
