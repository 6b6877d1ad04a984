"""`digest subscribers ...` end to end: run the command, then re-open the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from digest.cli import cli
from digest.core.db import open_database
from subscribers.importer import read_report
from subscribers.models import Membership, Subscriber, Suppression

runner = CliRunner()


@pytest.fixture
def cfg(config_file: Path, db_url: str) -> list[str]:
    return ["--config", str(config_file), "--database-url", db_url]


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_lifecycle_from_the_command_line(cfg: list[str], db_url: str, tmp_path: Path) -> None:
    run(*cfg, "subscribers", "add", "Ann@Example.com", "--list", "weekly", "--name", "Ann",
        "--consent", "asked at the fair", "--topic", "transit")  # fmt: skip
    shown = json.loads(run(*cfg, "subscribers", "show", "ann@example.com", "--json"))
    assert shown["memberships"][0]["topics"] == ["transit"]
    assert shown["memberships"][0]["consents"][0]["text"] == "asked at the fair"
    out = run(*cfg, "subscribers", "add", "x@example.com", "--list", "weekly", "--topic", "golf",
              code=1)  # fmt: skip
    assert "unknown topic" in out
    run(*cfg, "subscribers", "topics", "ann@example.com", "--list", "weekly")
    run(*cfg, "subscribers", "unsubscribe", "ann@example.com", "--list", "weekly")
    assert "already" in run(
        *cfg, "subscribers", "unsubscribe", "ann@example.com", "--list", "weekly"
    )
    out = run(*cfg, "subscribers", "add", "ann@example.com", "--list", "weekly", code=1)
    assert "resubscribe" in out
    run(*cfg, "subscribers", "resubscribe", "ann@example.com", "--list", "weekly",
        "--consent", "emailed us 1 Dec")  # fmt: skip
    listed = run(*cfg, "subscribers", "list", "--list", "weekly", "--json")
    assert json.loads(listed.splitlines()[0])["status"] == "active"
    counts = json.loads(run(*cfg, "subscribers", "counts", "--json"))
    assert counts == {"weekly": {"active": 1}}
    run(*cfg, "subscribers", "suppress", "example.org", "--reason", "trap")
    run(*cfg, "subscribers", "unsuppress", "example.org")
    out_file = tmp_path / "weekly.csv"
    run(*cfg, "subscribers", "export", "--list", "weekly", "--out", str(out_file))
    assert "Ann@example.com" in out_file.read_text()
    refused = run(*cfg, "subscribers", "forget", "ann@example.com", code=1)  # in a script
    assert "forget ann@example.com --yes" in refused
    run(*cfg, "subscribers", "forget", "ann@example.com", "--yes")
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(Subscriber.email)).scalar_one().endswith("@erased.invalid")
        assert conn.execute(select(Membership.id)).first() is None
        assert conn.execute(select(Suppression.email_key, Suppression.reason)).one() == (
            None,
            "erased",
        )
    engine.dispose()
    people = tmp_path / "people.csv"
    people.write_text("email,name\nann@example.com,Ann\n")
    out = run(*cfg, "subscribers", "import", str(people), "--list", "weekly")
    assert "added 0" in out and "suppressed: 1" in out


def test_import_dry_run_and_report(cfg: list[str], tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("email,topics\na@example.com,transit\nb@example.com,golf\nbad\n")
    report = tmp_path / "rejected.csv"
    out = run(*cfg, "subscribers", "import", str(people), "--list", "weekly", "--dry-run",
              "--report", str(report), "--unknown-topics", "reject")  # fmt: skip
    assert "would add 1" in out and "people.csv:3: unknown topic: golf" in out
    assert report.read_text().count("\n") == 3
    assert "weekly" not in run(*cfg, "subscribers", "counts")


def test_import_keeps_people_whose_topics_are_unknown_and_reports_in_the_home(
    cfg: list[str], tmp_path: Path, isolated: Path
) -> None:
    """An interest label the newsletter lacks never costs a reader; the report goes to the
    digest home, since the input's folder may be read-only."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    people = folder / "people.csv"
    people.write_text(
        'email,topics\nann@example.com,"ai, policy"\nbo@example.com,"transit, ai"\n'
        "cy@example.com,housing\nnot-an-address,transit\n"
    )
    folder.chmod(0o555)
    try:
        out = run(*cfg, "subscribers", "import", str(people), "--list", "weekly", code=0)
    finally:
        folder.chmod(0o755)
    assert "added 3" in out and "rejected 1" in out
    assert "imported with a warning, unknown topic ignored: 2" in out
    assert "people.csv:2: warning: unknown topic ignored: ai, policy (gets every topic)" in out
    assert "people.csv:3: warning: unknown topic ignored: ai (its other topics kept)" in out
    [report] = (isolated / "imports").glob("people-*.report.csv")
    assert [row[0] for row in read_report(report)] == [2, 3, 5]
    assert list(folder.iterdir()) == [people]  # nothing written beside the input
    for address, topics in [("ann", []), ("bo", ["transit"]), ("cy", ["housing"])]:
        shown = json.loads(run(*cfg, "subscribers", "show", f"{address}@example.com", "--json"))
        assert shown["memberships"][0]["topics"] == topics


def test_pending_add_writes_a_confirmation_that_confirms(
    cfg: list[str], db_url: str, config_file: Path
) -> None:
    import email
    from email import policy

    from digest.core.app import create_app
    from digest.settings.loading import load_settings
    from subscribers import ops
    from tests.conftest import NOW

    out = run(*cfg, "subscribers", "add", "pat@example.com", "--list", "weekly",
              "--status", "pending", "--name", "Pat\r\nBcc: x@example.com")  # fmt: skip
    assert "sent to pat@example.com via outbox" in out
    app = create_app(load_settings(config_file, overrides={"database_url": db_url}), lambda: NOW)
    [path] = (app.settings.outbox_dir / "confirm").rglob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "pat@example.com"
    assert "Bcc" not in msg and "\n" not in str(msg["To"])
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = body.split("/confirm/")[1].split()[0]
    try:
        sub_id, list_name = app.signer.read_confirm(token, app.settings.subscribers.confirm_max_age)
        with app.engine.begin() as conn:
            assert ops.confirm(conn, sub_id, list_name, now=NOW)
        assert "active" in run(*cfg, "subscribers", "show", "pat@example.com")
    finally:
        app.close()


def test_list_has_a_header_and_a_total_across_pages(cfg: list[str]) -> None:
    for i in range(3):
        run(*cfg, "subscribers", "add", f"p{i}@example.com", "--list", "weekly", "--consent", "t")
    out = run(*cfg, "subscribers", "list", "--list", "weekly", "--per-page", "2", "--page", "2")
    lines = out.splitlines()
    assert lines[0] == "email\tname\tlist\tstatus"
    assert lines[1].startswith("p2@example.com\t")
    assert lines[-1] == "3-3 of 3 memberships (page 2 of 2)"
    out = run(*cfg, "subscribers", "list", "--list", "nobody")
    assert out.strip() == "none of 0 memberships (page 1 of 1)"
