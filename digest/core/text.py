"""Small text helpers shared by ingestion and summaries: normalising, hashing, counting."""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

WORDS_PER_MINUTE = 230

_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def normalise(text: str) -> str:
    """NFC, entities decoded, spaces tidied, paragraphs separated by one blank line."""
    text = (
        unicodedata.normalize("NFC", html.unescape(text)).replace("\r\n", "\n").replace("\r", "\n")
    )
    text = text.replace("\x00", "")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_SPACE.sub(" ", line).strip() for line in block.split("\n")]
        joined = " ".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of normalised text."""
    return [p for p in text.split("\n\n") if p.strip()]


def content_hash(text: str) -> str:
    """A hash of the text that ignores case, spacing and punctuation, for duplicate detection."""
    words = _WORD.findall(text.lower())
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def near_identical(a: str, b: str, threshold: float = 0.9) -> bool:
    """True when two texts share at least `threshold` of their word 3-grams (Jaccard).

    Catches a republished copy with a line added or a typo fixed; unrelated texts on the
    same subject share far fewer.
    """
    sa, sb = _trigrams(a), _trigrams(b)
    if not sa or not sb:
        return False
    return len(sa & sb) / len(sa | sb) >= threshold


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def word_count(text: str) -> int:
    """Words in the text; characters of Chinese, Japanese or Thai count two to a word."""
    # Imported here: the scripts' patterns cost more to compile than commands that only
    # format text (every command loads this module) should pay.
    from digest.core.scripts import word_units

    return word_units(text)


def reading_minutes(words: int) -> int:
    """Minutes a reader needs, at least one."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 story', '2 stories', '1,000 readers': a count with its noun in the right number."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {plural or (noun[:-1] + 'ies' if noun.endswith('y') else noun + 's')}"


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def hide_password(text: str) -> str:
    """Any URL's password in `text` replaced by ***, for messages and logs."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def in_zone(when: datetime | None, zone: str) -> str:
    """A time as editors and operators read it: in the newsletter's zone, with the zone."""
    return f"{when.astimezone(ZoneInfo(zone)):%a %d %b %Y %H:%M %Z}" if when else ""
