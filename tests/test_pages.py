"""Article pages: the article kept, site chrome and active content gone; from files and HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from digest.core.app import App
from digest.core.models import Article
from digest.ingest.chrome import clean_paragraphs, is_chrome_line
from digest.ingest.pages import extract_page
from digest.ingest.service import ingest_path
from digest.settings import IngestSettings
from tests.conftest import FIXTURES, NOW
from tests.localserver import Answer, serve

PAGES = FIXTURES / "pages"
CHROME = (
    "Skip to content", "Related posts", "Ferry fares frozen", "Leave a Reply",
    "will not be published", "Powered by", "All rights reserved", "About us", "»",
)  # fmt: skip
ACTIVE = ("tracker", "tracking", "injected words", "font-family", "video.example", "pixel")


def test_page_keeps_article_and_drops_chrome() -> None:
    art = extract_page((PAGES / "chrome.html").read_bytes(), "chrome.html", "gazette")
    assert art.title == "Harbour tunnel opens a year early"
    assert art.url == art.guid == "https://gazette.example/2026/11/harbour-tunnel"
    assert art.author == "Nina Roth"
    assert art.published == datetime(2026, 11, 19, tzinfo=UTC)
    assert art.tags == ("transit",)
    assert art.language == "en"
    assert art.text.startswith("The road tunnel under the harbour opened")
    assert art.text.endswith("built before the lorries arrive.")
    assert len(art.text.split("\n\n")) == 4
    for junk in CHROME + ACTIVE:
        assert junk not in art.text, junk


def test_page_without_title_gets_one_from_its_text() -> None:
    art = extract_page((PAGES / "untitled.html").read_bytes(), "untitled.html", "birds")
    assert art.title.startswith("Volunteers counted the swifts")
    assert "nesting boxes" in art.text


def test_chrome_rules_are_general() -> None:
    assert is_chrome_line("Skip to main content")
    assert is_chrome_line("Home » World » Europe")
    assert is_chrome_line("hero_image_final")
    assert is_chrome_line("Powered by example.com")
    assert not is_chrome_line("What happened next?")
    assert not is_chrome_line("The mayor said the plan would cost 40 million.")
    bio = "Ann writes about cities for the blog and lives by the sea with two cats."
    body = "Body sentence one is long enough to be prose here."
    lines = ["Title here", body, "Ann Lee", "Ann Lee", bio, "Leave a Reply"]
    kept = clean_paragraphs(lines, title="Title here")
    assert kept == [body]


def test_page_over_http_and_from_a_folder_idempotent(app: App, tmp_path: Path) -> None:
    settings = IngestSettings(allow_private=True, politeness_delay=0)
    with serve() as srv:
        srv.routes = {"/story": Answer((PAGES / "chrome.html").read_bytes())}
        first = ingest_path(app.engine, f"{srv.url}/story", NOW, ingest=settings)
        again = ingest_path(app.engine, f"{srv.url}/story", NOW, ingest=settings)
    assert first.ok and first.counts["new"] == 1
    assert again.counts["new"] == 0 and again.counts["unchanged"] == 1
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "untitled.html").write_bytes((PAGES / "untitled.html").read_bytes())
    (folder / "copy.html").write_bytes((PAGES / "chrome.html").read_bytes())
    report = ingest_path(app.engine, folder, NOW)
    assert report.ok
    assert report.counts["new"] == 1 and report.counts["unchanged"] == 1  # same canonical URL
    with app.engine.connect() as conn:
        texts = conn.execute(select(Article.text)).scalars().all()
    assert len(texts) == 2
    assert not any(junk in t for t in texts for junk in ACTIVE)


def test_declared_charset_is_honoured() -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>Caf\xe9 prices</title></head><body>'
        "<article><p>" + "The caf\xe9 on the square raised its prices \u2013 again. " * 8 + "</p>"
        "</article></body></html>"
    ).encode("cp1252")
    art = extract_page(page, "cafe.html", "cp")
    assert "café on the square raised its prices – again" in art.text


def test_http_charset_header_wins() -> None:
    from digest.ingest.pages import decode_html

    raw = "<html><head><meta charset='utf-8'></head><body>caf\xe9</body></html>".encode("latin-1")
    assert "café" in decode_html(raw, "text/html; charset=ISO-8859-1")
