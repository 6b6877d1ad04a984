"""Ingest sources into the database: one transaction per source, errors reported per source.

Reading (fetch and parse, no database) is kept apart from storing, so `digest extract` can
show what would be stored and a failing source never leaves half its articles written.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from digest.core.errors import IngestError
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import Fetcher, is_url, local_path
from digest.ingest.folder import SUFFIXES, read_folder
from digest.ingest.pages import extract_page
from digest.ingest.records import ParsedArticle, normalise_tags
from digest.ingest.tagging import KeywordTagger
from digest.ingest.wordpress import read_wordpress
from digest.settings import IngestSettings, Settings, SourceSettings
from digest.store.articles import Outcome, save_articles
from digest.store.sources import record_run, source_health

log = logging.getLogger(__name__)


@dataclass
class SourceReport:
    """What one source's ingestion did: counts per outcome and each error met."""

    source: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    not_modified: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.errors


@dataclass
class SourceRead:
    """A source's articles as read, not yet stored, with the problems met and new validators."""

    articles: list[ParsedArticle] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def looks_like_feed(content: bytes) -> bool:
    """True when a document's start reads like RSS, RDF or Atom rather than an HTML page."""
    head = content[:2000].lstrip().lower()
    return any(marker in head for marker in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel"))


def read_source(
    kind: str,
    location: str,
    name: str,
    fetcher: Fetcher,
    now: datetime,
    tz: tzinfo = UTC,
    etag: str | None = None,
    last_modified: str | None = None,
) -> SourceRead:
    """Fetch and parse one source of any kind; raises IngestError when nothing can be read."""
    out = SourceRead()
    if kind == "folder" or (kind == "auto" and not is_url(location) and _is_local(location)):
        for item in read_folder(local_path(location), name, now, tz):
            if isinstance(item, IngestError):
                out.problems.append(str(item))
            else:
                out.articles.append(item)
        return out
    if kind == "wordpress":
        out.articles, out.problems = read_wordpress(fetcher, location, name)
        return out
    fetched = fetcher.fetch(location, etag, last_modified)
    out.etag, out.last_modified = fetched.etag, fetched.last_modified
    if fetched.content is None:
        out.not_modified = True
        return out
    url = fetched.location if is_url(location) else None
    if kind == "feed" or (kind == "auto" and looks_like_feed(fetched.content)):
        result = parse_feed(fetched.content, url or location, name)
        out.articles, out.problems = result.articles, result.problems
    elif kind in {"page", "auto"}:
        art = extract_page(fetched.content, location, name, url, fetched.content_type)
        if url is None and art.url is None:
            art = replace(art, guid=f"file:{local_path(location).resolve()}")
        out.articles = [art]
    else:
        raise IngestError(f"{location}: unknown source kind {kind!r}")
    return out


def ingest_source(
    engine: Engine,
    name: str,
    kind: str,
    location: str,
    now: datetime,
    fetcher: Fetcher,
    tagger: KeywordTagger,
    tags: tuple[str, ...] = (),
    tz: tzinfo = UTC,
    conditional: bool = True,
) -> SourceReport:
    """Read one source and store its articles in one transaction; record the run's health."""
    report = SourceReport(name)
    with engine.connect() as conn:
        state = source_health(conn, name) if conditional else None
    try:
        read = read_source(
            kind, location, name, fetcher, now, tz,
            state.etag if state else None, state.last_modified if state else None,
        )  # fmt: skip
    except IngestError as exc:
        report.errors.append(str(exc))
        read = None
    except Exception as exc:  # a parser bug must not stop the other sources; it is recorded
        log.exception("source %s failed", name)
        report.errors.append(f"{location}: unexpected {type(exc).__name__}: {exc}")
        read = None
    if read is not None:
        report.errors += read.problems
        report.not_modified = read.not_modified
    for outcome in Outcome:
        report.counts.setdefault(outcome, 0)
    error = "; ".join(report.errors) or None
    # One transaction per source: the articles and the run's record land together or not at all.
    with engine.begin() as conn:
        if read is not None:
            tagged = [
                replace(art, tags=normalise_tags((*art.tags, *tags, *tagger.tags(art))))
                for art in read.articles
            ]
            report.counts.update(save_articles(conn, tagged, now))
        if conditional:
            record_run(
                conn, name, now, dict(report.counts), error,
                read.etag if read else None, read.last_modified if read else None,
                keep_validators=read is None or read.not_modified,
            )  # fmt: skip
    return report


def ingest_path(
    engine: Engine,
    path: Path | str,
    now: datetime,
    source: str | None = None,
    tags: tuple[str, ...] = (),
    tz: tzinfo = UTC,
    ingest: IngestSettings | None = None,
) -> SourceReport:
    """Ingest a folder, a file or a URL given by hand; good files are stored even when some fail."""
    location = str(path)
    name = source or (Path(location).name if not is_url(location) else location) or location
    settings = ingest or IngestSettings()
    with Fetcher(settings) as fetcher:
        return ingest_source(
            engine, name, "auto", location, now, fetcher, KeywordTagger(settings.keywords),
            tags, tz, conditional=False,
        )  # fmt: skip


def ingest_sources(
    engine: Engine,
    settings: Settings,
    now: datetime,
    names: list[str] | None = None,
    fetcher: Fetcher | None = None,
) -> list[SourceReport]:
    """Ingest the enabled sources (or those named); one failing never stops the rest."""
    chosen: dict[str, SourceSettings] = {}
    for name in names or [n for n, s in settings.sources.items() if s.enabled]:
        if name not in settings.sources:
            known = ", ".join(sorted(settings.sources)) or "none configured"
            raise IngestError(f"unknown source {name!r}", hint=f"known sources: {known}")
        chosen[name] = settings.sources[name]
    tz = ZoneInfo(settings.timezone)
    tagger = KeywordTagger(settings.ingest.keywords)
    own = fetcher is None
    client = fetcher or Fetcher(settings.ingest)
    try:
        return [
            ingest_source(
                engine, name, src.kind, src.location, now, client, tagger, tuple(src.tags), tz
            )
            for name, src in chosen.items()
        ]
    finally:
        if own:
            client.close()


def _is_local(location: str) -> bool:
    """True for what the folder reader handles: folders, article files, and missing paths."""
    try:
        path = local_path(location)
    except IngestError:
        return False
    return not path.is_file() or path.suffix.lower() in SUFFIXES
