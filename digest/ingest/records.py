"""What every source kind produces: one parsed article, not yet stored."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any

from digest.core.scripts import cut, word_units
from digest.core.sentences import split_sentences
from digest.core.text import content_hash, normalise, word_count

MAX_KEY = 2048  # longest guid or URL the articles table holds
_RELATIVE = re.compile(r"^\s*-\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$")


@dataclass(frozen=True)
class ParsedArticle:
    """An article as a source gave it, normalised; `published` None means undated."""

    guid: str
    title: str
    text: str
    source: str
    url: str | None = None
    author: str | None = None
    published: datetime | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None
    outlet: str | None = None  # the publisher, when not the source (a page's site name)

    @cached_property
    def content_hash(self) -> str:
        """Hash of the text, for spotting the same article under another guid."""
        return content_hash(self.text)

    @cached_property
    def word_count(self) -> int:
        """Words in the body."""
        return word_count(self.text)


def make_article(
    *,
    guid: str,
    title: str | None,
    text: str,
    source: str,
    url: str | None = None,
    author: str | None = None,
    published: datetime | None = None,
    tags: list[str] | tuple[str, ...] = (),
    language: str | None = None,
    outlet: str | None = None,
) -> ParsedArticle:
    """Normalise the fields and derive a title when the source had none."""
    body = normalise(text)
    heading = normalise(title or "").replace("\n\n", " ")
    if not heading:
        heading = derive_title(body)
    if len(guid) > MAX_KEY:  # longer than the column: a stable digest stands in for it
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return ParsedArticle(
        guid=guid,
        title=heading[:500],
        text=body,
        source=source[:200],
        url=url if url and len(url) <= MAX_KEY else None,
        author=(normalise(author)[:200] or None) if author else None,
        published=published,
        tags=normalise_tags(tags),
        language=normalise_language(language),
        outlet=(" ".join(outlet.split())[:200] or None) if outlet else None,
    )


def normalise_language(value: str | None) -> str | None:
    """A language tag such as 'en' or 'pt-BR' from what a source declared, or None."""
    if not value:
        return None
    tag = str(value).strip().replace("_", "-").split(",")[0].split(";")[0]
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", tag):
        return None
    primary, *rest = tag.split("-")
    return "-".join([primary.lower(), *(r.upper() if len(r) == 2 else r for r in rest)])[:35]


# A tag page's count shown after the name: "congress (507 posts)", "senate (289)".
_COUNT = re.compile(r"\s*\(\s*\d[\d,.\s]*(?:[^\W\d_]+\s*)?\)\s*$")


def normalise_tags(tags: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Lower-case, trimmed, unique tags in their first order, without a trailing post count."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = _COUNT.sub("", " ".join(str(tag).split())).lower()
        if clean:
            seen.setdefault(clean[:100], None)
    return tuple(seen)


def derive_title(text: str, max_words: int = 12) -> str:
    """A headline from the first sentence, for sources that have none; never empty."""
    sentences = split_sentences(text)
    if not sentences:
        return "Untitled"
    # Lead-ins such as "Key Takeaways:" or a lone word are not the story's first sentence.
    usable = [s for s in sentences if word_units(s) >= 4 and not s.rstrip().endswith(":")]
    first = usable[0] if usable else sentences[0]
    return cut(first.rstrip(".!?。！？؟।"), max_words)


def parse_date(value: Any, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A publication time from front matter: ISO date/time, a YAML date, or '-3d' / '-5h' / '-30m'.

    Relative values count back from `now`, so samples and fixtures stay recent. Times without
    a zone are taken in `tz`. Raises ValueError with what is accepted.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=tz)
    if isinstance(value, str):
        rel = _RELATIVE.match(value)
        if rel:
            amount, unit = float(rel.group(1)), rel.group(2)
            delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
                unit, timedelta(minutes=amount)
            )
            return now - delta
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise ValueError(
        f"date {value!r} is not understood; use 2026-11-20, 2026-11-20T08:30:00+01:00, or -3d/-5h"
    )
