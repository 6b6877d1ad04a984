"""Ingest sources into the database: one transaction per source, errors reported per file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from digest.errors import IngestError
from digest.ingest.folder import read_folder
from digest.ingest.records import ParsedArticle, normalise_tags
from digest.settings import Settings, SourceSettings
from digest.store.articles import Outcome, save_article


@dataclass
class SourceReport:
    """What one source's ingestion did: counts per outcome and each file's error."""

    source: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.errors


def ingest_path(
    engine: Engine,
    path: Path,
    now: datetime,
    source: str | None = None,
    tags: tuple[str, ...] = (),
    tz: tzinfo = UTC,
) -> SourceReport:
    """Ingest a folder or a single file; good files are stored even when others fail."""
    name = source or path.name or str(path)
    report = SourceReport(name)
    parsed: list[ParsedArticle] = []
    try:
        for item in read_folder(path, name, now, tz):
            if isinstance(item, IngestError):
                report.errors.append(str(item))
            else:
                parsed.append(replace(item, tags=normalise_tags((*item.tags, *tags))))
    except IngestError as exc:
        report.errors.append(str(exc))
    if parsed:
        # One transaction per source: a failure leaves what was stored before untouched.
        with engine.begin() as conn:
            for art in parsed:
                report.counts[save_article(conn, art, now)] += 1
    for outcome in Outcome:
        report.counts.setdefault(outcome, 0)
    return report


def ingest_sources(
    engine: Engine, settings: Settings, now: datetime, names: list[str] | None = None
) -> list[SourceReport]:
    """Ingest the enabled sources (or those named); one failing never stops the rest."""
    chosen: dict[str, SourceSettings] = {}
    for name in names or [n for n, s in settings.sources.items() if s.enabled]:
        if name not in settings.sources:
            known = ", ".join(sorted(settings.sources)) or "none configured"
            raise IngestError(f"unknown source {name!r}", hint=f"known sources: {known}")
        chosen[name] = settings.sources[name]
    tz = ZoneInfo(settings.timezone)
    return [
        ingest_path(engine, Path(src.location), now, name, tuple(src.tags), tz)
        for name, src in chosen.items()
    ]
