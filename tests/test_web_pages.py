"""The desk, the public pages and the operators' pages, through an in-process client."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from digest.core.app import App
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft, send
from digest.store import editions
from digest.store.editions import EditionRow
from digest.web.server import create_web_app
from subscribers.models import Consent, Membership, Subscriber
from subscribers.ops import unsubscribe
from subscribers.store import add_subscriber
from subscribers.views import topics_of
from tests.conftest import NOW, write_article
from tests.webkit import make_user, sign_in

XSS = "<script>alert('x')</script>"

# Three articles about different things, so story grouping keeps them apart.
BODIES = [
    "The council approved two new tram lines along the harbour. Construction starts in spring.",
    "Bus lanes on Main Street widen to speed up morning routes. Cyclists get a separate path.",
    "Four hundred homes are planned near the old mill. Rents there stay capped for ten years.",
]


@pytest.fixture
def draft(app: App, tmp_path: Path) -> EditionRow:
    """A draft of three stories, one with markup in its title, and two readers."""
    folder = tmp_path / "arts"
    for i, (title, tag) in enumerate(
        [("Trams approved", "transit"), (f"Bus lanes {XSS}", "transit"), ("New homes", "housing")]
    ):
        write_article(
            folder, f"{i}.md", title=title, date=f"-{i + 1}d", tags=[tag],
            body=BODIES[i], url=f"https://x.example/{i}",
        )  # fmt: skip
    ingest_path(app.engine, folder, NOW)
    with app.engine.begin() as conn:
        for i in range(2):
            add_subscriber(conn, f"reader{i}@example.com", "weekly", NOW, name=f"Reader {i}")
    return prepare_draft(app, "weekly", NOW)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    """An in-process client over https."""
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def _edition(app: App) -> EditionRow:
    with app.engine.connect() as conn:
        row = editions.get_edition(conn, "weekly")
    assert row is not None
    return row


def test_editor_edits_moves_approves_and_the_email_shows_it(
    app: App, client: TestClient, draft: EditionRow
) -> None:
    make_user(app, "ada", "editor", email="ada@example.com")
    csrf = sign_in(client, "ada")
    page = client.get(f"/desk/editions/{draft.id}")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    url = f"/desk/editions/{draft.id}/edit"
    first = draft.content.sections[0].stories
    assert client.post(url, data={"op": "down", "sec": 0, "idx": 0}).status_code == 403  # no CSRF
    r = client.post(url, data={"csrf": csrf, "op": "down", "sec": 0, "idx": 0})
    assert r.status_code == 200
    r = client.post(
        url,
        data={"csrf": csrf, "op": "story", "sec": 0, "idx": 1, "headline": "Edited head",
              "summary": "An editor's own summary."},
    )  # fmt: skip
    assert r.status_code == 200
    r = client.post(
        url,
        data={"csrf": csrf, "op": "meta", "subject": "Hand-made subject", "preheader": "p",
              "intro": "Hello from the desk."},
    )  # fmt: skip
    assert r.status_code == 200
    edited = _edition(app).content
    assert [s.article_ids for s in edited.sections[0].stories] == [
        first[1].article_ids,
        first[0].article_ids,
    ]
    assert edited.sections[0].stories[1].headline == "Edited head"
    preview = client.get(f"/desk/editions/{draft.id}/preview.html")
    assert (
        "An editor&#39;s own summary." in preview.text or "An editor's own summary." in preview.text
    )
    assert XSS not in preview.text
    assert "default-src 'none'" in preview.headers["content-security-policy"]
    assert "Hello from the desk." in client.get(f"/desk/editions/{draft.id}/preview.txt").text
    test = client.post(f"/desk/editions/{draft.id}/test", data={"csrf": csrf})
    assert test.status_code == 200 and "accepted" in test.text
    r = client.post(f"/desk/editions/{draft.id}/action", data={"csrf": csrf, "action": "approve"})
    assert r.status_code == 200 and _edition(app).status == "approved"
    locked = client.post(url, data={"csrf": csrf, "op": "remove", "sec": 0, "idx": 0})
    assert locked.status_code == 409
    report = send(app, "weekly", actor="test")
    assert report.counts["sent"] == 2
    emls = sorted((app.settings.outbox_dir / "weekly" / str(draft.number)).glob("*.eml"))
    sent = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in emls]
    bodies = [m.get_body(("plain",)).get_content() for m in sent]  # type: ignore[union-attr]
    assert all("An editor's own summary." in b for b in bodies)
    htmls = [m.get_body(("html",)).get_content() for m in sent]  # type: ignore[union-attr]
    assert all(XSS not in h and "&lt;script&gt;" in h for h in htmls)
    assert any(m["Subject"] == "Hand-made subject" for m in sent)
    with app.engine.connect() as conn:
        from digest.web.models import AuditEntry

        actions = conn.execute(select(AuditEntry.action)).scalars().all()
    assert {"edition.down", "edition.story", "edition.meta", "edition.approve"} <= set(actions)


def test_reopen_cancel_and_unknown_actions(app: App, client: TestClient, draft: EditionRow) -> None:
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    act = f"/desk/editions/{draft.id}/action"
    assert client.post(act, data={"csrf": csrf, "action": "start"}).status_code == 400
    assert client.post(act, data={"csrf": csrf, "action": "reopen"}).status_code == 400
    client.post(act, data={"csrf": csrf, "action": "approve"})
    client.post(act, data={"csrf": csrf, "action": "reopen"})
    assert _edition(app).status == "draft"
    client.post(act, data={"csrf": csrf, "action": "cancel"})
    assert _edition(app).status == "cancelled"
    assert client.get("/desk/editions/99999").status_code == 404


def _confirm_link(app: App) -> str:
    files = sorted((app.settings.outbox_dir / "confirm").rglob("*.eml"))
    assert files, "no confirmation email in the outbox"
    msg = email.message_from_bytes(files[-1].read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"https://news\.example\.com(/confirm/\S+)", text)
    assert match
    return match.group(1)


def _form_token(client: TestClient) -> str:
    page = client.get("/subscribe/weekly")
    match = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_reader_subscribes_confirms_chooses_topics_and_leaves(app: App, client: TestClient) -> None:
    token = _form_token(client)
    r = client.post("/subscribe/weekly", data={"form_token": token, "email": "New@Example.org"})
    assert r.status_code == 200
    link = _confirm_link(app)
    assert client.get(link).status_code == 200  # shows a button; changes nothing
    with app.engine.connect() as conn:
        status = conn.execute(select(Membership.status)).scalar_one()
    assert status == "pending"
    done = client.post(link)
    prefs = re.search(r'href="(/preferences/[^"]+)"', done.text)
    assert prefs
    with app.engine.connect() as conn:
        assert conn.execute(select(Membership.status)).scalar_one() == "active"
    client.post(prefs.group(1), data={"name": "Nia", "topics:weekly": ["housing"]})
    with app.engine.connect() as conn:
        sub_id, name = conn.execute(select(Subscriber.id, Subscriber.name)).one()
        assert topics_of(conn, sub_id, "weekly") == ["housing"] and name == "Nia"
        # The sign-up and the confirmation each left a consent record.
        assert [c.method for c in conn.execute(select(Consent.method).order_by(Consent.id))] == [
            "form",
            "confirm",
        ]
    client.post(prefs.group(1), data={"action": "leave:weekly"})
    with app.engine.connect() as conn:
        assert conn.execute(select(Membership.status)).scalar_one() == "unsubscribed"


def test_subscribe_needs_form_token_and_honeypot_catches_bots(app: App, client: TestClient) -> None:
    assert client.post("/subscribe/weekly", data={"email": "a@example.org"}).status_code == 403
    token = _form_token(client)
    client.post(
        "/subscribe/weekly",
        data={"form_token": token, "email": "bot@example.org", "website": "spam"},
    )
    with app.engine.connect() as conn:
        assert conn.execute(select(Subscriber.id)).first() is None
    bad = client.post("/subscribe/weekly", data={"form_token": token, "email": "not an address"})
    assert bad.status_code == 400
    assert client.get("/subscribe/nope").status_code == 404


def test_thousand_subscribe_requests_for_one_address_send_three_emails(
    app: App, client: TestClient
) -> None:
    # Raise the per-client limit so that only the per-address limit is tried here.
    web = client.app.state.web  # type: ignore[attr-defined]
    web.subscribe_by_ip.limit = 10_000
    token = _form_token(client)
    codes = [
        client.post(
            "/subscribe/weekly", data={"form_token": token, "email": "victim@example.org"}
        ).status_code
        for _ in range(1000)
    ]
    assert set(codes) == {200}
    assert len(list((app.settings.outbox_dir / "confirm").rglob("*.eml"))) == 3
    with app.engine.connect() as conn:
        assert conn.execute(select(Membership.status)).scalars().all() == ["pending"]


def test_per_ip_limit(app: App, client: TestClient) -> None:
    token = _form_token(client)
    codes = [
        client.post(
            "/subscribe/weekly", data={"form_token": token, "email": f"p{i}@example.org"}
        ).status_code
        for i in range(31)
    ]
    assert codes[:30] == [200] * 30 and codes[30] == 429


def test_archive_and_atom_list_only_sent_editions(
    app: App, client: TestClient, draft: EditionRow
) -> None:
    assert client.get(f"/archive/weekly/{draft.number}").status_code == 404  # not sent yet
    from digest.editions.lifecycle import transition

    with app.engine.begin() as conn:
        transition(conn, draft.id, "approve", "t", NOW)
    send(app, "weekly", actor="test")
    page = client.get(f"/archive/weekly/{draft.number}")
    assert page.status_code == 200 and "Trams approved" in page.text and XSS not in page.text
    feed = client.get("/archive/weekly/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    from lxml import etree

    root = etree.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    links = root.xpath("//a:entry/a:link/@href", namespaces=ns)
    assert links == [f"https://news.example.com/archive/weekly/{draft.number}"]
    assert "#1" in client.get("/archive/weekly").text


def test_operator_pages(app: App, client: TestClient, draft: EditionRow) -> None:
    make_user(app, "otto", "operator")
    csrf = sign_in(client, "otto")
    found = client.get("/ops", params={"q": "reader1"})
    match = re.search(r'href="/ops/subscribers/(\d+)"', found.text)
    assert match and "reader1@example.com" in found.text
    sub_id = int(match.group(1))
    with app.engine.begin() as conn:
        unsubscribe(conn, sub_id, "weekly", source="one-click", now=NOW + timedelta(days=1))
    page = client.get(f"/ops/subscribers/{sub_id}").text
    history = page.split('class="history"')[1].split("</table>")[0]
    # The history keeps both statuses, oldest first, with where each came from.
    assert history.index("active") < history.index("unsubscribed") and "one-click" in history
    assert "consent records" in page
    csv_text = client.get("/ops/export/weekly.csv").text
    assert csv_text.splitlines()[0].startswith("email,name,status,status_changed_at,")
    assert len(csv_text.splitlines()) == 3
    with app.engine.begin() as conn:  # a name that a spreadsheet would run as a formula
        conn.execute(update(Subscriber).values(name="=HYPERLINK(1)"))
    assert ",'=HYPERLINK(1)," in client.get("/ops/export/weekly.csv").text
    upload = b"email,name\nok@example.org,Ok\nnot-an-address,Bad\n"
    r = client.post(
        "/ops/import",
        data={"csrf": csrf, "list": "weekly"},
        files={"file": ("people.csv", upload, "text/csv")},
    )
    assert r.status_code == 200 and "Added 1" in r.text and "<td>3</td>" in r.text
    topics = b'email,topics\nai@example.org,"ai, transit"\n'
    r = client.post(
        "/ops/import",
        data={"csrf": csrf, "list": "weekly"},
        files={"file": ("topics.csv", topics, "text/csv")},
    )
    assert "Added 1" in r.text and "unknown topic ignored: ai (its other topics kept)" in r.text
    assert (
        client.post(
            "/ops/import", data={"list": "weekly"}, files={"file": ("a.csv", upload)}
        ).status_code
        == 403
    )
    assert client.get("/ops/suppression").status_code == 200
    assert "imported a CSV into" in client.get("/ops/audit").text


def test_every_refusal_is_a_clear_4xx(app: App, client: TestClient, draft: EditionRow) -> None:
    assert client.get("/archive/nope").status_code == 404
    assert client.get("/archive/weekly/99").status_code == 404
    assert client.get("/confirm/not-a-token").status_code == 400
    assert client.post("/confirm/not-a-token").status_code == 400
    assert client.get("/preferences/not-a-token").status_code == 400
    assert client.post("/preferences/not-a-token", data={}).status_code == 400
    make_user(app, "ada", "editor")  # no email address: no test sends
    csrf = sign_in(client, "ada")
    url = f"/desk/editions/{draft.id}/edit"
    assert (
        client.post(url, data={"csrf": csrf, "op": "explode", "sec": 0, "idx": 0}).status_code
        == 400
    )
    assert client.post(url, data={"csrf": csrf, "op": "up"}).status_code == 400
    assert (
        client.post(url, data={"csrf": csrf, "op": "up", "sec": "a", "idx": 0}).status_code == 400
    )
    gone = client.post(url, data={"csrf": csrf, "op": "up", "sec": 0, "idx": 99})
    assert gone.status_code == 400 and "reload the page" in gone.text
    blank = client.post(url, data={"csrf": csrf, "op": "meta", "subject": "  "})
    assert blank.status_code == 400
    test = client.post(f"/desk/editions/{draft.id}/test", data={"csrf": csrf})
    assert test.status_code == 400
    assert client.get(f"/desk/editions/{draft.id}/preview.html").status_code == 200
    client.cookies.clear()
    assert (
        client.get(f"/desk/editions/{draft.id}/preview.html", follow_redirects=False).status_code
        == 303
    )
    assert (
        client.post(
            url,
            data={"csrf": csrf, "op": "up", "sec": 0, "idx": 0},
            headers={"accept": "application/json"},
        ).status_code
        == 401
    )


def test_a_suppressed_address_gets_the_same_answer_and_no_email(
    app: App, client: TestClient
) -> None:
    from subscribers.suppression import suppress

    with app.engine.begin() as conn:
        suppress(conn, "gone@example.org", reason="hard bounce", source="test", now=NOW)
    token = _form_token(client)
    ok = client.post("/subscribe/weekly", data={"form_token": token, "email": "fresh@example.org"})
    r = client.post("/subscribe/weekly", data={"form_token": token, "email": "Gone@Example.org"})
    assert r.status_code == 200 and r.text == ok.text.replace(
        "fresh@example.org", "Gone@Example.org"
    )
    with app.engine.connect() as conn:
        members = conn.execute(select(Subscriber.email).join(Membership)).scalars().all()
    assert members == ["fresh@example.org"]
    confirmations = list((app.settings.outbox_dir / "confirm").rglob("*.eml"))
    assert len(confirmations) == 1
    page = client.get("/ops/suppression", follow_redirects=False)
    assert page.status_code in (303, 401, 403)  # operators only


def test_desk_edits_survive_the_scheduler_and_a_rebuild_keeps_them(
    app: App, client: TestClient, draft: EditionRow, tmp_path: Path
) -> None:
    make_user(app, "ada", "editor", email="ada@example.com")
    csrf = sign_in(client, "ada")
    url = f"/desk/editions/{draft.id}/edit"
    story = draft.content.sections[0].stories[0]
    form = {"csrf": csrf, "op": "story", "sec": 0, "idx": 0, "headline": "Desk headline",
            "summary": "Rewritten on the desk."}  # fmt: skip
    assert client.post(url, data=form).status_code == 200
    # A new article arrives; the scheduler's draft job (or `digest preview`) runs again.
    write_article(
        tmp_path / "late", "late.md", title="Ferry timetable changes", date="-1h",
        tags=["transit"], body="The ferry adds an evening crossing from May. Fares stay the same.",
        url="https://x.example/late",
    )  # fmt: skip
    ingest_path(app.engine, tmp_path / "late", NOW)
    kept = prepare_draft(app, "weekly", NOW)
    assert kept.content.edited and "Ferry timetable changes" not in str(kept.content.to_json())
    assert kept.content.stories[0].headline == "Desk headline"
    # The editor asks for a rebuild: the new article comes in, the rewritten story stays.
    r = client.post(f"/desk/editions/{draft.id}/action", data={"csrf": csrf, "action": "rebuild"})
    assert r.status_code == 200
    rebuilt = _edition(app).content
    headlines = {s.headline for s in rebuilt.stories}
    assert "Ferry timetable changes" in headlines and "Desk headline" in headlines
    [edited] = [s for s in rebuilt.stories if s.headline == "Desk headline"]
    assert edited.article_ids == story.article_ids and edited.summary == "Rewritten on the desk."
    assert not rebuilt.edited


def test_archive_page_marks_each_story_with_its_language(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    """From a Markdown file's `language:` to the archived page's lang and dir (issue 18)."""
    from lxml import html as lxml_html

    from digest.editions.lifecycle import transition

    folder = tmp_path / "langs"
    folder.mkdir()
    (folder / "he.md").write_text(
        '---\ntitle: "הספרייה תהיה פתוחה בימי ראשון"\ndate: "-1d"\ntags: [transit]\n'
        'url: "https://he.example/1"\nlanguage: he\n---\n'
        "הספרייה המרכזית תאריך את שעות הפתיחה שלה החל מהחודש הבא. "
        "לדברי המנהלת, ההחלטה התקבלה לאחר סקר של שלושת אלפים תושבים.\n",
        encoding="utf-8",
    )
    write_article(
        folder, "en.md", title="Trams approved", date="-2d", tags=["transit"],
        body=BODIES[0], url="https://x.example/en",
    )  # fmt: skip
    ingest_path(app.engine, folder, NOW)
    with app.engine.begin() as conn:
        add_subscriber(conn, "reader@example.com", "weekly", NOW, name="Reader")
    draft = prepare_draft(app, "weekly", NOW)
    with app.engine.begin() as conn:
        transition(conn, draft.id, "approve", "t", NOW)
    send(app, "weekly", actor="test")
    page = lxml_html.document_fromstring(client.get(f"/archive/weekly/{draft.number}").text)
    cells = {c.find_class("headline")[0].text_content(): c for c in page.find_class("story")}
    hebrew = cells["הספרייה תהיה פתוחה בימי ראשון"]
    assert hebrew.get("dir") == "rtl" and hebrew.find_class("headline")[0].get("lang") == "he"
    assert hebrew.find_class("summary")[0].text_content().startswith("הספרייה המרכזית")
    english = cells["Trams approved"]
    assert english.get("dir") == "ltr" and english.find_class("headline")[0].get("lang") is None
