"""The pure steps: select, summarise, build the edition, render, personalise, compose."""

from __future__ import annotations

import email
import html
from dataclasses import replace
from datetime import timedelta
from email import policy

from lxml import html as lxml_html

from digest.core.sentences import split_sentences
from digest.core.templating import template_env
from digest.editions.build import build_edition, preheader
from digest.editions.content import EditionContent
from digest.email.message import PreparedEdition, Recipient, clean_header, compose
from digest.email.render import render_edition
from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord
from digest.stories.select import History, select_articles
from digest.stories.summarize import lead_summary
from tests.conftest import NOW

NL = NewsletterSettings(title="Weekly", tags=["transit", "housing"], window_days=7, max_stories=3)


def art(
    i: int, days: float, tags: tuple[str, ...], title: str = "", text: str = ""
) -> ArticleRecord:
    return ArticleRecord(
        id=i,
        title=title or f"Story {i}",
        text=text or f"Sentence one of {i}. Sentence two. Three.",
        url=f"https://x.example/{i}",
        author=None,
        source="Src",
        word_count=300,
        published_at=NOW - timedelta(days=days),
        tags=tags,
    )


def test_select_window_tags_and_history() -> None:
    pool = [
        art(1, 1, ("transit",)),
        art(2, 8, ("transit",)),  # outside the window
        art(3, 2, ("sports",)),  # not the newsletter's tag
        art(4, 3, ("housing",)),
        art(5, 0.5, ("housing",)),  # already sent
        art(6, 4, ("transit",)),
        art(7, 5, ("housing",)),
        art(8, -1, ("transit",)),  # in the future
    ]
    chosen = select_articles(pool, NL, NOW, History(carried=frozenset({5})))
    # max_stories caps stories after grouping (tests/test_stories.py), not articles here.
    assert [a.id for a in chosen] == [1, 4, 6, 7]


def test_select_is_deterministic_on_ties() -> None:
    pool = [art(9, 1, ("transit",)), art(3, 1, ("transit",))]
    assert [a.id for a in select_articles(pool, NL, NOW)] == [3, 9]


def test_sentences_survive_abbreviations_and_decimals() -> None:
    text = "Dr. Reyes said the U.S. budget grew 4.2 percent. It was a surprise! Was it? Yes."
    assert split_sentences(text) == [
        "Dr. Reyes said the U.S. budget grew 4.2 percent.",
        "It was a surprise!",
        "Was it?",
        "Yes.",
    ]


def test_lead_summary_stops_on_a_sentence_boundary() -> None:
    text = "One two three. Four five six seven. Eight nine."
    assert lead_summary(text, sentences=2) == "One two three. Four five six seven."
    assert lead_summary(text, sentences=3, max_words=8) == "One two three. Four five six seven."
    assert lead_summary("") == ""


def test_build_edition_sections_follow_tag_order() -> None:
    arts = [art(1, 1, ("housing",), "Homes"), art(2, 2, ("transit", "housing"), "Trams")]
    ed = build_edition("weekly", NL, arts, number=4, now=NOW)
    assert [s.tag for s in ed.sections] == ["transit", "housing"]
    assert [s.title for s in ed.sections] == ["Transit", "Housing"]
    assert ed.subject == "Weekly #4: Trams"
    assert ed.preheader == "Also: Homes"  # the subject already names Trams
    assert ed.article_ids == [2, 1]
    assert EditionContent.from_json(ed.to_json()) == ed


def test_preheader_counts_the_rest() -> None:
    stories = build_edition(
        "w", NL, [art(i, 1, ("transit",), "x" * 60) for i in range(3)], 1, NOW
    ).stories
    assert preheader(stories, limit=100).endswith("and 2 more stories")


def _prepared(content: EditionContent) -> PreparedEdition:
    rendered = render_edition(
        template_env(),
        content,
        {
            "description": "Why you get it.",
            "postal_address": "1 Street",
            "sender_name": "Sender",
            "base_url": "https://news.example.com",
            "view_url": "https://news.example.com/archive/w/1",
        },
    )
    return PreparedEdition(
        edition_id=1,
        newsletter="weekly",
        number=1,
        subject=content.subject,
        from_name="Weekly",
        from_email="weekly@news.example.com",
        reply_to=None,
        list_id="Weekly <weekly.news.example.com>",
        rendered=rendered,
    )


def test_render_inlines_css_once_and_keeps_media_rules() -> None:
    content = build_edition("weekly", NL, [art(1, 1, ("transit",), "Trams")], 1, NOW)
    prepared = _prepared(content)
    raw = "".join(prepared.rendered.html.parts)
    doc = lxml_html.fromstring(raw)
    headline = (
        doc.cssselect("h3.headline")[0] if hasattr(doc, "cssselect") else doc.xpath("//h3")[0]
    )
    assert "font-family" in (headline.get("style") or "")
    assert "@media only screen and (max-width: 620px)" in raw
    assert "prefers-color-scheme: dark" in raw
    assert "!important" in raw
    assert prepared.rendered.html.slots == {
        "first_name",
        "email",
        "unsubscribe_url",
        "preferences_url",
    }


def test_article_text_is_escaped_and_names_are_escaped_in_slots() -> None:
    evil = art(1, 1, ("transit",), "<script>alert(1)</script> & co", "<b>bold</b> claim. Two.")
    prepared = _prepared(build_edition("weekly", NL, [evil], 1, NOW))
    recipient = Recipient(7, 7, "a@example.com", '<img src=x onerror="y">', "https://n.example/u/t")
    msg = compose(prepared, recipient, NOW)
    body = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in body and html.escape("<script>") in body
    assert "<b>bold</b>" not in body
    assert "<img src=x" not in body
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>alert(1)</script> & co" in text  # the text part is not HTML


def test_message_structure_and_list_headers() -> None:
    prepared = _prepared(build_edition("weekly", NL, [art(1, 1, ("transit",), "Trams")], 1, NOW))
    recipient = Recipient(3, 9, "ann@example.com", "Ann Lee", "https://news.example.com/u/TOKEN")
    raw = bytes(compose(prepared, recipient, NOW))
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    head, body = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # RFC 2045 quoted-printable
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322
    assert b"=?utf-8?" not in head  # nothing encoded that need not be
    parts = [p.get_content_type() for p in msg.iter_parts()]  # type: ignore[attr-defined]
    assert parts == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == (
        "<https://news.example.com/u/TOKEN>, <mailto:weekly@news.example.com?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"].endswith("@news.example.com>")
    assert msg["Date"] and msg["List-Id"] == "Weekly <weekly.news.example.com>"
    assert "Hi Ann," in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'href="https://news.example.com/u/TOKEN"' in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_header_injection_is_impossible() -> None:
    assert clean_header("Hello\r\nBcc: victim@example.com") == "Hello Bcc: victim@example.com"
    content = build_edition("weekly", NL, [art(1, 1, ("transit",), "Trams")], 1, NOW)
    prepared = replace(_prepared(content), subject="Hi\r\nBcc: x@example.com")
    recipient = Recipient(1, 1, "a@example.com", "Eve\nBcc: y@example.com", "https://n.example/u/t")
    raw = bytes(compose(prepared, recipient, NOW))
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]
