"""Ingest sources into the database: one transaction per source, errors reported per source.

Reading (fetch and parse, no database) is kept apart from storing, so `digest extract` can
show what would be stored and a failing source never leaves half its articles written.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from digest.core.errors import IngestError
from digest.ingest import sniff
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import Fetched, Fetcher, is_url, local_path
from digest.ingest.folder import SUFFIXES, read_folder
from digest.ingest.jsonfeed import parse_json_feed
from digest.ingest.pages import extract_page
from digest.ingest.records import ParsedArticle, normalise_tags
from digest.ingest.tagging import KeywordTagger
from digest.ingest.wordpress import read_wordpress
from digest.settings import IngestSettings, Settings, SourceSettings
from digest.store.articles import Outcome, save_articles
from digest.store.sources import SourceHealth, record_run, source_health

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass
class SourceReport:
    """What one source's ingestion did: counts per outcome and each error met."""

    source: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    not_modified: bool = False
    entries: int | None = None  # how many entries the feed held (None: not a feed)

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
    entries: int | None = None  # a feed's entries, read or not (None: not a feed)


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
    got = fetch_source(kind, location, name, fetcher, now, tz, etag, last_modified)
    if isinstance(got, SourceRead):
        return got
    return parse_fetched(kind, location, name, got, fetcher.settings.max_bytes)


def fetch_source(
    kind: str,
    location: str,
    name: str,
    fetcher: Fetcher,
    now: datetime,
    tz: tzinfo = UTC,
    etag: str | None = None,
    last_modified: str | None = None,
) -> SourceRead | Fetched:
    """The network (or disk) half of reading: a folder or WordPress site read whole, a 304,
    or the fetched document still to be parsed (by parse_fetched, maybe in another process)."""
    if kind == "folder" or (kind == "auto" and not is_url(location) and _is_local(location)):
        out = SourceRead()
        for item in read_folder(local_path(location), name, now, tz):
            if isinstance(item, IngestError):
                out.problems.append(str(item))
            else:
                out.articles.append(item)
        return out
    if kind == "wordpress":
        out = SourceRead()
        out.articles, out.problems = read_wordpress(fetcher, location, name)
        return out
    if kind not in {"feed", "page", "auto"}:
        raise IngestError(f"{location}: unknown source kind {kind!r}")
    fetched = fetcher.fetch(location, etag, last_modified)
    if fetched.content is None:
        return SourceRead(etag=fetched.etag, last_modified=fetched.last_modified, not_modified=True)
    return fetched


def parse_fetched(
    kind: str, location: str, name: str, fetched: Fetched, max_bytes: int
) -> SourceRead:
    """The CPU half of reading: unpack, recognise and parse one fetched document. Pure (no
    network, no database), so it can run in a worker process."""
    assert fetched.content is not None
    out = SourceRead(etag=fetched.etag, last_modified=fetched.last_modified)
    content = sniff.prepare(fetched.content, location, max_bytes)
    found = sniff.kind_of(content)
    if found in {"sitemap", "binary"}:
        message, hint = sniff.SITEMAP_ERROR if found == "sitemap" else sniff.BINARY_ERROR
        raise IngestError(f"{location}: {message}", hint=hint)
    url = fetched.location if is_url(location) else None
    if found == "json-feed" and kind != "page":
        result = parse_json_feed(content, url or location, name)
    elif kind == "feed" or found == "feed":
        result = parse_feed(content, url or location, name)
    else:
        art = extract_page(content, location, name, url, fetched.content_type)
        if url is None and art.url is None:
            art = replace(art, guid=f"file:{local_path(location).resolve()}")
        out.articles = [art]
        return out
    out.articles, out.problems, out.entries = result.articles, result.problems, result.entries
    return out


def parse_guarded(
    kind: str, location: str, name: str, fetched: Fetched, max_bytes: int
) -> tuple[SourceRead | None, list[str]]:
    """parse_fetched with every failure as an error line (what crosses a process boundary is
    plain data: exceptions with hints do not always survive pickling)."""
    return _guarded(lambda: parse_fetched(kind, location, name, fetched, max_bytes), location)


def _guarded(work: Callable[[], _T], location: str) -> tuple[_T | None, list[str]]:
    try:
        return work(), []
    except IngestError as exc:
        return None, [str(exc)]
    except Exception as exc:  # a parser bug must not stop the other sources
        log.debug("%s failed", location, exc_info=True)
        return None, [f"{location}: unexpected {type(exc).__name__}: {exc}"]


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
    with engine.connect() as conn:
        state = source_health(conn, name) if conditional else None
    read, errors = read_guarded(name, kind, location, fetcher, now, tz, _validators(state))
    return store_read(engine, name, read, errors, now, tagger, tags, conditional)


def read_guarded(
    name: str,
    kind: str,
    location: str,
    fetcher: Fetcher,
    now: datetime,
    tz: tzinfo,
    validators: tuple[str | None, str | None] = (None, None),
) -> tuple[SourceRead | None, list[str]]:
    """read_source with every failure turned into an error line: a parser bug in one source
    must not stop the others (it is logged with its traceback under --verbose)."""
    return _guarded(
        lambda: read_source(kind, location, name, fetcher, now, tz, *validators), location
    )


def store_read(
    engine: Engine,
    name: str,
    read: SourceRead | None,
    errors: list[str],
    now: datetime,
    tagger: KeywordTagger,
    tags: tuple[str, ...] = (),
    conditional: bool = True,
) -> SourceReport:
    """Store what was read in one transaction, with the run's record: both land or neither."""
    report = SourceReport(name, errors=list(errors))
    if read is not None:
        report.errors += read.problems
        report.not_modified = read.not_modified
        report.entries = read.entries
    for outcome in Outcome:
        report.counts.setdefault(outcome, 0)
    error = "; ".join(report.errors) or None
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
    on_done: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Ingest the enabled sources (or those named); one failing never stops the rest.

    Up to `ingest.concurrency` sources are fetched and parsed at once; each is stored (in a
    transaction of its own) as soon as it is read, from this thread, so the database sees one
    writer. Reports come back in the order the sources were named; `on_done` hears of each
    as it finishes.
    """
    chosen: dict[str, SourceSettings] = {}
    for name in names or [n for n, s in settings.sources.items() if s.enabled]:
        if name not in settings.sources:
            known = ", ".join(sorted(settings.sources)) or "none configured"
            raise IngestError(f"unknown source {name!r}", hint=f"known sources: {known}")
        chosen[name] = settings.sources[name]
    tz = ZoneInfo(settings.timezone)
    tagger = KeywordTagger(settings.ingest.keywords)
    with engine.connect() as conn:
        states = {name: source_health(conn, name) for name in chosen}
    own = fetcher is None
    client = fetcher or Fetcher(settings.ingest)
    reports: dict[str, SourceReport] = {}

    def finish(name: str, read: SourceRead | None, errors: list[str]) -> None:
        report = store_read(engine, name, read, errors, now, tagger, tuple(chosen[name].tags))
        reports[name] = report
        if on_done:
            on_done(report)

    parsers = parse_pool(settings.ingest.parse_workers, len(chosen))
    try:
        with ThreadPoolExecutor(
            max_workers=min(settings.ingest.concurrency, max(1, len(chosen))),
            thread_name_prefix="ingest",
        ) as pool:
            pending: dict[Future[Any], tuple[str, str]] = {
                pool.submit(
                    _guarded,
                    partial(
                        fetch_source, src.kind, src.location, name, client, now, tz,
                        *_validators(states[name]),
                    ),
                    src.location,
                ): ("fetch", name)
                for name, src in chosen.items()
            }  # fmt: skip
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    stage, name = pending.pop(future)
                    got, errors = future.result()
                    if stage == "fetch" and isinstance(got, Fetched):
                        src = chosen[name]
                        args = (src.kind, src.location, name, got, settings.ingest.max_bytes)
                        runner = parsers or pool
                        pending[runner.submit(parse_guarded, *args)] = ("parse", name)
                    else:
                        finish(name, got, errors)
    finally:
        if parsers is not None:
            parsers.shutdown(cancel_futures=True)
        if own:
            client.close()
    return [reports[name] for name in chosen]


def parse_pool(workers: int, sources: int) -> ProcessPoolExecutor | None:
    """Worker processes for parsing, when there is enough to parse and more than one CPU:
    feedparser and trafilatura are pure Python for much of their work, so threads alone
    leave every core but one idle. `workers` 0 means one per CPU, up to four; 1 parses in
    this process. Processes are started by a fork server (never forked from this process,
    whose threads may hold locks)."""
    if workers == 0:
        workers = min(4, os.cpu_count() or 1)
    if workers <= 1 or sources < 4:
        return None
    context: BaseContext
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["digest.ingest.preload"])
    except ValueError:  # no fork server on this platform
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=min(workers, sources), mp_context=context)


def _validators(state: SourceHealth | None) -> tuple[str | None, str | None]:
    return (state.etag, state.last_modified) if state else (None, None)


def _is_local(location: str) -> bool:
    """True for what the folder reader handles: folders, article files, and missing paths."""
    try:
        path = local_path(location)
    except IngestError:
        return False
    return not path.is_file() or path.suffix.lower() in SUFFIXES
