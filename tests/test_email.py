"""The email itself: templates, escaping and sanitising, template errors, variants, checks."""

from __future__ import annotations

import email
import html
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
from lxml import html as lxml_html

from digest.core.errors import TemplateError
from digest.core.templating import plaintext, sanitize, template_env
from digest.editions.content import EditionContent, Section
from digest.email.checks import GMAIL_CLIP_BYTES, check_email
from digest.email.message import PreparedEdition, Recipient, compose
from digest.email.render import VariantRenderer, render_edition, variant
from digest.email.templates_admin import check_templates, copy_templates, overridden, sample_edition
from tests.conftest import NOW

BASE = "https://news.example.com"
CONTEXT = {
    "description": "Test newsletter.",
    "postal_address": "1 Sample Street",
    "sender_name": "Example",
    "base_url": BASE,
    "view_url": f"{BASE}/archive/sample/7",
}
READER = Recipient(
    3, 3, "ada@example.com", "Ada Lovelace", f"{BASE}/u/tok", f"{BASE}/preferences/p"
)


def rendered_html(content: EditionContent, env_dir: Path | None = None) -> str:
    r = render_edition(template_env(env_dir), content, CONTEXT)
    return r.html.fill(READER.slot_values(), escape=html.escape)


def test_every_block_is_there() -> None:
    doc = lxml_html.document_fromstring(rendered_html(sample_edition()))
    text = " ".join(doc.text_content().split())
    assert doc.find_class("masthead")[0].text_content() == "Sample Weekly"
    assert "No. 7 · November 23, 2026" in text
    assert "Welcome to this week's digest." in text  # the intro, sanitised HTML kept
    assert [h.text_content() for h in doc.iter("h2")] == ["Transit", "Housing"]
    assert "4 min read" in text and "Also covered by Evening Post" in text
    assert "1 Sample Street" in text and "ada@example.com" in text
    links = {a.text_content(): a.get("href") for a in doc.iter("a")}
    assert links["Unsubscribe"] == f"{BASE}/u/tok"
    assert links["Choose your topics"] == f"{BASE}/preferences/p"
    assert links["View in your browser"] == f"{BASE}/archive/sample/7"
    # The preheader is the first thing in the body, and hidden.
    pre = doc.find_class("preheader")[0]
    assert pre.text_content().startswith("Council approves the new tram line")
    assert "display:none" in pre.get("style", "")
    assert doc.get("lang") == "en"


def test_article_text_is_escaped_and_intro_is_sanitised() -> None:
    hostile = sample_edition()
    story = replace(
        hostile.sections[0].stories[0],
        headline='<img src=x onerror="alert(1)">Headline',
        summary="<script>steal()</script> & more",
    )
    hostile = replace(
        hostile,
        intro='<p onclick="x()">Hi <a href="javascript:alert(1)">there</a>'
        '<script>bad()</script><iframe src="https://evil"></iframe></p>',
        sections=[Section("transit", "Transit", [story])],
    )
    out = rendered_html(hostile)
    doc = lxml_html.document_fromstring(out)
    assert not [el.tag for el in doc.iter("script", "iframe", "img")]
    assert not [k for el in doc.iter() for k in el.attrib if k.startswith("on")]
    assert not [a for a in doc.iter("a") if "javascript" in (a.get("href") or "")]
    # What sources wrote shows as text, exactly as written.
    assert '<img src=x onerror="alert(1)">Headline' in doc.find_class("headline")[0].text_content()
    assert doc.find_class("summary")[0].text_content() == "<script>steal()</script> & more"
    assert " ".join(doc.find_class("intro")[0].text_content().split()) == "Hi there"


def test_sanitize_and_plaintext_filters() -> None:
    assert str(sanitize('<b>ok</b><a href="https://x.example/">l</a><style>x</style>')) == (
        '<b>ok</b><a href="https://x.example/" rel="noopener">l</a>'
    )
    assert plaintext("<p>Tom &amp; Jerry <b>live</b></p>") == "Tom & Jerry live"
    assert plaintext("a < b") == "a < b"


def test_text_part_has_what_the_html_has() -> None:
    r = render_edition(template_env(), sample_edition(), CONTEXT)
    text = r.text.fill(READER.slot_values())
    assert text.startswith("Sample Weekly - No. 7, November 23, 2026")
    assert "Welcome to this week's digest." in text and "<p>" not in text
    assert "Read it: https://example.org/tram" in text
    assert "Unsubscribe:\nhttps://news.example.com/u/tok" in text
    assert "Choose your topics:\nhttps://" in text
    assert all(len(line) <= 78 for line in text.splitlines())


def test_css_is_inlined_and_overrides_kept() -> None:
    out = rendered_html(sample_edition())
    doc = lxml_html.document_fromstring(out)
    assert "font-family" in doc.find_class("headline")[0].get("style", "")
    style = "".join(s.text_content() for s in doc.iter("style"))
    assert "@media only screen and (max-width: 620px)" in style
    assert "prefers-color-scheme: dark" in style
    assert "[data-ogsc]" in style  # Outlook.com's dark mode
    assert "<!--[if mso]>" in out  # Outlook's fixed-width ghost table


# --- template errors: one line naming the file, the line and the problem -----------------


def broken(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / "tpl" / "email" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return tmp_path / "tpl"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    folder = broken(tmp_path, "story.html", "{% macro story(story) %}\n<tr>\n{% if %}\n")
    with pytest.raises(TemplateError) as exc:
        rendered_html(sample_edition(), folder)
    message = exc.value.message
    assert "story.html" in message and "line 3" in message
    assert "\n" not in message


def test_undefined_name_names_file_line_and_name(tmp_path: Path) -> None:
    folder = broken(
        tmp_path,
        "digest.txt",
        "{{ edition.title }}\n{{ slot('unsubscribe_url') }}\n{{ editon.number }}\n",
    )
    with pytest.raises(TemplateError) as exc:
        render_edition(template_env(folder), sample_edition(), CONTEXT)
    message = exc.value.message
    assert str(folder / "email" / "digest.txt") in message
    assert "line 3" in message and "'editon' is undefined" in message


def test_unknown_slot_and_missing_attribute_are_template_errors(tmp_path: Path) -> None:
    folder = broken(tmp_path, "digest.txt", "ok\n{{ slot('phone') }}\n")
    with pytest.raises(TemplateError, match=r"digest\.txt, line 2: KeyError: .*unknown slot"):
        render_edition(template_env(folder), sample_edition(), CONTEXT)
    folder = broken(tmp_path, "digest.txt", "{{ edition.sections[0].stories[0].author }}\n")
    with pytest.raises(TemplateError, match=r"line 1: .*has no attribute 'author'"):
        render_edition(template_env(folder), sample_edition(), CONTEXT)


def test_missing_included_template_is_named(tmp_path: Path) -> None:
    folder = broken(tmp_path, "digest.html", '{% include "email/nosuch.html" %}')
    with pytest.raises(TemplateError, match=r"template email/nosuch\.html not found"):
        rendered_html(sample_edition(), folder)


# --- operators' templates ------------------------------------------------------------------


def test_user_templates_override_ours_by_name(tmp_path: Path) -> None:
    folder = broken(
        tmp_path,
        "story.html",
        "{% macro story(story) %}<tr><td class='story'>MINE: {{ story.headline }}</td></tr>"
        "{% endmacro %}",
    )
    out = rendered_html(sample_edition(), folder)
    assert "MINE: Council approves" in out
    assert "Sample Weekly" in out  # the rest is still ours
    assert overridden(folder) == ["email/story.html"]


def test_a_missing_templates_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"templates_dir .*nowhere is not a folder"):
        template_env(tmp_path / "nowhere")


def test_copy_then_check_templates(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    written = copy_templates(dest)
    names = sorted(str(p.relative_to(dest)) for p in written)
    assert names == [
        "email/base.html",
        "email/digest.html",
        "email/digest.txt",
        "email/story.html",
        "email/style.css",
    ]
    with pytest.raises(TemplateError, match="already exist"):
        copy_templates(dest)
    assert copy_templates(dest, force=True) == written
    assert check_templates(template_env(dest), BASE, 90) == []
    # A template that drops the unsubscribe link is caught.
    (dest / "email" / "digest.txt").write_text("{{ edition.title }}\n", encoding="utf-8")
    findings = check_templates(template_env(dest), BASE, 90)
    assert [f.message for f in findings] == ["the text part has no unsubscribe link slot"]


# --- variants: one render per set of sections ----------------------------------------------


def test_variants_render_once_per_set_of_sections() -> None:
    content = sample_edition()
    renderer = VariantRenderer(content, lambda c: render_edition(template_env(), c, CONTEXT))
    full = renderer.render(None)
    assert renderer.render(["transit", "housing", "sports"]) is full
    transit = renderer.render(["transit"])
    assert transit is not None and transit is not full
    assert renderer.render(["transit", "weather"]) is transit
    assert renderer.render(["sports"]) is None
    assert renderer.renders == 2
    only = transit.html.fill(READER.slot_values())
    assert "Council approves" in only and "Rents rise again" not in only
    assert [s.tag for s in variant(content, ["housing"]).sections] == ["housing"]


# --- checks at render time -----------------------------------------------------------------


def test_checks_pass_on_our_email() -> None:
    assert check_email(rendered_html(sample_edition()), BASE) == []


def test_size_check_names_the_stories_to_cut() -> None:
    base = sample_edition()
    story = base.sections[0].stories[0]
    many = [replace(story, headline=f"Story {i}", summary="word " * 400) for i in range(60)]
    big = replace(base, sections=[Section("transit", "Transit", many)])
    out = rendered_html(big)
    assert len(out.encode()) > GMAIL_CLIP_BYTES
    [finding] = check_email(out, BASE)
    assert finding.level == "error"
    assert "Gmail clips" in finding.message
    cut = finding.message.split("cut these stories to fit: ")[1].split("; ")
    assert cut[0] == "Story 59" and len(cut) < 60
    # Cutting them brings the email under the warning size.
    kept = [s for s in many if s.headline not in cut]
    small = rendered_html(replace(big, sections=[Section("transit", "Transit", kept)]))
    assert len(small.encode()) <= 90 * 1024
    assert check_email(small, BASE) == []


def test_link_and_image_checks() -> None:
    page = (
        "<html><body>"
        '<a href="http://insecure.example/">plain http</a>'
        '<a href="/relative">relative</a>'
        '<a href="https://ok.example/">fine</a>'
        '<a href="http://localhost:8000/u/x">ours</a>'
        '<a href="mailto:a@b.example">mail</a>'
        '<img src="https://cdn.example/logo.png" width="100" height="40" alt="Logo">'
        '<img src="http://cdn.example/p.png">'
        "</body></html>"
    )
    messages = [f.message for f in check_email(page, "http://localhost:8000")]
    assert messages == [
        "link 'plain http' goes to 'http://insecure.example/': links must be absolute https "
        "(or under base_url http://localhost:8000)",
        "link 'relative' goes to '/relative': links must be absolute https "
        "(or under base_url http://localhost:8000)",
        "image 'p.png' has no alt, width, height",
        "image 'p.png' is not loaded over absolute https",
    ]


# --- the message -----------------------------------------------------------------------------


def test_message_headers_and_parts() -> None:
    content = replace(sample_edition(), subject="Evil\r\nBcc: victim@example.com subject")
    rendered = render_edition(template_env(), content, CONTEXT)
    prepared = PreparedEdition(
        7, "sample", 7, content.subject, "Sample\nWeekly", "news@news.example.com",
        "editor@news.example.com", "Sample <sample.news.example.com>", rendered,
    )  # fmt: skip
    raw = bytes(compose(prepared, READER, NOW))
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Evil Bcc: victim@example.com subject"
    assert msg["Bcc"] is None
    assert msg["From"] == "Sample Weekly <news@news.example.com>"
    assert msg["Reply-To"] == "editor@news.example.com"
    assert msg["Message-ID"].endswith("@news.example.com>")
    assert msg["List-Id"] == "Sample <sample.news.example.com>"
    assert msg["List-Unsubscribe"] == (
        "<https://news.example.com/u/tok>, <mailto:news@news.example.com?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    test_copy = email.message_from_bytes(
        bytes(compose(replace(prepared, test=True), READER, NOW)), policy=policy.default
    )
    assert test_copy["Subject"].startswith("[TEST] ")
