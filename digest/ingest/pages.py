"""The `page` source: one article page's main text and metadata, site chrome dropped.

trafilatura finds the article body; favouring precision keeps navigation, related links and
comment forms out, and when that finds nothing the default settings, then the page's visible
text, are tried so that no page yields nothing. `clean_paragraphs` then removes the chrome
that extractors let through (see digest.ingest.chrome).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from digest.core.errors import IngestError
from digest.ingest.chrome import clean_paragraphs
from digest.ingest.htmltext import html_to_text
from digest.ingest.records import ParsedArticle, make_article

MIN_WORDS = 25
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_LANG = re.compile(r"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)", re.I)


def decode_html(content: bytes | str, content_type: str | None = None) -> str:
    """Page bytes as text: the declared charset when there is one, else UTF-8 with repairs."""
    if isinstance(content, str):
        return content
    # As browsers do: the HTTP header's charset first, then the page's own <meta>.
    header = f"<meta {content_type}".encode("ascii", "ignore") if content_type else b""
    declared = _CHARSET.search(header) or _CHARSET.search(content[:4096])
    if declared:
        try:
            return content.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: fall through to UTF-8, then detection
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(content).best()
        return str(best) if best is not None else content.decode("utf-8", "replace")


def extract_page(
    content: bytes | str,
    location: str,
    source: str,
    url: str | None = None,
    content_type: str | None = None,
) -> ParsedArticle:
    """The article a page holds: main text, title, author, date and tags."""
    markup = decode_html(content, content_type)
    if not markup.strip():
        raise IngestError(f"{location}: the page is empty")
    doc = _extract(markup, url, favor_precision=True)
    text = _paragraphs(doc)
    if len(text.split()) < MIN_WORDS:
        fallback = _extract(markup, url, favor_precision=False)
        if len(_paragraphs(fallback).split()) > len(text.split()):
            doc, text = fallback, _paragraphs(fallback)
    if not text.strip():
        text = _visible_text(markup)
    if not text.strip():
        raise IngestError(f"{location}: no article text found in the page")
    meta: dict[str, Any] = doc or {}
    canonical = meta.get("url") or url
    tags = _list(meta.get("categories")) + _list(meta.get("tags"))
    guid = canonical or f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"
    return make_article(
        guid=guid,
        title=meta.get("title") or None,
        text=text,
        source=source,
        url=canonical,
        author=meta.get("author") or None,
        published=_date(meta.get("date")),
        tags=tags,
        language=meta.get("language") or _html_lang(markup),
        outlet=outlet_of(meta, canonical),
    )


def outlet_of(meta: dict[str, Any], url: str | None) -> str | None:
    """Who published a page: its declared site name (og:site_name, the site header), else its
    address's host without "www."; None when neither is known."""
    name = " ".join(str(meta.get("sitename") or "").split())
    if name and not name.lower().startswith(("http://", "https://")):
        return name
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def _html_lang(markup: str) -> str | None:
    found = _LANG.search(markup[:5000])
    return found.group(1) if found else None


def _extract(markup: str, url: str | None, favor_precision: bool) -> dict[str, Any] | None:
    try:
        doc = trafilatura.bare_extraction(
            markup,
            url=url,
            favor_precision=favor_precision,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            # Only dates the page states (meta tags, <time>, the URL): a guess from a
            # copyright line ("© 2026" → 1 January) would push the article out of every window.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, etree.LxmlError):
        return None
    if doc is None:
        return None
    return doc if isinstance(doc, dict) else doc.as_dict()


def _paragraphs(doc: dict[str, Any] | None) -> str:
    if not doc or not doc.get("text"):
        return ""
    lines = [" ".join(line.split()) for line in str(doc["text"]).split("\n")]
    title = doc.get("title") or None
    return "\n\n".join(clean_paragraphs([ln for ln in lines if ln], title=title))


def _visible_text(markup: str) -> str:
    try:
        root = lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return ""
    body = root.find("body")
    target = body if body is not None else root
    return html_to_text(lxml_html.tostring(target, encoding="unicode"))


def _list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
