"""The demo edition in real headless Chromium: phone and desktop widths, light and dark.

Needs Debian's `chromium` and the `playwright` package (no browser download: Playwright drives
/usr/bin/chromium). Screenshots go to tests/out/screenshots/ for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.demo import DemoResult, run_demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "out" / "screenshots"
WIDTHS = (375, 700, 800)

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev install has it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (dev extra)"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
    ),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo run once: its preview folder holds the edition as the sample reader gets it."""
    return run_demo(tmp_path_factory.mktemp("demo") / "home")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_email(browser: Browser, html: str, width: int, scheme: str) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[arg-type]
    page.set_content(html, wait_until="load")
    return page


# Elements whose box ends past the viewport's right edge, or whose text is cut off inside a
# box that hides overflow: either means a reader cannot see part of the email.
OVERFLOW_JS = """() => {
  const w = window.innerWidth, bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.preheader')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const style = getComputedStyle(el);
    const clips = ['hidden', 'clip'].includes(style.overflowX);
    if (r.right > w + 0.5 || (clips && el.scrollWidth > el.clientWidth + 1)) {
      bad.push(el.tagName + '.' + el.className + ' right=' + Math.round(r.right));
    }
  }
  return bad;
}"""

CONTRAST_JS = """(selector) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const el = document.querySelector(selector);
  let bg = el, back = 'rgba(0, 0, 0, 0)';
  while (bg && (back = getComputedStyle(bg).backgroundColor) === 'rgba(0, 0, 0, 0)') {
    bg = bg.parentElement;
  }
  const [a, b] = [lum(getComputedStyle(el).color), lum(back)];
  return {color: getComputedStyle(el).color, background: back,
          ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_screenshots(
    demo: DemoResult, browser: Browser, width: int, scheme: str
) -> None:
    html = demo.preview.html.read_text(encoding="utf-8")
    page = open_email(browser, html, width, scheme)
    try:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"email is {scroll}px wide at a {width}px viewport"
        assert page.evaluate(OVERFLOW_JS) == []
        # The preheader is for the inbox list only: nothing of it shows in the body.
        box = page.locator(".preheader").bounding_box()
        assert box is None or box["height"] <= 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"email-{width}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_phone_layout_uses_the_full_width(demo: DemoResult, browser: Browser) -> None:
    page = open_email(browser, demo.preview.html.read_text(encoding="utf-8"), 375, "light")
    try:
        container = page.locator("table.container").bounding_box()
        assert container is not None and container["width"] == pytest.approx(375, abs=1)
        padding = page.evaluate("getComputedStyle(document.querySelector('.story')).paddingLeft")
        assert padding == "18px"  # the narrow-screen rule won over the inlined 32px
    finally:
        page.close()


@pytest.mark.parametrize(
    ("scheme", "background"), [("light", "rgb(255, 255, 255)"), ("dark", "rgb(27, 30, 34)")]
)
def test_colour_schemes_and_contrast(
    demo: DemoResult, browser: Browser, scheme: str, background: str
) -> None:
    page = open_email(browser, demo.preview.html.read_text(encoding="utf-8"), 700, scheme)
    try:
        bg = page.evaluate("getComputedStyle(document.querySelector('.container')).backgroundColor")
        assert bg == background
        # WCAG AA: 4.5:1 for body text, in both schemes (the dark overrides must beat inline).
        for selector in (".summary", ".headline a", ".meta", ".footer", ".section-title"):
            result: dict[str, Any] = page.evaluate(CONTRAST_JS, selector)
            assert result["ratio"] >= 4.5, f"{selector} in {scheme}: {result}"
    finally:
        page.close()


def test_links_and_images_are_usable(demo: DemoResult, browser: Browser) -> None:
    from digest.core.app import create_app
    from digest.core.resources import examples_dir
    from digest.settings.loading import load_settings

    page = open_email(browser, demo.preview.html.read_text(encoding="utf-8"), 700, "light")
    try:
        assert page.evaluate("document.querySelectorAll('img:not([alt])').length") == 0
        hrefs: list[str] = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
        texts: list[str] = page.eval_on_selector_all("a", "els => els.map(e => e.innerText)")
        assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
        assert all(t.strip() for t in texts), "every link has visible text"
        # The footer's unsubscribe link carries a token the app accepts.
        unsubscribe = page.get_by_role("link", name="Unsubscribe").get_attribute("href")
        assert unsubscribe is not None
        settings = load_settings(
            examples_dir() / "demo.toml", env={}, overrides={"home": str(demo.home)}
        )
        app = create_app(settings)
        token = unsubscribe.rsplit("/u/", 1)[1]
        assert app.signer.read_unsubscribe(token)[1] == "weekly"
        # Headings give screen-reader users the outline: one h1, a h2 per section.
        assert page.locator("h1").count() == 1
        assert page.locator("h2").count() == len(demo.send.edition.content.sections)
        assert page.locator("[role=article][aria-label]").count() == 1
    finally:
        page.close()


def test_preview_page_shows_both_widths(demo: DemoResult, browser: Browser) -> None:
    assert demo.preview.index is not None
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(demo.preview.index.resolve().as_uri(), wait_until="load")
        frames = page.locator("iframe.email")
        assert frames.count() == 2
        widths = [frames.nth(i).bounding_box()["width"] for i in range(2)]  # type: ignore[index]
        assert widths == [pytest.approx(377, abs=2), pytest.approx(702, abs=2)]
        masthead = page.frame_locator("iframe.email").first.locator("h1.masthead")
        assert masthead.inner_text() == demo.send.edition.content.title
        assert "Unsubscribe:" in page.locator("pre").inner_text()
        assert page.locator("table.headers").get_by_text("List-Unsubscribe-Post").count() == 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "preview-page.png"), full_page=False)
    finally:
        page.close()


def test_a_wide_image_in_an_operator_template_shrinks_on_phones(
    browser: Browser, tmp_path: Path
) -> None:
    import html as htmllib

    from digest.core.templating import template_env
    from digest.email.checks import check_email
    from digest.email.message import Recipient
    from digest.email.render import render_edition
    from digest.email.templates_admin import sample_edition

    story = tmp_path / "mine" / "email" / "story.html"
    story.parent.mkdir(parents=True)
    story.write_text(
        '{% macro story(story) %}<tr><td class="story">'
        '<img src="https://cdn.example/wide.png" width="600" height="200" alt="A wide picture"'
        ' style="display:block;width:100%;">'
        '<h3 class="headline">{{ story.headline }}</h3></td></tr>{% endmacro %}',
        encoding="utf-8",
    )
    base = "https://news.example.com"
    context = {"sender_name": "S", "base_url": base, "view_url": f"{base}/archive/s/7"}
    rendered = render_edition(template_env(tmp_path / "mine"), sample_edition(), context)
    reader = Recipient(1, 1, "a@example.com", "A", f"{base}/u/t")
    html = rendered.html.fill(reader.slot_values(), escape=htmllib.escape)
    assert check_email(html, base) == []
    page = open_email(browser, html, 375, "light")
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate(OVERFLOW_JS) == []
        img = page.locator("img").first
        assert img.get_attribute("alt") == "A wide picture"
        box = img.bounding_box()
        assert box is not None and box["width"] <= 375 - 2 * 18
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "operator-image-375.png"), full_page=True)
    finally:
        page.close()
