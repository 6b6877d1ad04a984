"""The `feed` source: RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 entries as articles, via feedparser.

JSON Feed is read by digest.ingest.jsonfeed; compressed and UTF-16/32 documents are unpacked and
re-encoded first (digest.ingest.sniff).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from digest.core.errors import IngestError
from digest.ingest.htmltext import html_to_text
from digest.ingest.records import ParsedArticle, make_article


@dataclass
class FeedResult:
    """A feed's articles, and problems that did not stop the rest (bad entries, broken XML)."""

    title: str
    articles: list[ParsedArticle] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    entries: int = 0  # entries in the document, whether or not each could be read


def parse_feed(content: bytes, location: str, source: str) -> FeedResult:
    """Articles from a feed document; an IngestError naming `location` when it is no feed."""
    # feedparser's HTML sanitiser is not needed: entries are reduced to plain text here, with
    # scripts, styles and embeds dropped (digest.ingest.htmltext); skipping it saves a third.
    parsed = feedparser.parse(
        content,
        # No base URL: feedparser would resolve a non-URL <guid> ("e1") against it and call
        # that the link. Real links are resolved here instead (_entry_link).
        response_headers={"content-type": "text/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = _xml_problem(parsed)
    if not parsed.get("version") and not parsed.entries:
        why = f": {problem}" if problem else ""
        raise IngestError(
            f"{location}: not an RSS or Atom feed{why}",
            hint="check that the location is the feed's address, not the site's home page",
        )
    result = FeedResult(
        title=html_to_text(parsed.feed.get("title", "")) or source, entries=len(parsed.entries)
    )
    if problem:
        result.problems.append(
            f"{location}: malformed feed ({problem}); {len(parsed.entries)} entries read anyway"
        )
    base = location if urlsplit(location).scheme in {"http", "https"} else None
    seen: set[str] = set()
    for index, entry in enumerate(parsed.entries):
        try:
            art = entry_article(entry, source, parsed.feed.get("language"), base)
        except IngestError as exc:
            result.problems.append(f"{location}: entry {index + 1}: {exc}")
            continue
        if art.guid in seen:  # a feed repeating a guid: the first one counts
            continue
        seen.add(art.guid)
        result.articles.append(art)
    return result


def entry_article(
    entry: Any, source: str, language: str | None = None, base: str | None = None
) -> ParsedArticle:
    """One entry as an article: content preferred over summary, categories as tags."""
    body = ""
    for content in entry.get("content") or []:
        body = _text(content.get("value", ""))
        if body:
            break
    if not body:
        body = _text(entry.get("summary", "") or entry.get("description", ""))
    title = _text(entry.get("title", ""))
    if not body:
        if not title:
            raise IngestError("has neither a title nor any text")
        body = title
    link = _entry_link(entry, base)
    guid = entry.get("id") or link
    if not guid:
        guid = "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    tags = [t.get("term") or t.get("label") or "" for t in entry.get("tags") or []]
    return make_article(
        guid=str(guid),
        title=title or None,
        text=body,
        source=source,
        url=link,
        author=entry.get("author") or None,
        published=_when(entry),
        tags=[t for t in tags if t],
        language=language,
    )


def _entry_link(entry: Any, base: str | None) -> str | None:
    """The entry's web page: an alternate link (resolved against the feed's URL), or a
    permalink <guid> that is itself a URL. Never an Atom rel="self" API address, a urn:, or a
    guid such as "e1" that only identifies the entry."""
    alternates = [
        str(ln["href"])
        for ln in entry.get("links") or []
        if ln.get("rel", "alternate") == "alternate" and ln.get("href")
    ]
    if alternates:
        link = urljoin(base, alternates[0]) if base else alternates[0]
    elif entry.get("guidislink"):
        link = str(entry.get("link") or "")  # the guid itself: a URL only if it is one
    else:
        link = str(entry.get("link") or "")
        link = urljoin(base, link) if base and link else link
    return link if urlsplit(link).scheme in {"http", "https"} and urlsplit(link).netloc else None


def _text(value: str) -> str:
    return html_to_text(value).strip()


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parts = entry.get(key)
        if parts:
            y, mo, d, h, mi, sec = parts[:6]
            return datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=UTC)
    return None


def _xml_problem(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    # An encoding declared one way and served another is recovered without loss.
    if type(exc).__name__ in {"CharacterEncodingOverride", "NonXMLContentType"}:
        return None
    text = str(getattr(exc, "getMessage", lambda: exc)())
    return text or type(exc).__name__
