"""`digest sources ...` and `digest extract`: manage sources, and see what ingestion would store."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.markup import escape
from rich.table import Table

from digest.cli.common import console, path_for_config
from digest.cli.root import State, cli
from digest.core.errors import ConfigError, IngestError
from digest.ingest.fetch import Fetcher
from digest.ingest.records import ParsedArticle, normalise_tags
from digest.ingest.service import read_source
from digest.ingest.sourceconf import add_source, remove_source
from digest.ingest.tagging import KeywordTagger
from digest.store.sources import all_health


@cli.group()
def sources() -> None:
    """List, add, remove and check article sources."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def list_sources(state: State, as_json: bool) -> None:
    """The configured sources with their health: last success, last error, failures in a row.

    Example: digest sources list
    """
    app = state.app()
    with app.engine.connect() as conn:
        health = all_health(conn)
    rows = []
    for name, src in app.settings.sources.items():
        h = health.get(name)
        rows.append(
            {
                "name": name, "kind": src.kind, "location": src.location,
                "enabled": src.enabled, "tags": src.tags,
                "interval": _every(src.interval) if src.interval else None,
                "last_success": h.last_success_at.isoformat() if h and h.last_success_at else None,
                "last_error": h.last_error if h else None,
                "consecutive_failures": h.consecutive_failures if h else 0,
                "last_counts": h.last_counts if h else {},
            }
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("name", "kind", "location", "every", "last success", "failures", "last error")
    for r in rows:
        table.add_row(
            str(r["name"]) + ("" if r["enabled"] else " (off)"), str(r["kind"]),
            str(r["location"]), str(r["interval"] or "—"), str(r["last_success"] or "never"),
            str(r["consecutive_failures"]), str(r["last_error"] or "")[:80],
        )  # fmt: skip
    console().print(table)


@sources.command("add")
@click.argument("name")
@click.argument("location")
@click.option(
    "--kind",
    type=click.Choice(["folder", "feed", "page", "wordpress"]),
    default="feed",
    show_default=True,
    help="What the source is.",
)
@click.option("--tag", "tags", multiple=True, help="Tag for every article from it (repeatable).")
@click.option("--interval", help="How often the scheduler ingests it, e.g. 30m or 2h.")
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@click.pass_obj
def add(
    state: State,
    name: str,
    location: str,
    kind: str,
    tags: tuple[str, ...],
    interval: str | None,
    disabled: bool,
) -> None:
    """Add a source to the config file.

    Example: digest sources add city-news https://news.example.org/feed.xml --tag city --interval 1h
    """
    path = _config_file(state)
    # A file typed here is relative to this folder; the config file reads its own relative
    # paths from its folder, so it is stored the way the file will read it back.
    location = path_for_config(location, path)
    fields = {"kind": kind, "location": location, "tags": list(tags), "enabled": not disabled}
    if interval:
        fields["interval"] = interval
    path.write_text(add_source(path.read_text(encoding="utf-8"), name, fields), encoding="utf-8")
    click.echo(f"added source {name} ({kind}, {location}) to {path}")


@sources.command("remove")
@click.argument("name")
@click.pass_obj
def remove(state: State, name: str) -> None:
    """Remove a source from the config file (its stored articles stay).

    Example: digest sources remove city-news
    """
    path = _config_file(state)
    path.write_text(remove_source(path.read_text(encoding="utf-8"), name), encoding="utf-8")
    click.echo(f"removed source {name} from {path}")


@sources.command("check")
@click.argument("names", nargs=-1)
@click.pass_obj
def check(state: State, names: tuple[str, ...]) -> None:
    """Fetch and parse sources without storing anything; exit 1 if any fails.

    Example: digest sources check city-news
    """
    settings = state.loaded().settings
    unknown = [n for n in names if n not in settings.sources]
    if unknown:
        known = ", ".join(sorted(settings.sources)) or "none configured"
        raise IngestError(f"unknown source(s) {unknown}", hint=f"known sources: {known}")
    tz = ZoneInfo(settings.timezone)
    table = Table("source", "articles", "problems")
    failed = False
    with Fetcher(settings.ingest) as fetcher:
        for name in names or tuple(settings.sources):
            src = settings.sources[name]
            try:
                read = read_source(src.kind, src.location, name, fetcher, _now(state), tz)
                problems = read.problems
                count = str(len(read.articles))
            except IngestError as exc:
                problems, count = [str(exc)], "—"
            failed = failed or bool(problems)
            table.add_row(name, count, "\n".join(problems) or "ok")
    console().print(table)
    if failed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("location")
@click.option(
    "--kind",
    type=click.Choice(["auto", "folder", "feed", "page", "wordpress"]),
    default="auto",
    show_default=True,
    help="How to read LOCATION; auto tells feeds from pages and folders.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article.")
@click.pass_obj
def extract(state: State, location: str, kind: str, as_json: bool) -> None:
    """Print what ingestion would store for a file, folder or URL, without storing it.

    Example: digest extract https://example.org/2026/11/story.html --json
    """
    settings = state.loaded().settings
    tagger = KeywordTagger(settings.ingest.keywords)
    with Fetcher(settings.ingest) as fetcher:
        read = read_source(kind, location, "extract", fetcher, _now(state))
    for problem in read.problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    if read.entries == 0:
        click.echo(f"{location}: the feed has 0 entries", err=as_json)
    for art in read.articles:
        art = replace(art, tags=normalise_tags((*art.tags, *tagger.tags(art))))
        if as_json:
            click.echo(json.dumps(article_json(art), ensure_ascii=False))
        else:
            c = console()
            c.print(f"[bold]{escape(art.title)}[/]  {escape(art.url or '')}")
            when = (
                art.published.isoformat()
                if art.published
                else "none found: the time digest first sees it will be used"
            )
            outlet = f"   outlet: {escape(art.outlet)}" if art.outlet else ""
            c.print(f"published: {when}{outlet}")
            c.print(f"tags: {escape(', '.join(art.tags)) or '—'}   words: {art.word_count}\n")
            c.print(art.text, markup=False)
            c.print()
    if read.problems:
        raise click.exceptions.Exit(1)


def article_json(art: ParsedArticle) -> dict[str, object]:
    """The fields `digest extract --json` prints for one article."""
    return {
        "title": art.title,
        "url": art.url,
        "author": art.author,
        "published": art.published.isoformat() if art.published else None,
        "published_guessed": art.published is None,  # stored as first seen
        "outlet": art.outlet,
        "language": art.language,
        "tags": list(art.tags),
        "text": art.text,
    }


def _every(interval: timedelta) -> str:
    """30m, 2h, 1d: the interval as it would be written in the config."""
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _config_file(state: State) -> Path:
    path = state.loaded().path
    if path is None:
        raise ConfigError(
            "no config file to edit",
            hint="pass --config FILE (or set DIGEST_CONFIG); create the file first if needed",
        )
    return path


def _now(state: State) -> datetime:
    # Reading needs only a clock for relative dates; no database is opened for it.
    return datetime.now(UTC)
