"""The `folder` source: every Markdown and text file under a folder, one article each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from digest.core.errors import IngestError
from digest.ingest.files import parse_html_file, parse_markdown_file, parse_text_dump
from digest.ingest.records import ParsedArticle

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}


def article_files(path: Path) -> list[Path]:
    """The article files a path stands for: itself, or the supported files below it, sorted."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise IngestError(
                f"{path}: unsupported file type {path.suffix or '(none)'}",
                hint="folder sources read .md, .markdown, .txt, .html and .htm files",
            )
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        # A dangling link is kept so that reading it reports the problem instead of hiding it.
        if (p.is_file() or p.is_symlink())
        and p.suffix.lower() in SUFFIXES
        and not p.name.startswith(".")
    )
    if not files:
        raise IngestError(
            f"{path}: no articles found in this folder",
            hint="a folder source reads .md (with front matter), .txt and .html files",
        )
    return files


def read_folder(
    path: Path, source: str, now: datetime, tz: tzinfo = UTC
) -> Iterator[ParsedArticle | IngestError]:
    """Each file's article, or the error that file gave; one bad file never stops the rest."""
    for file in article_files(path):
        try:
            kind = SUFFIXES[file.suffix.lower()]
            if kind == "markdown":
                yield parse_markdown_file(file, source, now, tz)
            elif kind == "html":
                yield parse_html_file(file, source)
            else:
                yield from parse_text_dump(file, source)
        except IngestError as exc:
            yield exc
