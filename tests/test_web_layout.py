"""Every page in real Chromium at a phone's width (390 px) and a desktop's: no sideways scroll,
and no serious or critical accessibility violation (axe-core). Screenshots in .screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.core.app import App
from digest.editions.lifecycle import transition
from digest.pipeline import send
from subscribers.ops import find_subscriber
from tests.conftest import NOW
from tests.test_web_browser import live  # noqa: F401  (the fixture: a served app with a draft)
from tests.webkit import PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / ".screenshots" / "layout"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe is missing")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
WIDTHS = (390, 1280)
BLOCKING = ("serious", "critical")


@pytest.fixture
def browser(live: tuple[App, str]) -> Iterator[sync_api.Browser]:  # noqa: F811
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _pages(app: App) -> dict[str, tuple[str, list[str]]]:
    """Every page: (who must be signed in, paths)."""
    from digest.store import editions

    with app.engine.begin() as conn:
        draft = editions.get_edition(conn, "weekly")
        assert draft is not None
        transition(conn, draft.id, "approve", "t", NOW)
    send(app, "weekly", actor="layout-test")
    with app.engine.connect() as conn:
        sub_id = find_subscriber(conn, "reader@example.com") or 0
    prefs = app.signer.preferences_token(sub_id, "weekly")
    unsub = app.signer.unsubscribe_token(sub_id, "weekly", draft.id)
    confirm = app.signer.confirm_token(sub_id, "weekly")
    return {
        "": [
            "/archive", "/archive/weekly", "/archive/weekly/1", "/subscribe/weekly",
            "/manage/weekly", f"/preferences/{prefs}", f"/u/{unsub}", f"/confirm/{confirm}",
            "/login",
        ],
        "ada": ["/desk", f"/desk/editions/{draft.id}", f"/desk/editions/{draft.id}/confirm/cancel"],
        "otto": [
            "/ops", "/ops?q=reader", f"/ops/subscribers/{sub_id}", "/ops/suppression",
            "/ops/audit",
        ],
    }  # fmt: skip


def _sign_in(page: sync_api.Page, base: str, who: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_every_page_fits_a_phone_and_passes_axe(
    live: tuple[App, str],  # noqa: F811
    browser: sync_api.Browser,
) -> None:
    app, base = live
    make_user(app, "ada", "editor", email="ada@example.com")
    make_user(app, "otto", "operator")
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = axe_sync.Axe()
    problems: list[str] = []
    for who, paths in _pages(app).items():
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 860})
            page = context.new_page()
            errors: list[str] = []

            def console(m: sync_api.ConsoleMessage, seen: list[str] = errors) -> None:
                if m.type == "error":
                    seen.append(m.text)

            page.on("console", console)
            if who:
                _sign_in(page, base, who)
            for path in paths:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                name = (who or "public") + path.replace("/", "_").split("?")[0][:60]
                page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{path} at {width} px is {scroll} px wide")
                if width == WIDTHS[0]:
                    result = axe.run(page)
                    for v in result.response["violations"]:
                        if v["impact"] in BLOCKING:
                            targets = [n["target"] for n in v["nodes"]][:3]
                            problems.append(f"{path}: axe {v['impact']} {v['id']}: {targets}")
            problems += [f"{who or 'public'} pages: console error {e}" for e in errors]
            context.close()
    assert not problems, "\n".join(problems)
