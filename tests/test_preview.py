"""The editor's preview, test sends and template commands, through the CLI and the library."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from sqlalchemy import func, select

from digest.cli import cli
from digest.core.app import App
from digest.core.models import Delivery
from digest.email.preview import preview_edition
from digest.ingest.service import ingest_path
from digest.pipeline import find_edition, send, send_test_copy
from subscribers.store import add_subscriber
from tests.conftest import FIXTURES, NOW

runner = CliRunner()


@pytest.fixture
def cfg(config_file: Path, db_url: str) -> list[str]:
    return ["--config", str(config_file), "--database-url", db_url]


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def ready(cfg: list[str]) -> list[str]:
    """Articles in, one subscriber on the list."""
    code, out = invoke(*cfg, "ingest", str(FIXTURES / "articles"))
    assert code == 0, out
    people = Path("people.csv")
    people.write_text("email,name\nann@example.com,Ann Reader\n", encoding="utf-8")
    code, out = invoke(*cfg, "subscribers", "import", str(people), "--list", "weekly")
    assert code == 0, out
    return cfg


def test_preview_writes_the_page_and_files(ready: list[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "pv"
    code, out = invoke(*ready, "preview", "weekly", "--out", str(out_dir))
    assert code == 0, out
    assert "page: " in out and "index.html" in out
    page = lxml_html.document_fromstring((out_dir / "index.html").read_text(encoding="utf-8"))
    frames = page.find_class("email")
    assert [f.get("width") for f in frames] == ["375", "700"]
    # The frames hold the email itself (escaped into srcdoc), for the sample reader.
    inner = lxml_html.document_fromstring(frames[0].get("srcdoc"))
    assert inner.find_class("masthead")[0].text_content() == "Example Weekly"
    assert "Hi Sample," in inner.text_content()
    assert "Unsubscribe:\nhttps://news.example.com/u/" in page.find(".//pre").text_content()
    headers = {th.text_content(): th.getnext().text_content() for th in page.iter("th")}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["To"] == "Sample Reader <reader@example.com>"
    assert "No problems found" in page.text_content()
    for name in ("weekly-1.html", "weekly-1.txt", "weekly-1.eml"):
        assert (out_dir / name).stat().st_size > 0


def test_preview_as_a_subscriber_and_a_past_edition(ready: list[str], tmp_path: Path) -> None:
    code, out = invoke(*ready, "send", "weekly")
    assert code == 0, out
    code, out = invoke(
        *ready, "preview", "weekly", "--edition", "1", "--subscriber", "ANN@example.com",
        "--out", str(tmp_path / "pv"),
    )  # fmt: skip
    assert code == 0, out
    msg = email.message_from_bytes(
        (tmp_path / "pv" / "weekly-1.eml").read_bytes(), policy=policy.default
    )
    assert msg["To"] == "Ann Reader <ann@example.com>"
    assert "Hi Ann," in (tmp_path / "pv" / "weekly-1.txt").read_text(encoding="utf-8")

    code, out = invoke(*ready, "preview", "weekly", "--edition", "9")
    assert code == 1 and "error: weekly has no edition 9" in out
    code, out = invoke(
        *ready, "preview", "weekly", "--edition", "1", "--subscriber", "nobody@example.com"
    )
    assert code == 1 and "error: no subscriber with address nobody@example.com" in out


def test_test_send_goes_through_the_provider_and_is_not_a_delivery(
    ready: list[str], app: App
) -> None:
    code, out = invoke(*ready, "test-send", "weekly", "--to", "Editor@Example.com")
    assert code == 0, out
    assert "test copy sent to Editor@Example.com via outbox" in out
    [eml] = (app.settings.outbox_dir / "weekly" / "1" / "tests").glob("test-*.eml")
    assert not list((app.settings.outbox_dir / "weekly" / "1").glob("*.eml"))  # readers' files
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[TEST] Example Weekly #1")
    assert msg["To"] == "Editor@example.com"  # the domain normalised, the local part kept
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Delivery)).scalar_one() == 0
    code, out = invoke(*ready, "test-send", "weekly", "--to", "not an address")
    assert code == 1 and "error:" in out


def test_library_preview_for_the_web_app(app: App) -> None:
    ingest_path(app.engine, FIXTURES / "articles", NOW)
    with app.engine.begin() as conn:
        add_subscriber(conn, "zoe@example.com", "weekly", NOW, name="Zoe")
    edition = find_edition(app, "weekly", None, NOW)
    shown = preview_edition(app, edition, NOW, subscriber="zoe@example.com")
    assert "Hi Zoe," in shown.text and "Hi Zoe," in shown.html
    assert shown.subject == edition.content.subject
    assert ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click") in shown.headers
    assert shown.findings == []
    result = send_test_copy(app, "weekly", "me@example.com", NOW, number=edition.number)
    assert result.provider_id and Path(result.provider_id).name.startswith("test-")
    assert Path(result.provider_id).parent.name == "tests"
    report = send(app, "weekly")
    assert report.counts == {"sent": 1}  # the test copy did not take anyone's place


def test_templates_copy_and_check_commands(cfg: list[str], tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    code, out = invoke("templates", "copy", str(dest))
    assert code == 0 and "email/style.css" in out and "templates_dir" in out
    code, out = invoke("templates", "copy", str(dest))
    assert code == 1 and "already exist" in out and "--force" in out

    mine = [*cfg, "--set", f"templates_dir={dest}"]
    code, out = invoke(*mine, "templates", "check")
    assert code == 0, out
    assert "your templates replace: email/base.html, email/digest.html" in out
    assert "templates render without problems" in out

    (dest / "email" / "story.html").write_text(
        "{% macro story(story) %}\n<tr><td>\n{{ story.headline | nosuchfilter }}\n"
        "</td></tr>\n{% endmacro %}\n",
        encoding="utf-8",
    )
    code, out = invoke(*mine, "templates", "check")
    assert code == 1
    [line] = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert f"{dest / 'email' / 'story.html'}, line 3: No filter named 'nosuchfilter'" in line
    assert "Traceback" not in out


def test_findings_show_in_preview_and_are_logged_at_send(
    db_url: str, config_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from digest.core.app import create_app
    from digest.settings.loading import load_settings

    story = tmp_path / "mine" / "email" / "story.html"
    story.parent.mkdir(parents=True)
    story.write_text(
        '{% macro story(story) %}<tr><td class="story"><a href="http://plain.example/">'
        "{{ story.headline }}</a></td></tr>{% endmacro %}",
        encoding="utf-8",
    )
    settings = load_settings(
        config_file,
        overrides={"database_url": db_url, "templates_dir": str(tmp_path / "mine")},
    )
    app = create_app(settings, clock=lambda: NOW)
    try:
        ingest_path(app.engine, FIXTURES / "articles", NOW)
        with app.engine.begin() as conn:
            add_subscriber(conn, "zoe@example.com", "weekly", NOW, name="Zoe")
        shown = preview_edition(app, find_edition(app, "weekly", None, NOW), NOW)
        assert shown.findings and all("plain.example" in f.message for f in shown.findings)
        with caplog.at_level("WARNING", logger="digest.pipeline"):
            send(app, "weekly")
        assert "links must be absolute https" in caplog.text
    finally:
        app.close()
