"""The JSON Feed format (1.0 and 1.1, jsonfeed.org): items as articles, like RSS and Atom entries.

Fields read: the feed's `title` and `language` (1.1); each item's `id`, `url` (else
`external_url`), `title`, `content_html` / `content_text` (else `summary`), `date_published`
(else `date_modified`), `authors` (1.1) or `author` (1.0), `tags` and `language`. An item that
breaks the format is reported by its position and the rest are read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from digest.core.errors import IngestError
from digest.ingest.feeds import FeedResult
from digest.ingest.htmltext import html_to_text
from digest.ingest.records import ParsedArticle, make_article


def parse_json_feed(content: bytes, location: str, source: str) -> FeedResult:
    """Articles from a JSON Feed document; an IngestError naming `location` when it is none."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(
            f"{location}: not valid JSON ({exc})", hint="a JSON Feed must be UTF-8 JSON"
        ) from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise IngestError(
            f"{location}: JSON, but not a JSON Feed (no jsonfeed.org version)",
            hint="check that the location is the site's feed",
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise IngestError(f"{location}: a JSON Feed without an 'items' list")
    result = FeedResult(title=_text(doc.get("title")) or source, entries=len(items))
    base = location if urlsplit(location).scheme in {"http", "https"} else None
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            art = item_article(item, source, _text(doc.get("language")) or None, base)
        except IngestError as exc:
            result.problems.append(f"{location}: item {index + 1}: {exc}")
            continue
        if art.guid not in seen:
            seen.add(art.guid)
            result.articles.append(art)
    return result


def item_article(
    item: Any, source: str, language: str | None = None, base: str | None = None
) -> ParsedArticle:
    """One JSON Feed item as an article."""
    if not isinstance(item, dict):
        raise IngestError("is not an object")
    title = _text(item.get("title"))
    body = (
        html_to_text(str(item.get("content_html") or "")).strip()
        or _text(item.get("content_text"))
        or _text(item.get("summary"))
    )
    if not body:
        if not title:
            raise IngestError("has neither a title nor any text")
        body = title
    url = _link(item.get("url"), base) or _link(item.get("external_url"), base)
    guid = _text(item.get("id")) or url
    if not guid:
        guid = "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    raw_tags = item.get("tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    return make_article(
        guid=guid,
        title=title or None,
        text=body,
        source=source,
        url=url,
        author=_author(item),
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        tags=[str(t) for t in tags if str(t).strip()],
        language=_text(item.get("language")) or language,
    )


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _link(value: Any, base: str | None) -> str | None:
    """An absolute http(s) link (a relative one resolved against the feed's URL), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    link = urljoin(base, value.strip()) if base else value.strip()
    return link if urlsplit(link).scheme in {"http", "https"} else None


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    people: list[Any] = authors if isinstance(authors, list) else [item.get("author")]
    names = [_text(p.get("name")) for p in people if isinstance(p, dict)]
    return ", ".join(n for n in names if n) or None


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date as JSON Feed requires; a broken one is treated as missing."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
