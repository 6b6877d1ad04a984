"""Ingesting folders of Markdown and text: parsing, deduplication, and bad files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.core.app import App
from digest.core.errors import IngestError
from digest.core.models import Article
from digest.ingest.files import markdown_to_text, parse_markdown_file, parse_text_file
from digest.ingest.folder import article_files
from digest.ingest.records import ParsedArticle, derive_title, parse_date
from digest.ingest.service import ingest_path
from digest.store.articles import articles_since
from tests.conftest import NOW, write_article


def test_markdown_file_fields(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: 'Tram &amp; bus'\ndate: '-2d'\ntags: [Transit, ' Housing ']\n"
        "url: https://x.example/a\nauthor: Ann Lee\n---\n"
        "First *paragraph* here.\n\n- item one\n- item two\n\nLast   paragraph.\n"
    )
    art = parse_markdown_file(path, "src", NOW)
    assert art.title == "Tram & bus"
    assert art.published == NOW - timedelta(days=2)
    assert art.tags == ("transit", "housing")
    assert art.url == art.guid == "https://x.example/a"
    assert art.author == "Ann Lee"
    assert art.text == "First paragraph here.\n\nitem one\n\nitem two\n\nLast paragraph."
    assert art.word_count == 9


def test_text_file_first_line_is_title(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("A headline\n\nBody sentence one. Body two.\n")
    art = parse_text_file(path, "src")
    assert art.title == "A headline"
    assert art.text == "Body sentence one. Body two."
    assert art.guid == f"file:{path.resolve()}"


def test_title_derived_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(
        "This is a single long paragraph that goes on and on past twenty words so it "
        "cannot be a headline at all, clearly. And more."
    )
    art = parse_text_file(path, "src")
    assert art.title.startswith("This is a single long paragraph")
    assert derive_title("") == "Untitled"


@pytest.mark.parametrize("value", ["-3d", "-5h", "-30m", "2026-11-20", "2026-11-20T08:30:00+01:00"])
def test_dates(value: str) -> None:
    assert parse_date(value, NOW).tzinfo is not None


def test_bad_date_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="-3d"):
        parse_date("last tuesday", NOW)


def test_markdown_to_text_drops_markup() -> None:
    assert (
        markdown_to_text("# Head\n\nSome `code` and [a link](http://x).")
        == "Head\n\nSome code and a link."
    )


def test_broken_front_matter_names_file_and_line_and_keeps_the_rest(
    app: App, tmp_path: Path
) -> None:
    folder = tmp_path / "arts"
    write_article(folder, "good.md", title="Good", date="-1d", tags=["transit"], body="Fine text.")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\ndate: -1d\n---\nBody\n")
    report = ingest_path(app.engine, folder, NOW)
    assert report.counts["new"] == 1
    assert len(report.errors) == 1
    assert "bad.md" in report.errors[0] and "line" in report.errors[0]


def test_non_utf8_and_dangling_files_are_reported(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "arts"
    write_article(folder, "good.md", title="Good", date="-1d", tags=["transit"], body="Fine text.")
    (folder / "latin1.txt").write_bytes("Caf\xe9 news\n\nBody".encode("latin-1"))
    (folder / "gone.md").symlink_to(tmp_path / "missing.md")
    report = ingest_path(app.engine, folder, NOW)
    assert report.counts["new"] == 1
    joined = "\n".join(report.errors)
    assert "latin1.txt: not UTF-8" in joined
    assert "gone.md: cannot be read" in joined


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="no articles found"):
        article_files(tmp_path / "empty")


def test_unknown_front_matter_key(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: A\ntgas: [x]\n---\nBody.\n")
    with pytest.raises(IngestError, match="tgas"):
        parse_markdown_file(path, "s", NOW)


def _count(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Article)).scalar_one())


def test_reingest_is_idempotent_and_failures_lose_nothing(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "arts"
    write_article(
        folder,
        "a.md",
        title="A",
        date="-1d",
        tags=["transit"],
        body="Alpha text.",
        url="https://x.example/a",
    )
    write_article(folder, "b.md", title="B", date="-1d", tags=["housing"], body="Beta text.")
    first = ingest_path(app.engine, folder, NOW)
    assert first.counts["new"] == 2
    again = ingest_path(app.engine, folder, NOW)
    assert again.counts["unchanged"] == 2 and again.counts["new"] == 0
    # A later run with a broken file stores nothing wrong and removes nothing.
    (folder / "c.md").write_text("---\ntitle: [\n---\n")
    ingest_path(app.engine, folder, NOW)
    assert _count(app) == 2


def test_same_text_under_another_url_is_a_duplicate(app: App, tmp_path: Path) -> None:
    write_article(
        tmp_path / "one",
        "a.md",
        title="A",
        date="-1d",
        tags=["transit"],
        body="The same story text.",
        url="https://one.example/a",
    )
    write_article(
        tmp_path / "two",
        "a.md",
        title="A copy",
        date="-1d",
        tags=["transit"],
        body="The same  story text!",
        url="https://two.example/a",
    )
    ingest_path(app.engine, tmp_path / "one", NOW)
    report = ingest_path(app.engine, tmp_path / "two", NOW)
    assert report.counts["duplicate"] == 1
    assert _count(app) == 1


def test_changed_article_is_updated_in_place(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "arts"
    write_article(
        folder,
        "a.md",
        title="A",
        date="-1d",
        tags=["transit"],
        body="Old text.",
        url="https://x.example/a",
    )
    ingest_path(app.engine, folder, NOW)
    write_article(
        folder,
        "a.md",
        title="A, corrected",
        date="-1d",
        tags=["housing"],
        body="New text.",
        url="https://x.example/a",
    )
    report = ingest_path(app.engine, folder, NOW)
    assert report.counts["updated"] == 1
    with app.engine.connect() as conn:
        [art] = articles_since(conn, NOW - timedelta(days=3))
    assert (art.title, art.text, art.tags) == ("A, corrected", "New text.", ("housing",))


def test_undated_article_gets_first_seen_time(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "arts"
    folder.mkdir()
    (folder / "t.txt").write_text("Title\n\nBody.\n")
    ingest_path(app.engine, folder, NOW, tags=("transit",))
    with app.engine.connect() as conn:
        row = conn.execute(select(Article.published_at, Article.published_guessed)).one()
    assert row.published_at == NOW and row.published_guessed is True


def test_batch_save_matches_one_by_one(app: App) -> None:
    from digest.ingest.records import make_article
    from digest.store.articles import save_article, save_articles

    def art(guid: str, text: str, title: str = "T", tags: tuple[str, ...] = ()) -> ParsedArticle:
        return make_article(guid=guid, title=title, text=text, source="s", tags=tags)

    first = [art("a", "alpha text here"), art("b", "beta text here", tags=("x",))]
    second = [
        art("a", "alpha text here"),  # unchanged
        art("b", "beta text changed", tags=("y",)),  # updated in place
        art("c", "Alpha  TEXT here!"),  # same words as a: a duplicate
        art("d", "delta text"),  # new
        art("d", "delta text"),  # repeated within the batch: unchanged
        art("e", "delta text"),  # same text as d, new in this batch: a duplicate
        art("c", "alpha text here"),  # an alias seen again: still a duplicate
        art("f", "fresh text"),  # new
    ]
    with app.engine.begin() as conn:
        save_articles(conn, first, NOW)
        outcomes = [str(o) for o in save_articles(conn, second, NOW)]
    assert outcomes == [
        "unchanged", "updated", "duplicate", "new", "unchanged", "duplicate", "duplicate", "new",
    ]  # fmt: skip
    with app.engine.begin() as conn:
        stored = conn.execute(select(Article.guid)).scalars().all()
        assert sorted(stored) == ["a", "b", "d", "f"]
        assert save_article(conn, art("e", "delta text"), NOW) == "duplicate"
    with app.engine.connect() as conn:
        [b] = [
            a for a in articles_since(conn, NOW - timedelta(days=1)) if a.text.startswith("beta")
        ]
    assert b.tags == ("y",) and b.text == "beta text changed"


def test_near_identical_copy_is_linked_not_stored(app: App) -> None:
    from digest.core.models import ArticleAlias
    from digest.ingest.records import make_article
    from digest.store.articles import save_articles

    body = " ".join(
        f"Sentence {i} tells the reader one more fact about the tram line." for i in range(30)
    )
    original = make_article(
        guid="https://a.example/1", title="Tram line opens", text=body, source="a"
    )
    copy = make_article(
        guid="https://b.example/9", title="Tram line opens", source="b",
        text=body + "\n\nThis story first appeared on a.example.",
    )  # fmt: skip
    other = make_article(
        guid="https://c.example/2", title="Tram line opens", source="c",
        text="A different report: the opening was delayed by a week because of a signal fault.",
    )  # fmt: skip
    with app.engine.begin() as conn:
        assert [str(o) for o in save_articles(conn, [original], NOW)] == ["new"]
        assert [str(o) for o in save_articles(conn, [copy, other], NOW)] == ["duplicate", "new"]
        alias = conn.execute(select(ArticleAlias.guid, ArticleAlias.url)).one()
    assert alias == ("https://b.example/9", None)
