"""The 20-story multilingual edition in real headless Chromium: phone and desktop, light and
dark, with and without the <style> block (Gmail's apps drop it for non-Gmail accounts).

Screenshots go to tests/out/screenshots/email-multilingual-*.png for a person to look at.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from digest.core.sentences import split_sentences
from digest.core.templating import template_env
from digest.email.message import Recipient
from digest.email.render import render_edition
from tests import multilingual
from tests.test_chromium import OVERFLOW_JS, SHOTS, open_email, pytestmark  # noqa: F401
from tests.test_chromium import browser as browser

READER = Recipient(
    1, 1, "a.very.long.address.for.testing.wrapping@subdomain.portalder.example", "Ada",
    "https://news.portalder.example/u/" + "t" * 120,
    "https://news.portalder.example/p/" + "t" * 120,
)  # fmt: skip
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.S | re.I)

STORY_FACTS_JS = """() => [...document.querySelectorAll('td.story')].map((td) => {
  const h = td.querySelector('.headline'), s = td.querySelector('.summary');
  return {dir: td.getAttribute('dir'), computedDir: getComputedStyle(h).direction,
          align: getComputedStyle(h).textAlign, lang: h.getAttribute('lang'),
          headline: h.innerText, summary: s ? s.innerText : '',
          summaryLang: s ? s.getAttribute('lang') : null};
})"""


@pytest.fixture(scope="module")
def emails() -> dict[str, str]:
    content = replace(
        multilingual.edition(), intro=f"<p>Data: <a href='{multilingual.LONG_URL}'>tides</a></p>"
    )
    r = render_edition(template_env(), content, multilingual.CONTEXT)
    full = r.html.fill(READER.slot_values())
    return {"style": full, "nostyle": _STYLE.sub("", full)}


@pytest.mark.parametrize("styles", ["style", "nostyle"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 700])
def test_no_horizontal_scroll_in_any_script(
    emails: dict[str, str],
    browser,
    width: int,
    scheme: str,
    styles: str,  # type: ignore[no-untyped-def]
) -> None:
    page = open_email(browser, emails[styles], width, scheme)
    try:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{styles}: email is {scroll}px wide at a {width}px viewport"
        assert page.evaluate(OVERFLOW_JS) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"email-multilingual-{width}-{scheme}-{styles}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


@pytest.mark.parametrize("styles", ["style", "nostyle"])
def test_each_story_reads_in_its_language_and_direction(
    emails: dict[str, str],
    browser,
    styles: str,  # type: ignore[no-untyped-def]
) -> None:
    page = open_email(browser, emails[styles], 375, "light")
    articles = {a.title: a for a in multilingual.articles()}
    try:
        facts = page.evaluate(STORY_FACTS_JS)
        assert len(facts) == 20
        for fact in facts:
            art = articles[fact["headline"]]
            rtl = art.language in ("ar", "he")
            assert fact["dir"] == fact["computedDir"] == ("rtl" if rtl else "ltr"), fact
            assert fact["align"] == ("right" if rtl else "left"), fact
            assert fact["lang"] == art.language, fact
            if art.text != art.title:  # a headline-only item has nothing more to say
                assert fact["summary"], fact
                assert fact["summaryLang"] == art.language, fact
                for piece in split_sentences(fact["summary"]):
                    assert piece.rstrip("…") in art.text, (fact["headline"], piece)
    finally:
        page.close()


@pytest.mark.parametrize("styles", ["style", "nostyle"])
def test_footer_links_are_tap_targets(emails: dict[str, str], browser, styles: str) -> None:  # type: ignore[no-untyped-def]
    page = open_email(browser, emails[styles], 375, "light")
    try:
        boxes = page.eval_on_selector_all(
            ".footer-link", "els => els.map(e => e.getBoundingClientRect().toJSON())"
        )
        assert len(boxes) == 3
        for box in boxes:
            assert box["height"] >= 44, box
            assert box["right"] <= 375, box
        # Each link stays whole on one line (a wrapped link is two small targets).
        lines = page.eval_on_selector_all(
            ".footer-link", "els => els.map(e => e.getClientRects().length)"
        )
        assert lines == [1, 1, 1]
    finally:
        page.close()
