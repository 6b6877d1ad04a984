"""Site chrome that extractors and page dumps let through, removed by general rules.

The rules look at where a line is (the head or tail of the text), how short it is, whether it
reads like a link, a path or a file name rather than prose, and whether it repeats; a few
patterns name chrome every site shares (skip links, comment forms, "Powered by"), never one
site's sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SHORT = 12  # words: lines this short may be chrome when other signs agree
HEAD, TAIL = 4, 6  # lines at the start and end where navigation and credits sit
MAX_TAIL_TRIM = 4
_SENTENCE_END = re.compile(r"[.!?…\"”’)]$")
_BREADCRUMB = re.compile(r"\s(?:»|›|>|→|/|\|)\s")
_STRONG_BREADCRUMB = re.compile(r"\s[»›]\s")  # these arrows are not used in prose
_DOMAIN = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|io|co|ai|info|news)\b")
_FILENAME = re.compile(r"^[\w.-]+\.(?:jpe?g|png|gif|webp|svg|avif|pdf)$|^[a-z0-9]+(?:_[a-z0-9]+)+$")
_COMMON_CHROME = re.compile(
    r"^(?:skip to (?:main )?(?:content|navigation|main)|jump to (?:content|navigation)"
    r"|leave a (?:reply|comment)|post a comment|\d+ comments?|share (?:this|on)\b.*"
    r"|powered by\b.*|(?:image|photo|picture|credit)s?\s*(?::|by\b).*|advertisement"
    r"|related (?:posts|articles|stories)|read more|subscribe(?: now)?|sign up\b.*"
    r"|.*required fields are marked.*|.*email address will not be published.*)$",
    re.IGNORECASE,
)


def is_chrome_line(line: str, edge: bool = True) -> bool:
    """True for lines no article says: skip links, comment forms, captions, file names.

    Breadcrumbs and bare web addresses count only at an `edge` (the first or last few lines):
    inside the body a short link line is usually part of the article (a list of sources).
    """
    text = line.strip()
    if not text:
        return True
    words = text.split()
    if _COMMON_CHROME.match(text):
        return True
    if len(words) == 1 and _FILENAME.match(text):
        return True
    if not edge or _SENTENCE_END.search(text) or text.startswith("|"):
        return False
    if len(words) <= SHORT and _BREADCRUMB.search(text):
        return True
    if len(words) <= 3 * SHORT and _STRONG_BREADCRUMB.search(text):
        return True
    # A short line that is mostly a web address is a credit or a link, not prose.
    return len(words) <= 4 and bool(_DOMAIN.search(text))


def clean_paragraphs(paras: Sequence[str], title: str | None = None) -> list[str]:
    """The paragraphs without chrome: head and tail trimmed, chrome lines and repeats gone."""
    lines = [p.strip() for p in paras if p.strip()]
    head_title = _norm(title) if title else None
    out: list[str] = []
    for index, line in enumerate(lines):
        if is_chrome_line(line, edge=index < HEAD or index >= len(lines) - TAIL):
            continue
        # The headline repeated at the top of the body is already the title.
        if head_title and index < 5 and _norm(line) == head_title:
            continue
        out.append(line)
    return _trim_tail(out)


def _trim_tail(lines: list[str]) -> list[str]:
    """Drop an author box (a short name line shown twice, then a bio) and short tail lines."""
    tail_start = max(0, len(lines) - 8)
    for i in range(tail_start, len(lines) - 1):
        short = len(lines[i].split()) <= 4
        if short and _norm(lines[i]) == _norm(lines[i + 1]):
            lines = lines[:i]
            break
    run = 0
    for line in reversed(lines):
        if len(line.split()) <= SHORT and (not _SENTENCE_END.search(line) or line.endswith("*")):
            run += 1
        else:
            break
    # A longer run of short lines at the end is a list that belongs to the article.
    if 0 < run <= MAX_TAIL_TRIM:
        lines = lines[:-run]
    return lines


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
