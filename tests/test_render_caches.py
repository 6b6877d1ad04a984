"""What rendering keeps under HOME/cache, by a hash of its inputs.

Inlined HTML: the same HTML is inlined once; a change misses; a home that cannot be written
still sends (inlining every time). The rendered edition: a send after a preview or an approval
renders nothing and loads no template or CSS library; any change to the edition, the context
or a template file renders again; a damaged entry is made again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.core.app import App
from digest.core.resources import templates_dir
from digest.email import prepare as prepare_module
from digest.email import render
from digest.email.inlined import cached_inline
from digest.email.prepare import prepare
from digest.email.rendered import render_key
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft
from digest.store.editions import EditionRow
from tests.conftest import FIXTURES, NOW, write_article

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


def test_a_write_cut_short_leaves_no_half_file(
    tmp_path: Path, inlines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full_disk)
    out = cached_inline(HTML, tmp_path / "inlined")
    assert 'style="color:#123456"' in out  # the work is done, only not kept
    assert list((tmp_path / "inlined").iterdir()) == []


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


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subject of every edition that really went through the templates."""
    seen: list[str] = []
    real = prepare_module.render_edition

    def counting(env, content, context, inline):  # type: ignore[no-untyped-def]
        seen.append(content.subject)
        return real(env, content, context, inline)

    monkeypatch.setattr(prepare_module, "render_edition", counting)
    return seen


def test_a_second_preparation_reads_the_rendering_and_its_notes(
    app: App, tmp_path: Path, renders: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    # A plain-http link makes the checks say something, so the notes are kept too.
    write_article(tmp_path / "arts", "a.md", title="Trams approved", date="-1d",
                  tags=["transit"], body="The council approved two tram lines.",
                  url="http://plain.example/trams")  # fmt: skip
    ingest_path(app.engine, tmp_path / "arts", NOW)
    draft = prepare_draft(app, "weekly", NOW)
    with caplog.at_level(logging.WARNING, logger="digest.email.prepare"):
        first = prepare(app, draft)
        said = [r.getMessage() for r in caplog.records if r.name == "digest.email.prepare"]
        caplog.clear()
        second = prepare(app, draft)
        again = [r.getMessage() for r in caplog.records if r.name == "digest.email.prepare"]
    assert len(renders) == 1
    assert second.rendered == first.rendered
    assert any("plain.example" in m for m in said) and again == said
    assert len(list((app.settings.home / "cache" / "rendered").glob("*.json"))) == 1


def test_a_damaged_entry_is_made_again(app: App, draft: EditionRow, renders: list[str]) -> None:
    first = prepare(app, draft)
    [entry] = (app.settings.home / "cache" / "rendered").glob("*.json")
    entry.write_text('{"html": ["cut sho', encoding="utf-8")
    assert prepare(app, draft).rendered == first.rendered
    assert len(renders) == 2
    assert prepare(app, draft).rendered == first.rendered and len(renders) == 2


def test_the_key_covers_edition_context_and_every_template_file(
    app: App, draft: EditionRow, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    (mine / "email").mkdir(parents=True)
    (mine / "email" / "story.html").write_text("<p>{{ story.headline }}</p>")
    roots = [mine, templates_dir()]
    context = {"base_url": "https://news.example.com"}
    key = render_key(draft.content, context, roots)
    assert render_key(draft.content, dict(context), roots) == key  # same inputs, same key
    changed = draft.content.__class__.from_json({**draft.content.to_json(), "subject": "Other"})
    assert render_key(changed, context, roots) != key
    assert render_key(draft.content, {"base_url": "https://other.example"}, roots) != key
    assert render_key(draft.content, context, [templates_dir()]) != key  # no user folder
    (mine / "email" / "story.html").write_text("<p>{{ story.headline }}!</p>")
    edited = render_key(draft.content, context, roots)
    assert edited != key
    (mine / "email" / "extra.html").write_text("")
    added = render_key(draft.content, context, roots)
    assert added not in (key, edited)
    (mine / "email" / "back-up").symlink_to(mine)  # a link back up is not walked into
    assert render_key(draft.content, context, roots) == added


@pytest.mark.parametrize("rendered_by", ["preview", "approve"])
def test_a_send_after_a_preview_or_an_approval_loads_no_template_css_or_building_code(
    config_file: Path, db_url: str, tmp_path: Path, isolated: Path, rendered_by: str
) -> None:
    cfg = ["--config", str(config_file), "--database-url", db_url]
    runner = CliRunner()

    def run(*args: str) -> None:
        result = runner.invoke(cli, [*cfg, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    run("ingest", str(FIXTURES / "articles"))
    run("subscribers", "add", "a@example.com", "--list", "weekly")
    run("preview", "weekly")  # makes the draft, and renders it
    if rendered_by == "approve":
        shutil.rmtree(isolated / "cache" / "rendered")
        run("edition", "approve", "weekly")
        assert list((isolated / "cache" / "rendered").glob("*.json"))
    # A draft (auto approval) is built again from the latest articles before it goes out;
    # an approved edition goes as it is, without the modules that build one.
    building = (
        ("digest.editions.build", "digest.stories.select", "digest.core.scripts")
        if rendered_by == "approve"
        else ()
    )
    probe = (
        "import atexit, sys\n"
        f"heavy = ('jinja2', 'premailer', 'cssutils', 'lxml', 'nh3', *{building!r})\n"
        "atexit.register(lambda: print('loaded:', [m for m in heavy if m in sys.modules]))\n"
        "from digest.cli import main\n"
        f"sys.argv = ['digest', *{cfg!r}, 'send', 'weekly']\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    ).stdout
    assert "sent 1" in out, out
    assert "loaded: []" in out, out
