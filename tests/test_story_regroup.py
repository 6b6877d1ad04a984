"""Editors correct grouping: split an article out of a story, merge two stories, undo either;
the corrections survive every rebuild of the draft, from the CLI and from the desk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from digest.cli import cli
from digest.core.app import App
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft
from digest.stories.assemble import regroup
from digest.web.accounts import audit_log
from digest.web.routes_ops import ACTION_NAMES
from digest.web.server import create_web_app
from tests.conftest import write_article
from tests.test_stories_cli import RENT, TRAM, TRAM_2
from tests.webkit import make_user, sign_in

runner = CliRunner()

TRAM_3 = (
    "The riverside tram line won the council's backing on Tuesday. Trams will run from the "
    "central station to the harbour district on a 12-kilometre route costing 480 million euros."
)


@pytest.mark.parametrize(
    ("groups", "split", "merge", "expected"),
    [
        ([[1, 2, 3], [4]], [2], [], [[1, 3], [2], [4]]),
        ([[1, 2], [3], [4]], [], [(3, 1)], [[1, 2, 3], [4]]),
        # A split article merged elsewhere goes there; chains of merges end in one story.
        ([[1, 2], [3], [4]], [2], [(2, 4)], [[1], [2, 4], [3]]),
        ([[1], [2], [3]], [], [(2, 1), (3, 2)], [[1, 2, 3]]),
        # An article that is no longer a candidate changes nothing.
        ([[1, 2], [3]], [9], [(3, 8)], [[1, 2], [3]]),
    ],
)
def test_regroup_applies_splits_then_merges(
    groups: list[list[int]], split: list[int], merge: list[tuple[int, int]],
    expected: list[list[int]],
) -> None:  # fmt: skip
    assert regroup(groups, split, merge) == expected


def _ingest(app: App, folder: Path, now: datetime) -> None:
    for name, title, tag, body in [
        ("a.md", "Council approves riverside tram line", "transit", TRAM),
        ("b.md", "Gdansk votes for harbour tram", "transit", TRAM_2),
        ("c.md", "Warsaw rents up 9 percent", "housing", RENT),
    ]:
        write_article(folder, name, title=title, date="-1d", tags=[tag], body=body,
                      url=f"https://{name[0]}.example/x")  # fmt: skip
    ingest_path(app.engine, folder, now)


def _stories(app: App, now: datetime) -> list[list[int]]:
    draft = prepare_draft(app, "weekly", now)
    return sorted(s.article_ids for s in draft.content.stories)


def test_split_and_merge_from_the_cli_survive_a_rebuild(
    app: App, tmp_path: Path, config_file: Path, db_url: str
) -> None:
    now = datetime.now(UTC)  # the commands run on the real clock
    _ingest(app, tmp_path / "articles", now)
    cfg = ["--config", str(config_file), "--database-url", db_url]
    [tram_a, tram_b], [rent] = _stories(app, now)
    split = runner.invoke(cli, [*cfg, "story", "split", "weekly", str(tram_b)])
    assert split.exit_code == 0, split.output
    assert f"article {tram_b} is now a story of its own" in split.output
    assert _stories(app, now) == [[tram_a], [tram_b], [rent]]
    merged = runner.invoke(cli, [*cfg, "story", "merge", "weekly", str(rent), str(tram_a)])
    assert merged.exit_code == 0, merged.output
    assert _stories(app, now) == [[tram_a, rent], [tram_b]]
    # A new article of the same event arrives: grouping places it, the corrections stay.
    write_article(tmp_path / "more", "d.md", title="Tram line gets the council's nod",
                  date="-1d", tags=["transit"], body=TRAM_3, url="https://d.example/x")  # fmt: skip
    ingest_path(app.engine, tmp_path / "more", now)
    rebuilt = prepare_draft(app, "weekly", now, rebuild=True)
    groups = sorted(s.article_ids for s in rebuilt.content.stories)
    assert [tram_b] in groups and any({tram_a, rent} <= set(g) for g in groups)
    assert sum(len(g) for g in groups) == 4  # the new article is in a story too
    listed = [
        json.loads(line)
        for line in runner.invoke(cli, [*cfg, "story", "list", "weekly", "--json"]).output.split(
            "\n"
        )
        if line.strip()
    ]
    assert any(row.get("split") for row in listed if "story" in row)
    # Undo: grouping decides again for both articles.
    for article in (tram_b, rent):
        undo = runner.invoke(cli, [*cfg, "story", "regroup", "weekly", str(article)])
        assert undo.exit_code == 0, undo.output
    groups = sorted(s.article_ids for s in prepare_draft(app, "weekly", now).content.stories)
    assert [rent] in groups and any({tram_a, tram_b} <= set(g) for g in groups)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["split", "weekly", "{rent}"], "article {rent} is already a story of its own"),
        (["split", "weekly", "999"], "article 999 is in no story of weekly #1"),
        (["merge", "weekly", "{tram_a}", "{tram_b}"], "are already one story"),
        (["merge", "weekly", "{rent}", "999"], "article 999 is in no story of weekly #1"),
        (["merge", "weekly", "{rent}", "{rent}"], "are already one story"),
    ],
)
def test_regroup_commands_check_their_ids(
    app: App, tmp_path: Path, config_file: Path, db_url: str, args: list[str], message: str
) -> None:
    now = datetime.now(UTC)
    _ingest(app, tmp_path / "articles", now)
    [tram_a, tram_b], [rent] = _stories(app, now)
    ids = {"tram_a": tram_a, "tram_b": tram_b, "rent": rent}
    cfg = ["--config", str(config_file), "--database-url", db_url]
    result = runner.invoke(cli, [*cfg, "story", *[a.format(**ids) for a in args]])
    assert result.exit_code == 1 and message.format(**ids) in result.output
    assert _stories(app, now) == [[tram_a, tram_b], [rent]]  # nothing changed


def test_regroup_refuses_an_approved_edition(
    app: App, tmp_path: Path, config_file: Path, db_url: str
) -> None:
    now = datetime.now(UTC)
    _ingest(app, tmp_path / "articles", now)
    [_tram_a, tram_b], _ = _stories(app, now)
    cfg = ["--config", str(config_file), "--database-url", db_url]
    assert runner.invoke(cli, [*cfg, "edition", "approve", "weekly", "1"]).exit_code == 0
    late = runner.invoke(cli, [*cfg, "story", "split", "weekly", str(tram_b)])
    assert late.exit_code == 1 and "weekly #1 is approved" in late.output


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), base_url="https://testserver") as c:
        yield c


def test_the_desk_splits_and_merges_and_the_rebuild_keeps_it(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    now = app.clock()
    _ingest(app, tmp_path / "articles", now)
    [tram_a, tram_b], [rent] = _stories(app, now)
    make_user(app, "ada", "editor")
    csrf = sign_in(client, "ada")
    draft = prepare_draft(app, "weekly", now)
    page = client.get(f"/desk/editions/{draft.id}").text
    assert "Split out" in page and "Merge into" in page
    url = f"/desk/editions/{draft.id}/regroup"
    assert client.post(url, data={"op": "split", "article": str(tram_b)}).status_code == 403
    done = client.post(url, data={"csrf": csrf, "op": "split", "article": str(tram_b)})
    assert done.status_code == 200 and "is now a story of its own" in done.text
    assert _stories(app, now) == [[tram_a], [tram_b], [rent]]
    merge = {"csrf": csrf, "op": "merge", "article": str(rent), "into": str(tram_b)}
    assert client.post(url, data=merge).status_code == 200
    assert _stories(app, now) == [[tram_a], [tram_b, rent]]
    # The story merged into keeps its headline, whichever article is longer.
    merged = prepare_draft(app, "weekly", now).content.stories
    assert "Gdansk votes for harbour tram" in {s.headline for s in merged}
    assert "Warsaw rents up 9 percent" not in {s.headline for s in merged}
    bad = client.post(url, data={"csrf": csrf, "op": "split", "article": "999"})
    assert bad.status_code == 409 and "article 999 is in no story" in bad.text
    # The rebuild button keeps the corrections; the audit log names them.
    client.post(f"/desk/editions/{draft.id}/action", data={"csrf": csrf, "action": "rebuild"})
    assert _stories(app, now) == [[tram_a], [tram_b, rent]]
    with app.engine.connect() as conn:
        logged = {row.action: row.detail for row in audit_log(conn)}
    assert f"article {tram_b}" in logged["edition.split"]
    assert f"article {rent}" in logged["edition.merge"]
    assert ACTION_NAMES["edition.split"] == "split an article out of a story"
