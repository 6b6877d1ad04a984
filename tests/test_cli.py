"""The CLI through CliRunner, re-opening the database to check what it stored."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from digest.cli import cli
from digest.core.db import head_revision, open_database
from digest.core.models import Article, Delivery
from tests.conftest import FIXTURES, ROOT

runner = CliRunner()


def run(*args: str, ok: bool = True) -> str:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def cfg(config_file: Path, db_url: str) -> list[str]:
    return ["--config", str(config_file), "--database-url", db_url]


def test_ingest_list_preview_send(cfg: list[str], db_url: str, tmp_path: Path) -> None:
    out = run(*cfg, "ingest", str(FIXTURES / "articles"))
    assert "3" in out
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Article)).scalar_one() == 3
    listed = json.loads(run(*cfg, "articles", "list", "--since", "60d", "--json"))
    assert listed[0]["title"] == "Council approves the riverside tram line"
    assert len(json.loads(run(*cfg, "articles", "list", "--tag", "housing", "--json"))) == 1

    people = tmp_path / "people.csv"
    people.write_text("email,name\nann@example.com,Ann\nnot-an-address,Bob\nbo@example.com,Bo\n")
    out = runner.invoke(cli, [*cfg, "subscribers", "import", str(people), "--list", "weekly"])
    assert out.exit_code == 0 and "added 2" in out.output and "people.csv:3" in out.output

    out = run(*cfg, "preview", "weekly", "--out", str(tmp_path / "pv"))
    assert (tmp_path / "pv" / "weekly-1.html").exists()
    sample = email.message_from_bytes(
        (tmp_path / "pv" / "weekly-1.eml").read_bytes(), policy=policy.default
    )
    assert sample["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    out = run(*cfg, "send", "weekly")
    assert "sent 2" in out
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            ).scalar_one()
            == 2
        )
    assert "nothing sent" in run(*cfg, "send", "weekly")
    engine.dispose()


def test_domain_errors_are_one_line_and_exit_1(cfg: list[str]) -> None:
    result = runner.invoke(cli, [*cfg, "preview", "nosuch"])
    assert result.exit_code == 1
    assert "error: unknown newsletter 'nosuch'" in result.output
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback(cfg: list[str]) -> None:
    result = runner.invoke(cli, ["--verbose", *cfg, "preview", "nosuch"])
    assert result.exit_code == 1 and result.exception is not None


def test_bad_config_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("providr = 'outbox'\n")
    result = runner.invoke(cli, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 1
    assert f"{bad}: unknown setting 'providr'; did you mean 'provider'?" in result.output


def test_config_check_masks_secrets(config_file: Path) -> None:
    out = run("--config", str(config_file), "--set", "sender.name=Flag Name", "config", "check")
    assert "test-secret-key" not in out
    assert "********" in out and "Flag Name" in out and "settings are valid" in out


def test_ingest_errors_exit_1_but_keep_good_files(
    cfg: list[str], tmp_path: Path, db_url: str
) -> None:
    folder = tmp_path / "arts"
    folder.mkdir()
    (folder / "ok.md").write_text("---\ntitle: OK\ntags: [transit]\n---\nFine.\n")
    (folder / "bad.md").write_text("---\ntitle: [\n---\nx\n")
    result = runner.invoke(cli, [*cfg, "ingest", str(folder)])
    assert result.exit_code == 1 and "bad.md" in result.output
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Article)).scalar_one() == 1
    engine.dispose()


def test_db_upgrade(cfg: list[str]) -> None:
    assert f"→ {head_revision()}" in run(*cfg, "db", "upgrade")


def test_demo(tmp_path: Path) -> None:
    out = run("demo", "--dir", str(tmp_path / "demo"))
    assert "sent 5 emails" in out
    emls = sorted((tmp_path / "demo" / "outbox" / "weekly" / "1").glob("*.eml"))
    assert len(emls) == 5
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert 'style="' in html
        assert msg["List-Unsubscribe"] and msg["List-Unsubscribe-Post"]
        unsubscribe = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert unsubscribe in html


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            names += _commands(cmd, full + " ")
        else:
            names.append(full)
    return names


def test_every_command_has_help_and_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in _commands(cli):
        command = cli
        for part in name.split():
            command = command.commands[part]  # type: ignore[attr-defined]
        assert command.help and "Example:" in command.help, f"{name} needs help with an example"
        assert f"digest {name}" in readme, f"`digest {name}` is missing from README.md"
