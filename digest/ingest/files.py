"""Read single article files: Markdown with front matter, and plain text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from digest.core.errors import IngestError
from digest.ingest.dumps import single_article, split_dump
from digest.ingest.records import ParsedArticle, make_article, parse_date

FRONT_MATTER_KEYS = {
    "title", "date", "published", "tags", "url", "author", "source", "guid", "language",
}  # fmt: skip
_BLOCKS = ("p", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre")
_md = MarkdownIt("commonmark")


def read_text(path: Path) -> str:
    """The file's text as UTF-8 (with or without BOM), or an IngestError that names it."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read: {exc.strerror}") from None


def parse_markdown_file(path: Path, source: str, now: datetime, tz: tzinfo = UTC) -> ParsedArticle:
    """One article from a Markdown file with YAML front matter."""
    raw = read_text(path)
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise IngestError(
            f"{path}: broken front matter{where}: {getattr(exc, 'problem', exc)}",
            hint="front matter is YAML between two '---' lines; quote values that contain ':'",
        ) from None
    meta: dict[str, Any] = dict(post.metadata)
    unknown = set(meta) - FRONT_MATTER_KEYS
    if unknown:
        raise IngestError(
            f"{path}: unknown front matter key(s) {sorted(unknown)}",
            hint=f"known keys: {', '.join(sorted(FRONT_MATTER_KEYS))}",
        )
    published = None
    when = meta.get("date", meta.get("published"))
    if when is not None:
        try:
            published = parse_date(when, now, tz)
        except ValueError as exc:
            raise IngestError(f"{path}: {exc}") from None
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list):
        raise IngestError(f"{path}: 'tags' must be a list or a comma-separated string")
    text = markdown_to_text(post.content)
    if not text.strip():
        raise IngestError(f"{path}: the article has no text after its front matter")
    url = _str(meta.get("url"))
    return make_article(
        guid=_str(meta.get("guid")) or url or f"file:{path.resolve()}",
        title=_str(meta.get("title")),
        text=text,
        source=_str(meta.get("source")) or source,
        url=url,
        author=_str(meta.get("author")),
        published=published,
        tags=[str(t) for t in tags],
        language=_str(meta.get("language")),
    )


def parse_text_file(path: Path, source: str) -> ParsedArticle:
    """One article from a plain-text file: chrome removed, a short first line is its headline."""
    raw = read_text(path).strip()
    if not raw:
        raise IngestError(f"{path}: the file is empty")
    return single_article(raw.split("\n"), f"file:{path.resolve()}", source)


def parse_text_dump(path: Path, source: str) -> list[ParsedArticle]:
    """The articles of a plain-text dump: a tag archive gives one per bullet, else one."""
    raw = read_text(path).strip()
    if not raw:
        raise IngestError(f"{path}: the file is empty")
    return split_dump(raw, f"file:{path.resolve()}", source)


def parse_html_file(path: Path, source: str, max_bytes: int = 20_000_000) -> ParsedArticle:
    """One article from a saved HTML page, through the page extractor."""
    from digest.ingest import sniff
    from digest.ingest.fetch import read_local
    from digest.ingest.pages import extract_page

    fetched = read_local(str(path), max_bytes)
    assert fetched.content is not None
    content = sniff.prepare(fetched.content, str(path), max_bytes)
    if sniff.kind_of(content) == "binary":
        message, hint = sniff.BINARY_ERROR
        raise IngestError(f"{path}: {message}", hint=hint)
    art = extract_page(content, str(path), source)
    if art.url is None:
        art = replace(art, guid=f"file:{path.resolve()}")
    return art


def markdown_to_text(markdown: str) -> str:
    """Plain paragraphs from Markdown: one per block, list items as their own paragraphs."""
    rendered = _md.render(markdown)
    if not rendered.strip():
        return ""
    root = lxml_html.fragment_fromstring(rendered, create_parent="div")
    blocks = []
    for el in root.iter(*_BLOCKS):
        # A list item's paragraph would be seen twice; keep the innermost block only.
        if any(child.tag in _BLOCKS for child in el):
            continue
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(text)
    return "\n\n".join(blocks)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
