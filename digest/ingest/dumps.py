"""Plain-text page dumps: a tag archive split into its articles, or one article cleaned.

A tag archive reads "Tag: X", then one bullet per article ("• Headline"), usually followed by
the headline again and the body. Bullets indented deeper than the article bullets belong to
the article they sit in.
"""

from __future__ import annotations

import re

from digest.ingest.chrome import clean_paragraphs
from digest.ingest.records import ParsedArticle, make_article

_TAG_HEADING = re.compile(r"^\s*(?:tag|tagged|topic|category)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^(\s*)[•▪●◦‣*-]\s+(.+)$")


def split_dump(raw: str, guid_base: str, source: str) -> list[ParsedArticle]:
    """The articles of a text dump: one per archive bullet, or the whole dump as one."""
    lines = raw.replace("\r\n", "\n").split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None:
        heading = _TAG_HEADING.match(lines[first])
        if heading:
            articles = _split_archive(lines[first + 1 :], heading.group(1), guid_base, source)
            if articles:
                return articles
    return [single_article(lines, guid_base, source)]


def single_article(lines: list[str], guid: str, source: str) -> ParsedArticle:
    """One article from a dump's lines: chrome gone, a short first line as headline."""
    paras = clean_paragraphs([_unbullet(ln) for ln in lines if ln.strip()])
    title = None
    if paras and _looks_like_headline(paras[0]) and len(paras) > 1:
        title = paras.pop(0)
    return make_article(guid=guid, title=title, text="\n\n".join(paras), source=source)


def _split_archive(lines: list[str], tag: str, guid_base: str, source: str) -> list[ParsedArticle]:
    bullets = [(i, m) for i, ln in enumerate(lines) if (m := _BULLET.match(ln))]
    if not bullets:
        return []
    depth = min(len(m.group(1)) for _, m in bullets)
    starts = [(i, m.group(2).strip()) for i, m in bullets if len(m.group(1)) == depth]
    out = []
    for n, (start, headline) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        body = [_unbullet(ln) for ln in lines[start + 1 : end] if ln.strip()]
        paras = clean_paragraphs(body, title=headline)
        if not paras:
            continue
        out.append(
            make_article(
                guid=f"{guid_base}#{n + 1}",
                title=headline,
                text="\n\n".join(paras),
                source=source,
                tags=[tag],
            )
        )
    return out


def _unbullet(line: str) -> str:
    m = _BULLET.match(line)
    return m.group(2).strip() if m else line.strip()


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 20 and not line.rstrip().endswith((":", ",", ";"))
