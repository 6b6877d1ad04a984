"""Inlined HTML is kept by a hash of its input: a second preparation of the same edition reads
it instead of inlining again; a change in the HTML misses; a home that cannot be written still
sends (inlining every time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.core.app import App
from digest.email import render
from digest.email.inlined import cached_inline
from digest.email.prepare import prepare
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft
from digest.store.editions import EditionRow
from tests.conftest import NOW, write_article

HTML = (
    "<html><head><style>p { color: #123456 } @media (max-width: 600px) { p { margin: 0 } }"
    "</style></head><body><p>Trams approved</p></body></html>"
)


@pytest.fixture
def inlines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTML that really went through premailer."""
    seen: list[str] = []
    real = render.inline_css

    def counting(html: str) -> str:
        seen.append(html)
        return real(html)

    monkeypatch.setattr(render, "inline_css", counting)
    return seen


def test_the_same_html_is_inlined_once(tmp_path: Path, inlines: list[str]) -> None:
    first = cached_inline(HTML, tmp_path / "inlined")
    assert 'style="color:#123456"' in first and "@media" in first
    again = cached_inline(HTML, tmp_path / "inlined")
    assert again == first and len(inlines) == 1
    changed = cached_inline(HTML.replace("Trams", "Buses"), tmp_path / "inlined")
    assert "Buses approved" in changed and len(inlines) == 2
    assert len(list((tmp_path / "inlined").glob("*.html"))) == 2
    assert not list((tmp_path / "inlined").glob("*.tmp"))  # written whole, then renamed


def test_a_folder_that_cannot_be_written_still_inlines(tmp_path: Path, inlines: list[str]) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    out = cached_inline(HTML, blocked / "inlined")
    assert 'style="color:#123456"' in out
    assert cached_inline(HTML, blocked / "inlined") == out and len(inlines) == 2


@pytest.fixture
def draft(app: App, tmp_path: Path) -> EditionRow:
    write_article(tmp_path / "arts", "a.md", title="Trams approved", date="-1d",
                  tags=["transit"], body="The council approved two tram lines.")  # fmt: skip
    ingest_path(app.engine, tmp_path / "arts", NOW)
    return prepare_draft(app, "weekly", NOW)


def test_a_send_after_a_preview_does_not_inline_again(
    app: App, draft: EditionRow, inlines: list[str]
) -> None:
    first = prepare(app, draft)
    assert len(inlines) == 1
    second = prepare(app, draft)
    assert len(inlines) == 1
    assert second.rendered.html.parts == first.rendered.html.parts
    assert list((app.settings.home / "cache" / "inlined").glob("*.html"))
    assert list((app.settings.home / "cache" / "templates").iterdir())  # compiled templates
