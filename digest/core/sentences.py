"""Sentence splitting that survives abbreviations, initials, decimals, quotes and bullets,
in every script.

Summaries are built from whole sentences, so a bad split shows directly to readers: "Dr." or
"U.S." ending a sentence, a bullet list glued into one run-on, a closing quote left behind.
Beyond Latin punctuation: Chinese and Japanese end sentences with 。！？ and no space after;
Arabic, Persian and Urdu with ؟ and ۔; Hindi and other Indic scripts with । and ॥; Armenian
with ։; Greek asks with ;. A sentence may start with any capital (Latin, Greek, Cyrillic), a
digit, or any letter of a script without case (Arabic, Hebrew, Devanagari, Hangul, ...). Thai
and other texts with no sentence punctuation stay one piece here: the summary cuts them.
"""

from __future__ import annotations

import re

_CLOSE = "\"'”’»)\\]」』）】〕"
# A candidate end: ., ! or ?, an ellipsis, or the Arabic, Indic, Armenian or Greek marks, then
# any closing quotes or brackets, then space.
_END = re.compile(rf"(?:\.{{3}}|…|[.!?؟۔।॥։;])[{_CLOSE}]*(?=\s+)")
# Full-width ends (Chinese, Japanese): no space follows them.
_END_WIDE = re.compile(rf"[。！？｡][{_CLOSE}]*\s*")
# What may start the next sentence: space, an opening quote or bracket, then a letter or digit
# checked by _starts_sentence.
_START = re.compile(r"\s+[\"'“‘«(\[「『（]?(\w)")
_BULLET = re.compile(r"^\s*(?:[•·▪◦‣●○■□–—*\-+]|\d{1,2}[.)])\s+")
_ABBREVIATIONS_WORDS = """
    mr mrs ms mx dr prof sr jr st mt no nos vs etc inc ltd llc plc co corp dept univ assn jan
    feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    gen gov sen rep rev hon pres supt lt col maj capt cmdr sgt cpl pvt adm fig figs approx est
    al e.g i.e cf viz u.s u.k u.n e.u u.s.a n.y d.c a.m p.m ph.d b.a m.a m.d op ed vol pp p ave
    blvd rd hwy ft mt ariz calif colo conn fla ill ind kan mass mich minn miss nev okla ore
    penn tenn tex va wash wis wyo
"""
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_WORDS.split())
_SPACE = re.compile(r"\s+")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")


def _is_abbreviation(chunk: str) -> bool:
    """Whether the text before a full stop ends with an abbreviation or an initial."""
    last = chunk.rsplit(None, 1)[-1] if chunk.strip() else ""
    last = last.lstrip("\"'“‘(«[").rstrip(".").lower()
    if last in _ABBREVIATIONS:
        return True
    # Single letters ("J. K. Rowling") and dotted acronyms ("U.S.", "a.m.") are not sentence ends.
    return bool(re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", last))


def _starts_sentence(ch: str) -> bool:
    """A capital, a digit, or a letter of a script without case; not a lower-case letter."""
    return not ch.islower() and ch != "_"


def _split_block(block: str) -> list[str]:
    out: list[str] = []
    for part in _split_wide(block):
        out.extend(_split_spaced(part))
    return out


def _split_wide(block: str) -> list[str]:
    """Cut after every full-width end mark (。！？), closing quotes kept with the sentence."""
    pieces: list[str] = []
    start = 0
    for match in _END_WIDE.finditer(block):
        if match.end() < len(block):
            pieces.append(block[start : match.end()].strip())
            start = match.end()
    pieces.append(block[start:].strip())
    return [p for p in pieces if p]


def _split_spaced(block: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _END.finditer(block):
        end = match.end()
        nxt = _START.match(block, end)
        if not nxt or not _starts_sentence(nxt.group(1)):
            continue
        if match.group()[0] == ";" and not _GREEK.match(block[match.start() - 1 : match.start()]):
            continue  # a semicolon ends a question only in Greek
        piece = block[start:end]
        if (
            match.group().startswith(".")
            and not match.group().startswith("...")
            and (_is_abbreviation(piece[:-1] if piece.endswith(".") else piece.rstrip("\"'”’»)].")))
        ):
            continue
        out.append(piece.strip())
        start = end
    tail = block[start:].strip()
    if tail:
        out.append(tail)
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`: paragraphs and bullet items are never joined to their neighbours."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        # Inside a paragraph, a line that starts with a bullet is its own item; other line
        # breaks are soft wraps.
        items: list[str] = []
        for line in block.split("\n"):
            if _BULLET.match(line) or not items:
                items.append(_BULLET.sub("", line, count=1))
            else:
                items[-1] += " " + line
        for item in items:
            item = _SPACE.sub(" ", item).strip()
            if item:
                sentences.extend(_split_block(item))
    return [s for s in sentences if s]
