"""Writing systems: which text runs without spaces, how to count and cut it.

Summaries, headlines and similarity all count "words". Chinese, Japanese, Thai, Lao, Khmer and
Burmese write without spaces between words, so a space-split count calls a whole paragraph
one word; Arabic and Hebrew read right to left and have no letter case. These helpers give the
rest of the pipeline one answer for every script, from the characters alone (no model, no
dictionary): unspaced runs are measured and compared by characters. Which way a text reads
is digest.core.direction's to say.
"""

from __future__ import annotations

import re
import unicodedata

from digest.core.direction import LETTER

# Scripts written without spaces between words: Han, kana (and the half-width forms),
# Thai, Lao, Khmer, Myanmar, plus CJK punctuation that sits inside such runs.
UNSPACED_CLASS = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f"
)
_UNSPACED = re.compile(f"[{UNSPACED_CLASS}]")
_UNSPACED_RUN = re.compile(f"[{UNSPACED_CLASS}]+")
# A letter or digit of a spaced script; words are runs of them. A word as counted keeps
# hyphenated compounds whole; a word as compared splits them.
_SPACED = f"(?:(?![{UNSPACED_CLASS}])[^\\W_])+"
# With the unspaced characters taken out, words are plain \w runs (much faster to find).
_PLAIN_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_SPACED_WORD = re.compile(f"{_SPACED}(?:['’]{_SPACED})*")
_PLAIN_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_PIECE = re.compile(rf"[{UNSPACED_CLASS}]|(?:(?![{UNSPACED_CLASS}])\S)+")
_WIDE_END = re.compile("[。！？｡][」』）】〕]*$")
_SOFT_BREAKS = (" ", "、", "，", "；")
# How many characters of an unspaced script stand for one word, for budgets and counts
# (Chinese words average 1.5-2 characters; Japanese and Thai a little more).
CHARS_PER_WORD = 2


def unspaced_chars(text: str) -> int:
    """How many characters of `text` belong to a script written without spaces."""
    return len(_UNSPACED.findall(text))


def word_units(text: str) -> int:
    """Words as a reader would count them: spaced words, plus unspaced characters ÷ 2."""
    unspaced = unspaced_chars(text)
    if unspaced:
        text = _UNSPACED.sub(" ", text)
    return len(_PLAIN_WORD.findall(text)) + -(-unspaced // CHARS_PER_WORD)


def mostly_cased(text: str) -> bool:
    """Whether most letters have a case (Latin, Greek, Cyrillic): only then do capitals mean
    something, e.g. that a line with no lower-case letter is a menu or a name."""
    letters = LETTER.findall(text)
    cased = sum(1 for ch in letters if ch.isupper() or ch.islower())
    return bool(letters) and cased * 2 > len(letters)


def tokens(text: str) -> list[str]:
    """Lower-cased words of spaced scripts and character pairs of unspaced runs.

    Pairs (bigrams) of Chinese, Japanese or Thai characters are what overlap between two
    texts on the same subject without a segmenter; a single character is kept only when its
    run is one character long.
    """
    if not _UNSPACED.search(text):
        return [w.lower() for w in _PLAIN_TOKEN.findall(text)]
    out: list[str] = []
    pos = 0
    for run in _UNSPACED_RUN.finditer(text):
        out.extend(w.lower() for w in _SPACED_WORD.findall(text, pos, run.start()))
        chars = run.group()
        out.extend(chars[i : i + 2] for i in range(max(1, len(chars) - 1)))
        pos = run.end()
    out.extend(w.lower() for w in _SPACED_WORD.findall(text, pos))
    return out


def cut(text: str, max_units: int) -> str:
    """`text` cut to about `max_units` word units at a word (or character) boundary, with an
    ellipsis when anything was cut off; whole when it fits."""
    if word_units(text) <= max_units:
        return text
    units = 0.0
    end = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        units += 1 if _UNSPACED.fullmatch(piece) is None else 1 / CHARS_PER_WORD
        if units > max_units:
            break
        end = match.end()
    head = text[:end]
    if head and end < len(text) and _UNSPACED.match(head[-1]) and _UNSPACED.match(text[end]):
        head = _soft_cut(text, end)
    head = head.rstrip(" ,;:、，；：")
    return (head or text[: max_units * CHARS_PER_WORD]) + "…"


def join_sentences(sentences: list[str]) -> str:
    """Sentences as one paragraph: a space between them, none after a full-width end mark
    (Chinese and Japanese do not space sentences)."""
    out = ""
    for sentence in sentences:
        if out and not _WIDE_END.search(out):
            out += " "
        out += sentence
    return out


def _soft_cut(text: str, end: int) -> str:
    """Where to cut inside a run of an unspaced script near `end`: Thai separates phrases
    with spaces, Chinese and Japanese with commas. Take the last such break past the first
    third, else the next one within half as much again, else the character boundary (never
    before a combining vowel or tone mark)."""
    head = text[:end]
    back = max(head.rfind(mark) for mark in _SOFT_BREAKS)
    if back >= end * 0.3:
        return head[:back]
    ahead = [i for i in (text.find(mark, end, end + end // 2) for mark in _SOFT_BREAKS) if i > 0]
    if ahead:
        return text[: min(ahead)]
    while end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end += 1
    return text[:end]
