"""The CLI through CliRunner, re-opening the database to check what it stored."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from digest.cli import cli
from digest.cli.root import hoist_global_options
from digest.core.db import create_db_engine, head_revision, open_database
from digest.core.models import Article, Delivery
from digest.schedule.expressions import fire_times, next_fire, parse_schedule
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
    # A newsletter that never had an edition says so in plain words, with what to do.
    for args in (["send", "status", "weekly"], ["edition", "show", "weekly"]):
        result = runner.invoke(cli, [*cfg, *args])
        assert result.exit_code == 1, result.output
        assert "error: weekly has no " in result.output and " any " not in result.output
        assert "hint: `digest edition list weekly` shows its editions" in result.output


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


def test_config_check_shows_values_as_written_and_the_next_sends(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'secret_key = "k"\n[newsletters.weekly]\ntitle = "W"\ntags = ["transit", "housing"]\n'
        'schedule = "weekly mon 08:00"\ntimezone = "Europe/Warsaw"\ndraft_lead = "20h"\n'
    )
    out = run("--config", str(config), "config", "check")
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") == 4}
    assert "│ 20h " in lines["newsletters.weekly.draft_lead"]
    assert "│ true " in lines["newsletters.weekly.skip_if_empty"]
    sends = fire_times(
        parse_schedule("weekly mon 08:00", "Europe/Warsaw"),
        datetime.now(UTC),
        datetime.now(UTC) + timedelta(days=22),
    )[:3]
    zone = ZoneInfo("Europe/Warsaw")
    shown = ", ".join(f"{t.astimezone(zone):%a %d %b} 08:00" for t in sends)
    assert f"weekly sends next: {shown}" in out
    doc = json.loads(run("--config", str(config), "config", "check", "--json"))
    values = {row["key"]: row["value"] for row in doc["settings"]}
    assert values["secret_key"] == "********" and values["newsletters.weekly.draft_lead"] == "20h"
    assert values["newsletters.weekly.tags"] == '["transit", "housing"]'

    assert len(doc["next_sends"]["weekly"]) == 3


def test_global_options_work_after_the_command(config_file: Path) -> None:
    out = run("config", "check", "--config", str(config_file), "--set", "sender.name=Late Flag")
    assert "Late Flag" in out and str(config_file.name) in out
    assert hoist_global_options(["send", "weekly", "-v", "--home=/h", "--", "--set"]) == [
        "-v", "--home=/h", "send", "weekly", "--", "--set",
    ]  # fmt: skip


def test_a_new_sqlite_folder_is_said(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "not" / "there" / "x.db"
    with caplog.at_level("WARNING"):
        create_db_engine(f"sqlite:///{target}").dispose()
    assert f"created the folder {target.parent}" in caplog.text


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


def test_the_command_table_matches_the_commands() -> None:
    # `digest --help` reads COMMANDS instead of importing every command module.
    import importlib

    from digest.cli.root import COMMANDS

    for module in {m for m, _ in COMMANDS.values()}:
        importlib.import_module(f"digest.cli.{module}")
    assert set(cli.commands) == set(COMMANDS)
    for name, (module, short) in COMMANDS.items():
        command = cli.commands[name]
        assert command.callback is not None
        assert command.callback.__module__ == f"digest.cli.{module}", name
        assert command.get_short_help_str(limit=1000) == short, name


HEAVY = ("numpy", "scipy", "sklearn", "trafilatura", "feedparser", "fastapi", "alembic")


def _imported(code: str) -> set[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(filter(None, out.split(",")))


def test_starting_a_command_imports_only_what_it_uses(tmp_path: Path) -> None:
    # What `digest --help`, `digest send` and `digest subscribers` load before they run:
    # none of the grouping, extraction, feed, web or migration libraries.
    assert _imported("from digest.cli import cli") == set()
    assert _imported("import digest.cli.send_cmd") == set()
    assert _imported("import digest.cli.subscribers_cmd") == set()
    # The mail stack (templates, CSS inlining) and rich's tables load for subscribers only when
    # a confirmation goes out or a table is drawn; the importer and exporter with their commands.
    probe = (
        "import digest.cli.subscribers_cmd, sys\n"
        "assert not {'premailer', 'jinja2', 'lxml', 'rich', 'subscribers.importer',\n"
        "            'subscribers.export'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
    # The tables are Core tables: no command loads SQLAlchemy's ORM.
    probe = (
        "import digest.cli.send_cmd, digest.cli.subscribers_cmd, digest.pipeline, sys\n"
        "import digest.web.models\n"
        "assert 'sqlalchemy.orm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
    # They come with the commands that use them.
    assert "trafilatura" in _imported("import digest.cli.articles")
    # A database already at head opens without alembic; a new one is migrated with it.
    url = f"sqlite:///{tmp_path / 'head.db'}"
    opening = f"from digest.core.db import open_database\nopen_database({url!r}).dispose()"
    assert _imported(opening) == {"alembic"}
    assert _imported(opening) == set()


def test_demo_never_empties_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(mine)])
    assert result.exit_code == 1
    assert "was not made by `digest demo`; nothing was deleted" in result.output
    assert (mine / "thesis.txt").read_text() == "years of work"
    # Its own folder is emptied and made again; --force takes any folder.
    own = tmp_path / "own"
    assert CliRunner().invoke(cli, ["demo", "--dir", str(own)]).exit_code == 0
    (own / "outbox" / "stale.eml").write_text("old")
    assert CliRunner().invoke(cli, ["demo", "--dir", str(own)]).exit_code == 0
    assert not (own / "outbox" / "stale.eml").exists()
    result = CliRunner().invoke(cli, ["demo", "--dir", str(mine), "--force"])
    assert result.exit_code == 0 and not (mine / "thesis.txt").exists()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://me:pw-secret@127.0.0.1:1/x", "cannot open the database at"),
        ("mysql://me:pw-secret@localhost/x", "SQLite or PostgreSQL, not mysql"),
        ("postgresql+nodriver://me:pw-secret@x/y", "is not a database URL"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_not_a_traceback(url: str, said: str) -> None:
    for command in (["db", "upgrade"], ["subscribers", "counts"]):
        result = CliRunner().invoke(cli, ["--database-url", url, *command])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)  # handled, not raised through
        assert said in result.output and "hint:" in result.output
        assert "Traceback" not in result.output and "pw-secret" not in result.output


def test_serve_on_a_taken_port_is_one_line() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output


def test_paths_typed_on_the_command_line_are_relative_to_where_they_were_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir, work = tmp_path / "cfg", tmp_path / "typed-here"
    config_dir.mkdir()
    work.mkdir()
    config = config_dir / "digest.toml"
    config.write_text('[newsletters.w]\ntitle = "W"\ntags = ["a"]\n')
    (work / "tiny.xml").write_bytes((FIXTURES / "feeds" / "atom10.xml").read_bytes())
    (config_dir / "near.xml").write_bytes((FIXTURES / "feeds" / "atom10.xml").read_bytes())
    monkeypatch.chdir(work)
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["--config", str(config), "sources", "add", "far", "tiny.xml"]).exit_code
        == 0
    )
    near = runner.invoke(
        cli, ["--config", str(config), "sources", "add", "near", "../cfg/near.xml"]
    )
    assert near.exit_code == 0
    text = config.read_text()
    assert f'location = "{work / "tiny.xml"}"' in text  # outside the config's folder: absolute
    assert 'location = "near.xml"' in text  # inside it: relative to the file, as it is read
    checked = runner.invoke(cli, ["--config", str(config), "sources", "check"])
    assert checked.exit_code == 0, checked.output
    # The hint of `templates copy` prints a value that works as it is.
    copied = runner.invoke(cli, ["--config", str(config), "templates", "copy", "mine"])
    value = copied.output.rsplit('templates_dir = "', 1)[1].split('"')[0]
    config.write_text(f'templates_dir = "{value}"\n' + config.read_text())
    used = runner.invoke(cli, ["--config", str(config), "templates", "check"])
    assert used.exit_code == 0, used.output


def test_schedule_run_says_what_it_will_do_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import time

    config = tmp_path / "s.toml"
    config.write_text(
        'base_url = "https://n.example.com"\nsecret_key = "a-long-enough-secret-key"\n'
        '[sender]\nname = "W"\nemail = "w@n.example.com"\npostal_address = "1 St"\n'
        '[newsletters.w]\ntitle = "W"\ntags = ["a"]\nschedule = "weekly mon 08:00"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_HOME"] = str(tmp_path / "home")
    command = ["--config", str(config), "schedule", "run"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "scheduler running" in line:
            break
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    text = "".join(seen)
    monday = next_fire(parse_schedule("weekly mon 08:00", "UTC"), datetime.now(UTC))
    assert monday is not None
    assert "send:w" in text and "draft:w" in text and f"{monday:%a %d %b} 08:00 UTC" in text
    assert "Ctrl-C (or SIGTERM) stops it" in text


def test_a_send_on_a_terminal_shows_a_bar_with_its_total(cfg: list[str], tmp_path: Path) -> None:
    import os
    import pty

    run(*cfg, "ingest", str(FIXTURES / "articles"))
    people = tmp_path / "people.csv"
    people.write_text("email\nann@example.com\nbo@example.com\ncy@example.com\n")
    run(*cfg, "subscribers", "import", str(people), "--list", "weekly")
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    child = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()", *cfg, "send", "weekly"],
        stdin=follower, stdout=follower, stderr=follower, env=env, cwd=tmp_path,
    )  # fmt: skip
    os.close(follower)
    out = b""
    while True:  # read as it comes, so the child never waits on a full terminal
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal: everything was read
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    child.wait(timeout=120)
    text = out.decode("utf-8", "replace")
    assert child.returncode == 0, text
    assert "sending" in text and "3/3" in text and "100%" in text
