"""`digest summarize`, `digest stories` and `digest story ...` (editors' changes to stories)."""

from __future__ import annotations

import sys
from typing import TextIO

import click
from rich.table import Table

from digest.cli.common import console
from digest.cli.root import State, cli
from digest.core.jsonlines import parse_time, read_rows, write_row
from digest.editions.editorial import check_story_edit, find_edition, regroup_story
from digest.pipeline import prepare_draft
from digest.store import articles, story_edits
from digest.stories.grouping import Item, group
from digest.stories.grouping import explain as explain_groups
from digest.stories.summarize import summarize as summarize_text


def _name(stream: TextIO) -> str:
    return "<stdin>" if stream is sys.stdin else str(getattr(stream, "name", "input"))


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--sentences", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option("--words", type=click.IntRange(5, 5000), help="Word budget (whole sentences only).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines {id, summary} (the default).")
def summarize(source: TextIO, sentences: int, words: int | None, as_json: bool) -> None:
    """Summarise each JSON Lines row {"id", "text", "title"?} of SOURCE (a file or -).

    Writes {"id", "summary"} rows in the same order. Example:
    digest summarize --sentences 3 --json articles.jsonl > summaries.jsonl
    """
    del as_json  # JSON Lines is the only output; the flag keeps scripts explicit
    budget = sentences if words is None else 50
    for row in read_rows(source, _name(source), ["id", "text"]):
        summary = summarize_text(row["text"], str(row.get("title") or ""), budget, words)
        write_row(sys.stdout, {"id": row["id"], "summary": summary})


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines {id, story} (the default).")
@click.option("--explain", is_flag=True, help="Also say, on stderr, which terms joined each pair.")
@click.pass_obj
def stories(state: State, source: TextIO, as_json: bool, explain: bool) -> None:
    """Group JSON Lines rows {"id", "title", "text", "published"?} of SOURCE into stories.

    Writes {"id", "story"} rows in input order; rows with the same `story` are one story
    (its value is the id of the story's first row). Uses the [stories] settings. Example:
    digest stories --json articles.jsonl > labels.jsonl
    """
    del as_json
    settings = state.loaded().settings.stories
    name = _name(source)
    rows = list(read_rows(source, name, ["id", "title", "text"]))
    items = [
        Item(r["title"], r["text"], parse_time(r.get("published"), name, n))
        for n, r in enumerate(rows, start=1)
    ]
    labels: list[object] = [None] * len(rows)
    groups = group(
        items,
        threshold=settings.threshold,
        headline_threshold=settings.headline_threshold,
        time_scale_days=settings.time_scale.total_seconds() / 86400,
    )
    for members in groups:
        for m in members:
            labels[m] = rows[members[0]]["id"]
    for row, label in zip(rows, labels, strict=True):
        write_row(sys.stdout, {"id": row["id"], "story": label})
    if explain:
        for joined in explain_groups(items, groups):
            terms = ", ".join(f"{t} {v:.3f}" for t, v in joined.terms)
            click.echo(
                f"{rows[joined.first]['id']} + {rows[joined.second]['id']}: "
                f"similarity {joined.similarity:.3f} from {terms}",
                err=True,
            )


@cli.group()
def story() -> None:
    """Editors' changes to a draft's stories; they survive every rebuild of the draft."""


@story.command("list")
@click.argument("newsletter")
@click.option("--number", type=int, help="Edition number (default: the open edition).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
@click.pass_obj
def list_stories(state: State, newsletter: str, number: int | None, as_json: bool) -> None:
    """The edition's stories, each with every article it holds (id, outlet, title): any of
    those ids is what `story pin|remove|edit` take.

    Example: digest story list weekly
    """
    app = state.app()
    edition = find_edition(app, newsletter, number)
    with app.engine.connect() as conn:
        known = articles.members(conn, edition.content.article_ids)
        changes = story_edits.edits_for(conn, newsletter, edition.number)
    merged_ids = {article for article, _ in changes.merges}
    table = Table("story", "section", "pinned", "headline and its articles")
    for section in edition.content.sections:
        for st in section.stories:
            key = st.key or min(st.article_ids)
            held = [(i, *known.get(i, ("?", "(no longer stored)"))) for i in st.article_ids]
            split = [i for i in st.article_ids if i in changes.splits]
            merged = [i for i in st.article_ids if i in merged_ids]
            if as_json:
                write_row(sys.stdout, {
                    "story": key, "section": section.tag, "pinned": st.pinned,
                    "headline": st.headline,
                    "articles": [{"id": i, "outlet": o, "title": t} for i, o, t in held],
                    "split": split, "merged": merged,
                })  # fmt: skip
                continue
            lines = [st.headline] + [f"  {i}  {o}: {t}" for i, o, t in held]
            if split or merged:
                said = [f"split out {', '.join(map(str, split))}"] if split else []
                said += [f"merged {', '.join(map(str, merged))}"] if merged else []
                lines.append(f"  (by an editor: {'; '.join(said)})")
            table.add_row(str(key), section.tag, "yes" if st.pinned else "", "\n".join(lines))
    left = edition.content.left_out
    if as_json:
        for lo in left:
            write_row(sys.stdout, {"left_out": lo.article_id, "outlet": lo.source,
                                   "title": lo.title, "reason": lo.reason})  # fmt: skip
        return
    console().print(table)
    if left:
        click.echo(f"left out of this edition ({len(left)}):")
        for lo in left:
            click.echo(f"  {lo.article_id}  {lo.source}: {lo.title} ({lo.reason})")


def _edit(state: State, newsletter: str, article: int, **values: bool | str | None) -> None:
    app = state.app()
    now = app.clock()
    draft = prepare_draft(app, newsletter, now)
    with app.engine.begin() as conn:
        check_story_edit(conn, draft, article)
        story_edits.save_edit(conn, newsletter, draft.number, article, "cli", now, **values)
    # Rebuilt even when the draft was edited on the desk: the edits are stored apart and kept.
    row = prepare_draft(app, newsletter, now, draft.scheduled_for, rebuild=True)
    click.echo(f"{newsletter} #{row.number}: rebuilt with the change to article {article}'s story")


_NL = click.argument("newsletter")
_ART = click.argument("article", type=int)


@story.command()
@_NL
@_ART
@click.pass_obj
def pin(state: State, newsletter: str, article: int) -> None:
    """Put the story holding ARTICLE (an article id) first. Example: digest story pin weekly 42"""
    _edit(state, newsletter, article, pinned=True)


@story.command()
@_NL
@_ART
@click.pass_obj
def unpin(state: State, newsletter: str, article: int) -> None:
    """Let the story holding ARTICLE be ranked like the others again.

    Example: digest story unpin weekly 42
    """
    _edit(state, newsletter, article, pinned=False)


@story.command()
@_NL
@_ART
@click.pass_obj
def remove(state: State, newsletter: str, article: int) -> None:
    """Leave the story holding ARTICLE out of the draft. Example: digest story remove weekly 42"""
    _edit(state, newsletter, article, removed=True)


@story.command()
@_NL
@_ART
@click.pass_obj
def restore(state: State, newsletter: str, article: int) -> None:
    """Bring back a removed story. Example: digest story restore weekly 42"""
    _edit(state, newsletter, article, removed=False)


@story.command()
@_NL
@_ART
@click.option("--headline", help="New headline (empty: the generated one again).")
@click.option("--summary", help="New summary (empty: the generated one again).")
@click.pass_obj
def edit(
    state: State, newsletter: str, article: int, headline: str | None, summary: str | None
) -> None:
    """Rewrite a story's headline or summary.

    Example: digest story edit weekly 42 --summary 'Trams run all night from May.'
    """
    values: dict[str, bool | str | None] = {}
    if headline is not None:
        values["headline"] = headline or None
    if summary is not None:
        values["summary"] = summary or None
    if not values:
        raise click.UsageError("give --headline and/or --summary")
    _edit(state, newsletter, article, **values)


def _regroup(state: State, newsletter: str, op: str, article: int, into: int | None) -> None:
    app = state.app()
    now = app.clock()
    draft = prepare_draft(app, newsletter, now)
    with app.engine.begin() as conn:
        done = regroup_story(conn, draft, op, article, into, "cli", now)
    row = prepare_draft(app, newsletter, now, draft.scheduled_for, rebuild=True)
    click.echo(f"{newsletter} #{row.number}: {done}; rebuilt")


@story.command()
@_NL
@_ART
@click.pass_obj
def split(state: State, newsletter: str, article: int) -> None:
    """Take ARTICLE out of its story: it becomes a story of its own, on every rebuild.

    Example: digest story split weekly 42
    """
    _regroup(state, newsletter, "split", article, None)


@story.command()
@_NL
@_ART
@click.argument("into", type=int)
@click.pass_obj
def merge(state: State, newsletter: str, article: int, into: int) -> None:
    """Join the story holding ARTICLE to the story holding INTO (both article ids); a split
    ARTICLE moves alone. Kept on every rebuild. Example: digest story merge weekly 42 17
    """
    _regroup(state, newsletter, "merge", article, into)


@story.command()
@_NL
@_ART
@click.pass_obj
def regroup(state: State, newsletter: str, article: int) -> None:
    """Undo a split or merge of ARTICLE: grouping places it again.

    Example: digest story regroup weekly 42
    """
    _regroup(state, newsletter, "regroup", article, None)
