"""The multilingual edition as mail: lang and dir per story, the text part, subject and preheader.

The edition is tests/multilingual.py's: 20 stories in ten languages, with a 300-character URL,
an 83-character compound word, emoji and markup in titles.
"""

from __future__ import annotations

import email
import re
from dataclasses import replace
from datetime import UTC, datetime
from email import policy

import pytest
from lxml import html as lxml_html

from digest.core.sentences import split_sentences
from digest.core.templating import template_env
from digest.core.textpart import html_to_text, labelled, wrap
from digest.email.message import PreparedEdition, Recipient, compose
from digest.email.render import VariantRenderer, render_edition, variant
from tests import multilingual

READER = Recipient(
    delivery_id=1, subscriber_id=1, email="ada@example.com", name="Ada Lovelace",
    unsubscribe_url="https://news.portalder.example/u/" + "t" * 90,
    preferences_url="https://news.portalder.example/p/" + "t" * 90,
)  # fmt: skip
INTRO = (
    "<p>This week the council <a href='https://news.portalder.example/council'>voted</a> on "
    "the tram, and the harbour had its highest tide in fifty years.</p>"
    "<p>Twenty stories follow, in ten languages.</p>"
)


@pytest.fixture(scope="module")
def content():  # type: ignore[no-untyped-def]
    return replace(multilingual.edition(), intro=INTRO)


def rendered(content):  # type: ignore[no-untyped-def]
    r = render_edition(template_env(), content, multilingual.CONTEXT)
    return r.html.fill(READER.slot_values()), r.text.fill(READER.slot_values())


def test_every_story_carries_its_language_and_direction(content) -> None:  # type: ignore[no-untyped-def]
    html, _ = rendered(content)
    doc = lxml_html.document_fromstring(html)
    cells = doc.find_class("story")
    assert len(cells) == 20
    by_headline = {s.headline: s for s in content.stories}
    for cell in cells:
        headline = cell.find_class("headline")[0]
        story = by_headline[headline.text_content()]
        expected_dir = "rtl" if story.lang in ("ar", "he") else "ltr"
        assert cell.get("dir") == expected_dir, story.headline
        assert cell.get("align") == ("right" if expected_dir == "rtl" else "left")
        assert ("text-align:right" in cell.get("style")) == (expected_dir == "rtl")
        if story.lang:
            assert headline.get("lang") == story.lang
            for summary in cell.find_class("summary"):
                assert summary.get("lang") == story.lang
        else:  # unknown: the email's own language applies, never a false one
            assert headline.get("lang") is None
    # The document itself says what the newsletter's language is.
    assert doc.get("lang") == "en" and doc.get("dir") == "ltr"


def test_every_summary_is_the_articles_own_text(content) -> None:  # type: ignore[no-untyped-def]
    texts = {a.title: a.text for a in multilingual.articles()}
    for story in content.stories:
        assert story.summary, story.headline
        for piece in split_sentences(story.summary):
            assert piece.rstrip("…") in texts[story.headline], (story.headline, piece)


def test_long_words_break_in_inline_styles_alone(content) -> None:  # type: ignore[no-untyped-def]
    """What keeps the layout when a client drops the <style> block: the inline rules."""
    html, _ = rendered(content)
    doc = lxml_html.document_fromstring(html)
    container = doc.find_class("container")[0]
    assert "table-layout:fixed" in container.get("style").replace(" ", "")
    for cls in ("headline", "summary", "footer", "intro"):
        for el in doc.find_class(cls):
            style = el.get("style").replace(" ", "")
            assert "word-break:break-word" in style and "overflow-wrap:anywhere" in style, cls
            if "line-height" in style:
                assert "mso-line-height-rule:exactly" in style, cls


def test_footer_names_the_sender_once_and_links_are_tap_sized(content) -> None:  # type: ignore[no-untyped-def]
    html, text = rendered(content)
    doc = lxml_html.document_fromstring(html)
    address = doc.find_class("address")[0].text_content()
    assert address == "Port Alder Weekly, 12 Quay Street, Port Alder"
    assert text.count("Port Alder Weekly, 12 Quay Street") == 1
    assert "Port Alder Weekly, Port Alder Weekly" not in text
    links = doc.find_class("footer-link")
    assert [a.text_content() for a in links] == [
        "Unsubscribe", "Choose your topics", "View in your browser",
    ]  # fmt: skip
    for a in links:
        style = a.get("style").replace(" ", "")
        assert "display:inline-block" in style and "padding:12px8px" in style
        assert "white-space:nowrap" in style


def _urls(text: str) -> list[str]:
    return re.findall(r"(?:https?|mailto):[^\s<>\"']+", text)


def test_the_text_part_holds_every_link_whole(content) -> None:  # type: ignore[no-untyped-def]
    html, text = rendered(content)
    doc = lxml_html.document_fromstring(html)
    hrefs = {a.get("href") for a in doc.iter("a") if a.get("href")}
    words = set(text.split())
    missing = [h for h in hrefs if h not in words]
    assert not missing, missing
    assert multilingual.LONG_URL in words  # the URL in a summary, whole
    for line in text.splitlines():
        if len(line) > 78:
            assert re.fullmatch(r"(?:\[\d+\] |[\w ]+: )?(?:https?|mailto):\S+", line), line
    # The intro keeps its paragraphs and lists its link after them.
    assert "fifty years.\n\nTwenty stories follow" in text
    assert "voted [1] on" in text
    assert "[1] https://news.portalder.example/council" in text


def test_the_text_part_separates_headline_and_summary(content) -> None:  # type: ignore[no-untyped-def]
    _, text = rendered(content)
    story = content.stories[0]
    assert f"{story.headline}\n\n{story.summary[:20]}" in text
    # A headline-only item shows its headline once, not again as its summary.
    assert text.count("Harbour board meets on Thursday") == 1


def test_wrap_never_splits_words_or_urls() -> None:
    prose = " ".join(["tram"] * 40) + " " + multilingual.LONG_URL + " end"
    lines = wrap(prose).splitlines()
    assert multilingual.LONG_URL in lines
    assert all(len(line) <= 76 for line in lines if line != multilingual.LONG_URL)
    assert wrap("one\n\n\ntwo") == "one\n\ntwo"
    chinese = "港口阿尔德市交通局本周开放了实时公交数据接口" * 8
    assert all(len(line) <= 76 for line in wrap(chinese).splitlines())
    assert "".join(wrap(chinese).splitlines()) == chinese
    assert labelled("https://x.example/a", "Read it:") == "Read it: https://x.example/a"
    assert labelled(multilingual.LONG_URL, "Read it:") == f"Read it:\n{multilingual.LONG_URL}"
    assert html_to_text("<ul><li>one</li><li>two <a href='https://a.example'>x</a></li></ul>") == (
        "- one\n\n- two x [1]\n\n[1] https://a.example"
    )


def test_the_preheader_adds_to_the_subject(content) -> None:  # type: ignore[no-untyped-def]
    top = min(content.stories, key=lambda s: s.rank)
    assert top.headline in content.subject
    assert top.headline not in content.preheader
    assert content.preheader.startswith("Also: ")


def test_each_variant_names_a_story_it_carries(content) -> None:  # type: ignore[no-untyped-def]
    top = min(content.stories, key=lambda s: s.rank)
    others = [s.tag for s in content.sections if top not in s.stories]
    copy = variant(content, others)
    carried = [s.headline for s in copy.stories]
    assert top.headline not in copy.subject
    assert any(h in copy.subject for h in carried)
    assert not any(h in copy.preheader for h in carried if h in copy.subject)
    renderer = VariantRenderer(
        content, lambda c: render_edition(template_env(), c, multilingual.CONTEXT)
    )
    assert renderer.subject(others) == copy.subject
    assert renderer.subject(None) == content.subject


def test_a_non_ascii_subject_is_folded_into_short_encoded_words(content) -> None:  # type: ignore[no-untyped-def]
    r = render_edition(template_env(), content, multilingual.CONTEXT)
    prepared = PreparedEdition(
        edition_id=1, newsletter="weekly", number=3, subject=content.subject,
        from_name="Port Alder Weekly", from_email="weekly@news.portalder.example",
        reply_to=None, list_id="Port Alder Weekly <weekly.news.portalder.example>", rendered=r,
    )  # fmt: skip
    raw = compose(prepared, READER, datetime(2026, 11, 23, tzinfo=UTC)).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject_lines = re.search(r"^Subject:.*?(?=\r\n\S)", head, re.S | re.M).group().split("\r\n")  # type: ignore[union-attr]
    assert len(subject_lines) > 1
    assert all(len(line) <= 78 for line in subject_lines)
    assert all(len(w) <= 75 for w in re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", head))
    # List-Unsubscribe keeps its long URL on one line, readable by mailbox providers.
    assert f"<{READER.unsubscribe_url}>" in head
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == content.subject
