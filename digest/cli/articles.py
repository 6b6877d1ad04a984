"""`digest ingest` and `digest articles ...`."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import click
from rich.progress import Progress
from rich.table import Table

from digest.cli.common import console, parse_since
from digest.cli.root import State, cli
from digest.core.errors import IngestError
from digest.core.text import reading_minutes
from digest.ingest.fetch import Fetcher
from digest.ingest.service import SourceReport, ingest_path, ingest_sources
from digest.store.articles import article_by_id, articles_since


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--source", "sources", multiple=True, help="Ingest only this configured source.")
@click.option("--tag", "tags", multiple=True, help="Add this tag to every article from PATHS.")
@click.pass_obj
def ingest(
    state: State, paths: tuple[str, ...], sources: tuple[str, ...], tags: tuple[str, ...]
) -> None:
    """Read articles from PATHS (folders, files, feed or page URLs), or the configured sources.

    Example: digest ingest ./articles https://example.org/feed.xml --tag transit
    """
    app = state.app()
    now = app.clock()
    tz = ZoneInfo(app.settings.timezone)
    reports: list[SourceReport] = []
    names: list[str] = []
    if sources or not paths:
        if not app.settings.sources and not paths:
            raise IngestError("nothing to ingest", hint="give PATHs or configure [sources.NAME]")
        names = list(sources) or [n for n, s in app.settings.sources.items() if s.enabled]
    with (
        Progress(transient=True, console=console()) as progress,
        Fetcher(app.settings.ingest) as fetcher,
    ):
        task = progress.add_task("ingesting", total=len(paths) + len(names))
        for path in paths:
            progress.update(task, description=path)
            reports.append(
                ingest_path(app.engine, path, now, tags=tags, tz=tz, ingest=app.settings.ingest)
            )
            progress.advance(task)
        if names:
            progress.update(task, description=f"{len(names)} sources")
            reports += ingest_sources(
                app.engine, app.settings, now, names, fetcher,
                on_done=lambda report: progress.advance(task),
            )  # fmt: skip
    table = Table("source", "new", "updated", "unchanged", "duplicate", "errors")
    for r in reports:
        table.add_row(
            r.source,
            *(str(r.counts[k]) for k in ("new", "updated", "unchanged", "duplicate")),
            str(len(r.errors)),
        )
    out = console()
    out.print(table)
    for r in reports:
        if r.entries == 0 and not r.errors:
            out.print(f"{r.source}: the feed has 0 entries (nothing to read yet)", markup=False)
    failed = [e for r in reports for e in r.errors]
    for error in failed:
        click.secho(f"error: {error}", fg="red", err=True)
    if failed:
        raise click.exceptions.Exit(1)


@cli.group()
def articles() -> None:
    """Look at stored articles."""


@articles.command("list")
@click.option("--tag", "tags", multiple=True, help="Only articles with this tag (repeatable: any).")
@click.option(
    "--since", default="7d", show_default=True, help="Published since: 7d, 12h, 2w or a date."
)
@click.option("--source", help="Only articles from this source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def list_articles(
    state: State, tags: tuple[str, ...], since: str, source: str | None, as_json: bool
) -> None:
    """List articles, newest first.

    Example: digest articles list --tag transit --since 14d --json
    """
    app = state.app()
    start = parse_since(since, app.clock())
    with app.engine.connect() as conn:
        found = articles_since(conn, start, tags=[t.lower() for t in tags] or None, source=source)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "title": a.title,
                        "url": a.url,
                        "author": a.author,
                        "source": a.source,
                        "published": a.published_at.isoformat(),
                        "tags": list(a.tags),
                        "words": a.word_count,
                    }
                    for a in found
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("id", "published", "title", "tags", "source")
    for a in found:
        table.add_row(
            str(a.id), f"{a.published_at:%Y-%m-%d %H:%M}", a.title, ", ".join(a.tags), a.source
        )
    console().print(table)
    console().print(f"{len(found)} article(s)")


@articles.command("show")
@click.argument("article_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def show_article(state: State, article_id: int, as_json: bool) -> None:
    """Show one stored article: its fields, tags and text.

    Example: digest articles show 12
    """
    app = state.app()
    with app.engine.connect() as conn:
        art = article_by_id(conn, article_id)
    if art is None:
        raise IngestError(f"no article with id {article_id}", hint="see `digest articles list`")
    if as_json:
        data = {
            "id": art.id, "title": art.title, "url": art.url, "author": art.author,
            "source": art.source, "published": art.published_at.isoformat(),
            "tags": list(art.tags), "words": art.word_count,
            "reading_minutes": reading_minutes(art.word_count), "text": art.text,
        }  # fmt: skip
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    c = console()
    c.print(f"[bold]{art.title}[/]")
    c.print(f"{art.published_at:%Y-%m-%d %H:%M} · {art.source} · {art.url or 'no URL'}")
    minutes = reading_minutes(art.word_count)
    c.print(f"tags: {', '.join(art.tags) or '—'} · {art.word_count} words · {minutes} min read\n")
    c.print(art.text, markup=False)
