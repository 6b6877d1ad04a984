"""`digest summarize`, `digest stories` and editors' story changes surviving a rebuild."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from digest.cli import cli
from digest.core.app import App
from digest.core.db import open_database
from digest.core.models import StoryEdit
from digest.ingest.service import ingest_path
from digest.pipeline import prepare_draft
from digest.store import story_edits
from tests.conftest import NOW, write_article

runner = CliRunner()

TRAM = (
    "The city council approved the riverside tram line on Tuesday after a four-hour debate. "
    "The 12-kilometre line will link the central station with the northern harbour district. "
    "Construction is expected to start next spring and cost 480 million euros."
)
TRAM_2 = (
    "Gdansk councillors voted for the riverside tram line linking the central station and the "
    "harbour district. The line, 12 kilometres long, will cost 480 million euros, the council "
    "said. Construction will begin in spring, the mayor said."
)
RENT = (
    "Rents in Warsaw rose 9 percent in the third quarter, the statistics office said. Studio "
    "flats saw the steepest increases as students returned. Landlords blamed energy bills."
)


def jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_summarize_reads_and_writes_json_lines_in_order(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(jsonl([{"id": "b", "text": TRAM}, {"id": "a", "text": RENT, "title": "Rents"}]))
    result = runner.invoke(cli, ["summarize", "--sentences", "1", "--json", str(src)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["b", "a"]
    assert rows[0]["summary"] in TRAM and rows[0]["summary"].endswith(".")
    words = runner.invoke(
        cli, ["summarize", "--words", "20", "-"], input=jsonl([{"id": 1, "text": TRAM}])
    )
    assert len(json.loads(words.output)["summary"].split()) <= 20


def test_stories_command_groups_rows(tmp_path: Path) -> None:
    rows = [
        {"id": "t1", "title": "Tram line approved", "text": TRAM, "published": "2026-11-20T08:00"},
        {"id": "r1", "title": "Rents up", "text": RENT},
        {"id": "t2", "title": "Tram vote", "text": TRAM_2, "url": "https://x", "source": "X"},
    ]
    result = runner.invoke(cli, ["stories", "--json", "-"], input=jsonl(rows))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert out == [
        {"id": "t1", "story": "t1"},
        {"id": "r1", "story": "r1"},
        {"id": "t2", "story": "t1"},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "text": "x"}\nnot json\n', "line 2: not JSON"),
        ('{"id": "a"}\n', "line 1: missing key 'text'"),
        ('["a"]\n', "line 1: expected an object"),
    ],
)
def test_bad_input_names_the_line(tmp_path: Path, content: str, message: str) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(content)
    result = runner.invoke(cli, ["summarize", str(src)])
    assert result.exit_code == 1
    assert "bad.jsonl" in result.output and message in result.output


def test_stories_command_rejects_a_bad_time() -> None:
    row = {"id": "a", "title": "T", "text": "x", "published": "last tuesday"}
    result = runner.invoke(cli, ["stories", "-"], input=jsonl([row]))
    assert result.exit_code == 1 and "line 1: 'published'" in result.output


def _ingest(app: App, folder: Path, now: datetime = NOW) -> None:
    write_article(folder, "a.md", title="Council approves riverside tram line", date="-1d",
                  tags=["transit"], body=TRAM, url="https://a.example/tram")  # fmt: skip
    write_article(folder, "b.md", title="Gdansk votes for harbour tram", date="-1d",
                  tags=["transit"], body=TRAM_2, url="https://b.example/tram")  # fmt: skip
    write_article(folder, "c.md", title="Warsaw rents up 9 percent", date="-2d",
                  tags=["housing"], body=RENT, url="https://c.example/rent")  # fmt: skip
    ingest_path(app.engine, folder, now)


def test_draft_groups_stories_and_keeps_editor_changes_on_rebuild(
    app: App, tmp_path: Path, db_url: str
) -> None:
    _ingest(app, tmp_path / "articles")
    draft = prepare_draft(app, "weekly", NOW)
    stories = draft.content.stories
    assert len(stories) == 2
    tram = next(s for s in stories if len(s.article_ids) == 2)
    rent = next(s for s in stories if len(s.article_ids) == 1)
    assert tram.sources >= 1 and tram.url is not None

    with app.engine.begin() as conn:
        story_edits.save_edit(conn, "weekly", draft.number, rent.key, "ed", NOW, pinned=True)
        story_edits.save_edit(
            conn, "weekly", draft.number, tram.article_ids[-1], "ed", NOW, summary="By hand."
        )
    rebuilt = prepare_draft(app, "weekly", NOW)
    assert rebuilt.number == draft.number
    assert rebuilt.content.subject.endswith("Warsaw rents up 9 percent")  # pinned goes first
    assert [s.summary for s in rebuilt.content.stories if s.key == tram.key] == ["By hand."]

    with app.engine.begin() as conn:
        story_edits.save_edit(conn, "weekly", draft.number, rent.key, "ed", NOW, removed=True)
    again = prepare_draft(app, "weekly", NOW)
    assert [s.key for s in again.content.stories] == [tram.key]
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert len(conn.execute(select(StoryEdit.id)).all()) == 2
    engine.dispose()


def test_story_commands_record_changes(
    app: App, tmp_path: Path, config_file: Path, db_url: str
) -> None:
    now = datetime.now(UTC)  # the command runs on the real clock
    _ingest(app, tmp_path / "articles", now)
    draft = prepare_draft(app, "weekly", now)
    rent = next(s for s in draft.content.stories if len(s.article_ids) == 1)
    cfg = ["--config", str(config_file), "--database-url", db_url]
    result = runner.invoke(cli, [*cfg, "story", "remove", "weekly", str(rent.key)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, [*cfg, "story", "list", "weekly"])
    assert listed.exit_code == 0
    assert "Council approves riverside tram line" in listed.output
    stories_part, left_part = listed.output.split("left out of this edition (1):")
    assert "Warsaw rents" not in stories_part  # removed, and said so below
    assert "Warsaw rents up 9 percent (its story was removed by an editor)" in left_part
    result = runner.invoke(cli, [*cfg, "story", "edit", "weekly", str(rent.key)])
    assert result.exit_code != 0 and "--headline" in result.output
    with app.engine.connect() as conn:
        changes = story_edits.edits_for(conn, "weekly", draft.number)
    assert [(e.key, e.removed) for e in changes.edits] == [(rent.key, True)]


def test_story_list_shows_every_member_and_commands_check_the_id_and_the_status(
    app: App, tmp_path: Path, config_file: Path, db_url: str
) -> None:
    now = datetime.now(UTC)
    _ingest(app, tmp_path / "articles", now)
    draft = prepare_draft(app, "weekly", now)
    tram = next(s for s in draft.content.stories if len(s.article_ids) == 2)
    cfg = ["--config", str(config_file), "--database-url", db_url]
    listed = json.loads(
        runner.invoke(cli, [*cfg, "story", "list", "weekly", "--json"]).output.splitlines()[0]
    )
    assert [a["id"] for a in listed["articles"]] == tram.article_ids
    assert {a["title"] for a in listed["articles"]} == {
        "Council approves riverside tram line",
        "Gdansk votes for harbour tram",
    }
    assert {a["outlet"] for a in listed["articles"]} == {"articles"}  # the folder source
    table = runner.invoke(cli, [*cfg, "story", "list", "weekly"]).output
    assert "articles: Gdansk votes for harbour tram" in table
    # Any member's id names its story; an id in no story is refused and nothing is stored.
    member = tram.article_ids[-1]
    assert runner.invoke(cli, [*cfg, "story", "pin", "weekly", str(member)]).exit_code == 0
    refused = runner.invoke(cli, [*cfg, "story", "remove", "weekly", "999"])
    assert refused.exit_code == 1 and "article 999 is in no story of weekly #1" in refused.output
    with app.engine.connect() as conn:
        keys = [e.key for e in story_edits.edits_for(conn, "weekly", draft.number).edits]
    assert keys == [member]
    assert runner.invoke(cli, [*cfg, "edition", "approve", "weekly", "1"]).exit_code == 0
    late = runner.invoke(cli, [*cfg, "story", "remove", "weekly", str(member)])
    assert late.exit_code == 1 and "weekly #1 is approved" in late.output
    assert "digest edition reopen weekly 1" in late.output


def test_a_cut_headline_gives_way_to_a_whole_one(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "cut"
    write_article(folder, "a.md", title="… which once seemed unshakeable, is now…", date="-1d",
                  tags=["transit"], body=TRAM, url="https://a.example/tram")  # fmt: skip
    write_article(folder, "b.md", title="Councillors back the riverside tram line", date="-1d",
                  tags=["transit"], body=TRAM_2, url="https://b.example/tram")  # fmt: skip
    ingest_path(app.engine, folder, NOW)
    draft = prepare_draft(app, "weekly", NOW)
    [story] = draft.content.stories
    assert story.headline == "Councillors back the riverside tram line"
    assert "…" not in draft.content.subject


def test_every_candidate_is_in_a_story_or_listed_as_left_out_with_the_reason(
    app: App, tmp_path: Path, config_file: Path, db_url: str
) -> None:
    now = datetime.now(UTC)
    _ingest(app, tmp_path / "articles", now)
    # Room for one story only: the other is listed, not lost.
    one = app.settings.newsletters["weekly"].model_copy(update={"max_stories": 1})
    app.settings = app.settings.model_copy(update={"newsletters": {"weekly": one}})
    draft = prepare_draft(app, "weekly", now)
    carried = set(draft.content.article_ids)
    left = {lo.article_id: lo.reason for lo in draft.content.left_out}
    with app.engine.connect() as conn:
        from digest.core.models import Article

        candidates = set(conn.execute(select(Article.id)).scalars())
    assert carried | set(left) == candidates and not carried & set(left)
    assert set(left.values()) == {"its story ranks below the first 1 (max_stories)"}
    rebuilt = prepare_draft(app, "weekly", now)  # stored and read back the same
    assert rebuilt.content.left_out == draft.content.left_out


def test_stories_explain_names_the_terms_that_joined_each_pair() -> None:
    rows = [
        {"id": "a", "title": "Council approves tram extension to the harbour",
         "text": "The council approved the harbour tram extension after a long debate."},
        {"id": "c", "title": "Tram line to the harbour wins council approval",
         "text": "Councillors voted for the harbour tram line after a long debate."},
        {"id": "r", "title": "Warsaw rents up 9 percent", "text": RENT},
    ]  # fmt: skip
    result = runner.invoke(cli, ["stories", "--explain", "-"], input=jsonl(rows))
    assert result.exit_code == 0, result.output
    labels = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["story"] for x in labels] == ["a", "a", "r"]
    [line] = result.stderr.splitlines()  # one pair joined, one line
    assert line.startswith("a + c: similarity ")
    terms = line.split(" from ", 1)[1]
    assert "tram" in terms and "harbour" in terms
