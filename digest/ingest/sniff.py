"""What a fetched document is, before anything parses it: unpacked, as UTF-8, and of which kind.

Servers and folders hand over feeds gzip- or deflate-compressed (a `.gz` file, a server that
compresses without saying so), in UTF-16 or UTF-32 (with or without a byte-order mark), as
JSON Feed, or a sitemap where a feed was expected. Parsers told "this is XML" store such bytes
as garbage articles; here each is recognised from its first bytes, unpacked within the size
cap, re-encoded as UTF-8 with its XML declaration corrected, or refused with one clear line.
"""

from __future__ import annotations

import re
import zlib

from digest.core.errors import IngestError

# Byte-order marks, longest first (UTF-32LE's starts with UTF-16LE's).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xef\xbb\xbf", "utf-8"),
)
# Without a mark, a document starting with "<" (or whitespace) shows its width in its zeros.
_UNMARKED = (
    (re.compile(rb"^(?:[\t\n\r ]\x00\x00\x00)*<\x00\x00\x00"), "utf-32-le"),
    (re.compile(rb"^(?:\x00\x00\x00[\t\n\r ])*\x00\x00\x00<"), "utf-32-be"),
    (re.compile(rb"^(?:[\t\n\r ]\x00)*<\x00[^\x00]\x00"), "utf-16-le"),
    (re.compile(rb"^(?:\x00[\t\n\r ])*\x00<\x00[^\x00]"), "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2")
_META_CHARSET = re.compile(rb"(<meta[^>]+charset\s*=\s*[\"']?)utf-?(?:16|32)(?:[-_]?[bl]e)?", re.I)


def unpack(content: bytes, location: str, max_bytes: int) -> bytes:
    """gzip, zlib or raw-deflate bytes decompressed (at most `max_bytes` out); others as given.

    A Unix `compress` (.Z) file is refused: nothing in the standard library reads it.
    """
    if content[:2] == b"\x1f\x8b":
        return _inflate(content, zlib.MAX_WBITS | 16, location, max_bytes)
    if len(content) > 2 and content[0] == 0x78 and (content[0] << 8 | content[1]) % 31 == 0:
        try:  # a zlib header; a text that happens to start with "x" falls through
            return _inflate(content, zlib.MAX_WBITS, location, max_bytes)
        except _NotCompressed:
            return content
    if content[:2] == b"\x1f\x9d":
        raise IngestError(
            f"{location}: a Unix compress (.Z) file, which digest cannot unpack",
            hint="unpack it first (uncompress or gzip -d), or point the source at the plain file",
        )
    if content and not _looks_textual(content):
        try:  # raw deflate has no header: try it only on bytes that are clearly not text
            return _inflate(content, -zlib.MAX_WBITS, location, max_bytes)
        except IngestError:  # not deflate after all, or too big: left to be refused as binary
            pass
    return content


class _NotCompressed(IngestError):
    """The bytes do not inflate: for a guessed format, a sign they were never compressed."""


def _inflate(content: bytes, wbits: int, location: str, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(content, max_bytes + 1)
    except zlib.error as exc:
        raise _NotCompressed(
            f"{location}: a compressed file that cannot be unpacked ({exc})"
        ) from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise IngestError(
            f"{location}: unpacks to more than the {max_bytes}-byte cap",
            hint="raise ingest.max_bytes if the source is genuine",
        )
    return out


def _looks_textual(content: bytes) -> bool:
    head = content[:512]
    if any(head.startswith(bom) for bom, _ in _BOMS) or any(p.match(head) for p, _ in _UNMARKED):
        return True
    return b"\x00" not in head and sum(b < 9 or 13 < b < 32 for b in head) < len(head) // 20 + 1


def wide_encoding(content: bytes) -> str | None:
    """'utf-16-le', 'utf-32-be', …: the encoding of a UTF-16/32 document, else None."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return None if name == "utf-8" else name
    for pattern, name in _UNMARKED:
        if pattern.match(content[:64]):
            return name
    return None


def to_utf8(content: bytes, location: str) -> bytes:
    """A UTF-16 or UTF-32 document as UTF-8, its XML declaration or meta charset saying so;
    any other document unchanged (its own declaration decides later)."""
    encoding = wide_encoding(content)
    if encoding is None:
        return content
    bom = next((b for b, name in _BOMS if name == encoding and content.startswith(b)), b"")
    try:
        text = content[len(bom) :].decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{location}: looks like {encoding.upper()} but byte {exc.start} is not valid in it",
            hint="save the file as UTF-8",
        ) from None
    out = text.encode("utf-8")
    out = _XML_ENCODING.sub(rb'\1"utf-8"', out, count=1)
    return _META_CHARSET.sub(rb"\1utf-8", out, count=1)


def kind_of(content: bytes) -> str:
    """'feed' (RSS, RDF, Atom), 'json-feed', 'sitemap', 'binary' or 'page', from the start."""
    head = content[:2000].lstrip().lower()
    if head.startswith(b"{") and b"jsonfeed.org/version" in content[:4000].lower():
        return "json-feed"
    if any(marker in head for marker in (b"<urlset", b"<sitemapindex")):
        return "sitemap"
    if any(marker in head for marker in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")):
        return "feed"
    if not _looks_textual(content):
        return "binary"
    return "page"


def prepare(content: bytes, location: str, max_bytes: int) -> bytes:
    """Unpacked and re-encoded: what every parser is given."""
    return to_utf8(unpack(content, location, max_bytes), location)


SITEMAP_ERROR = (
    "a sitemap (a list of page addresses), not a feed or an article",
    "add the site's RSS, Atom or JSON feed instead, or its article pages one by one",
)
BINARY_ERROR = (
    "binary data, not a feed or a web page",
    "check the location; feeds and pages are text (compressed .gz and deflate files are read)",
)
