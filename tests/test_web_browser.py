"""Real Chromium against a real server: an editor's whole job, and a reader's.

Screenshots go to .screenshots/ at the top of the repository, for a person to look at.
"""

from __future__ import annotations

import email
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from digest.core.app import App, create_app
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from digest.settings.loading import load_settings
from digest.web.server import create_web_app
from subscribers.models import Membership
from subscribers.store import add_subscriber
from tests.conftest import NOW, ROOT, write_article
from tests.webkit import PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / ".screenshots"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)

# Three articles about different things, so story grouping keeps them apart.
BODIES = [
    "The council approved two new tram lines along the harbour. Construction starts in spring.",
    "Bus lanes on Main Street widen to speed up morning routes. Cyclists get a separate path.",
    "Four hundred homes are planned near the old mill. Rents there stay capped for ten years.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, config_file: Path) -> Iterator[tuple[App, str]]:
    """The web app served by uvicorn on loopback, with a draft of three stories."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        config_file,
        overrides={"database_url": f"sqlite:///{tmp_path / 'web.db'}", "base_url": base},
    )
    app = create_app(settings, clock=lambda: NOW)
    folder = tmp_path / "arts"
    for i, (title, tag) in enumerate(
        [("Trams approved", "transit"), ("Bus lanes widen", "transit"), ("New homes", "housing")]
    ):
        write_article(
            folder, f"{i}.md", title=title, date=f"-{i + 1}d", tags=[tag],
            body=BODIES[i], url=f"https://x.example/{i}",
        )  # fmt: skip
    ingest_path(app.engine, folder, NOW)
    with app.engine.begin() as conn:
        add_subscriber(conn, "reader@example.com", "weekly", NOW, name="Reader")
    prepare_draft(app, "weekly", NOW)
    server = uvicorn.Server(
        uvicorn.Config(create_web_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield app, base
    server.should_exit = True
    thread.join(timeout=10)
    app.close()


@pytest.fixture
def page(live: tuple[App, str]) -> Iterator[sync_api.Page]:
    """A Chromium page."""
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 1200, "height": 900})
        browser.close()


def _desk_sign_in(page: sync_api.Page, base: str, name: str) -> None:
    """Sign in on the desk's login form, as an editor does."""
    page.goto(f"{base}/desk")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/desk")


def test_editor_moves_a_story_edits_a_summary_and_approves(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    app, base = live
    make_user(app, "ada", "editor", email="ada@example.com")
    _desk_sign_in(page, base, "ada")
    page.screenshot(path=str(SHOTS / "desk.png"), full_page=True)
    page.click("table a >> nth=0")
    headlines = page.locator(".story .headline").all_inner_texts()
    assert headlines[:2] == ["Trams approved", "Bus lanes widen"]
    page.locator(".story").nth(0).get_by_role("button", name="Down").click()
    assert page.locator(".story .headline").all_inner_texts()[:2] == [
        "Bus lanes widen",
        "Trams approved",
    ]
    story = page.locator(".story").nth(0)
    story.locator("details.edit > summary").click()
    story.locator("textarea[name=summary]").fill("Buses get their own lanes, says the editor.")
    story.get_by_role("button", name="Save story").click()
    page.wait_for_load_state()
    assert "says the editor" in page.locator(".story .summary").first.inner_text()
    page.screenshot(path=str(SHOTS / "edition-editor.png"), full_page=True)
    phone = page.frame_locator("iframe[title=phone]")
    assert "says the editor" in phone.locator("body").inner_text()
    page.locator("iframe[title=phone]").screenshot(path=str(SHOTS / "preview-phone.png"))
    # On a wide screen the phone and desktop previews sit side by side.
    phone_box = page.locator("iframe[title=phone]").bounding_box()
    desktop_box = page.locator("iframe[title=desktop]").bounding_box()
    assert phone_box and desktop_box and phone_box["y"] == desktop_box["y"]
    assert desktop_box["x"] >= phone_box["x"] + phone_box["width"]
    page.get_by_role("button", name="Approve").click()
    assert page.locator("#status").inner_text() == "approved"
    page.screenshot(path=str(SHOTS / "edition-approved.png"), full_page=True)
    report = send(app, "weekly", actor="browser-test")
    assert report.counts["sent"] == 1
    eml = next((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Buses get their own lanes, says the editor." in text
    assert text.index("Bus lanes widen") < text.index("Trams approved")


def test_reader_subscribes_confirms_changes_topics_and_leaves(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    app, base = live
    page.goto(f"{base}/subscribe/weekly")
    page.fill("input[name=email]", "nia@example.org")
    # A form post is a navigation: read the page it leads to, not the one being left.
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "Check your inbox" in page.content()
    confirm = next((app.settings.outbox_dir / "confirm").rglob("*.eml"))
    msg = email.message_from_bytes(confirm.read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"(http://127\.0\.0\.1:\d+/confirm/\S+)", text)
    assert match
    page.goto(match.group(1))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="Choose your topics").click()
    assert page.is_checked("input[value=transit]") and page.is_checked("input[value=housing]")
    page.uncheck("input[value=transit]")
    page.screenshot(path=str(SHOTS / "preferences.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Save my choices").click()
    assert page.get_by_role("status").inner_text() == "Your choices are saved."
    assert not page.is_checked("input[value=transit]")
    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe from Example Weekly").click()
    with app.engine.connect() as conn:
        statuses = conn.execute(select(Membership.status)).scalars().all()
    assert sorted(statuses) == ["active", "unsubscribed"]  # the seeded reader, and Nia
    page.screenshot(path=str(SHOTS / "preferences-left.png"), full_page=True)


def test_reader_follows_choose_your_topics_from_an_edition_and_the_next_one_obeys(
    live: tuple[App, str], page: sync_api.Page, tmp_path: Path
) -> None:
    """From a received .eml to the preferences page and back into the next edition."""
    app, _ = live
    from digest.editions.lifecycle import transition
    from digest.store import editions

    with app.engine.begin() as conn:
        first = editions.get_edition(conn, "weekly")
        assert first is not None
        transition(conn, first.id, "approve", "t", NOW)
    send(app, "weekly", actor="browser-test")
    eml = next((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = re.search(r'href="([^"]+)"[^>]*>Choose your topics</a>', html)
    assert link and "/preferences/" in link.group(1)
    page.goto(link.group(1))
    assert page.is_checked("input[value=transit]") and page.is_checked("input[value=housing]")
    assert "You get every topic" in page.inner_text("main")
    page.uncheck("input[value=transit]")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my choices").click()
    page.screenshot(path=str(SHOTS / "preferences-from-email.png"), full_page=True)
    later = NOW + timedelta(days=7)
    app.clock = lambda: later
    folder = tmp_path / "week2"
    for name, tag in [("tram", "transit"), ("homes", "housing")]:
        write_article(
            folder, f"{name}.md", title=f"{name} week two", date="-1d", tags=[tag],
            body=f"A second week of {tag} news from the {name} desk.", url=f"https://x.example/{name}2",
        )  # fmt: skip
    ingest_path(app.engine, folder, later)
    second = prepare_draft(app, "weekly", later)
    with app.engine.begin() as conn:
        transition(conn, second.id, "approve", "t", later)
    send(app, "weekly", actor="browser-test")
    eml = next((app.settings.outbox_dir / "weekly" / str(second.number)).glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "https://x.example/homes2" in html and "https://x.example/tram2" not in html


def test_editor_builds_approves_sends_now_and_watches_it_go(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    """From the desk alone: build a draft, approve it, send now (confirmed), see it sent."""
    app, base = live
    from digest.editions.lifecycle import transition
    from digest.store import editions
    from digest.web import sending

    with app.engine.begin() as conn:  # start from a desk with no open edition
        fixture_draft = editions.get_edition(conn, "weekly")
        assert fixture_draft is not None
        transition(conn, fixture_draft.id, "cancel", "t", NOW)
    make_user(app, "ada", "editor", email="ada@example.com")
    page.goto(f"{base}/desk")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    with page.expect_navigation():
        page.get_by_role("button", name="Build a draft now").click()
    assert page.locator("#status").inner_text() == "draft"
    assert page.locator(".inbox-subject").inner_text().startswith("Example Weekly #2")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    assert "nothing sends it by itself" in page.locator("#when").inner_text()
    page.get_by_role("link", name="Send now…").click()
    page.screenshot(path=str(SHOTS / "confirm-send.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, send it now").click()
    sending.wait("weekly", timeout=60)
    page.reload()
    assert page.locator("#status").inner_text() == "sent"
    assert "1 of 1 readers done (100%)" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "edition-sent.png"), full_page=True)


def test_operator_suppresses_then_erases_a_reader(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    app, base = live
    make_user(app, "otto", "operator")
    page.goto(f"{base}/ops")
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.fill("input[name=q]", "reader@")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert "weekly: active" in page.inner_text("table")
    page.get_by_role("link", name="reader@example.com").click()
    page.fill("#reason", "asked by phone")
    with page.expect_navigation():
        page.get_by_role("button", name="Suppress: never mail this address").click()
    assert "suppressed" in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Remove from the suppression list").is_visible()
    page.fill("#confirm", "reader@example.com")
    with page.expect_navigation():
        page.get_by_role("button", name="Erase for good").click()
    assert "Erased" in page.inner_text("h1")
    page.goto(f"{base}/ops/audit")
    audit = page.inner_text("table")
    assert "not suppressed → suppressed (asked by phone)" in audit and "erased" in audit


def test_keyboard_only_reader_saves_with_enter_and_never_unsubscribes_by_it(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    app, base = live
    from subscribers.ops import find_subscriber

    with app.engine.connect() as conn:
        sub_id = find_subscriber(conn, "reader@example.com") or 0
    page.goto(f"{base}/preferences/{app.signer.preferences_token(sub_id, 'weekly')}")
    page.keyboard.press("Tab")  # the first focusable thing is the site header's link
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "name":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.type(" Keys")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("status").inner_text() == "Your choices are saved."
    with app.engine.connect() as conn:
        statuses = conn.execute(select(Membership.status)).scalars().all()
    assert statuses == ["active"]


def _story(page: sync_api.Page, headline: str) -> sync_api.Locator:
    """The story block with this headline, its list of articles opened (other blocks name it
    in their merge menus, so it is found by its headline)."""
    story = page.locator(".story").filter(has=page.locator(".headline", has_text=headline))
    story.locator("details.members-list > summary").click()
    return story


def test_editor_merges_two_stories_then_splits_one_out_again(
    live: tuple[App, str], page: sync_api.Page
) -> None:
    app, base = live
    make_user(app, "ada", "editor")
    _desk_sign_in(page, base, "ada")
    page.click("table a >> nth=0")
    edition_url = page.url
    homes = _story(page, "New homes")
    homes.locator("select[name=into]").select_option(label="Trams approved")
    homes.get_by_role("button", name="Merge").click()
    assert "joined the story of article" in page.locator("main").inner_text()
    page.goto(edition_url)
    assert page.locator(".story .headline").count() == 2
    trams = _story(page, "Trams approved")
    assert "2 articles in this story" in trams.inner_text()
    # On a phone the story's controls fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "edition-merged-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1200, "height": 900})
    member = trams.locator("li", has_text="New homes")
    member.get_by_role("button", name="Split out").click()
    assert "is now a story of its own" in page.locator("main").inner_text()
    page.goto(edition_url)
    assert page.locator(".story .headline").count() == 3
    homes = _story(page, "New homes")
    homes.get_by_role("button", name="Let grouping decide").click()
    assert "grouping places article" in page.locator("main").inner_text().lower()
