"""Read any subscriber CSV as a stream of (line number, fields), however it was saved.

Encoding (UTF-8 with or without BOM, UTF-16, Latin-1, and files mixing UTF-8 and Latin-1
lines) and delimiter are detected; records are cut by balanced quotes, so one broken quote
costs one row, not the rest of the file; over-long lines are skipped and reported.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE = 1 << 20  # a longer physical line is reported and skipped, never held whole
MAX_RECORD_LINES = 20  # a quoted field may span at most this many lines
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class BadLine:
    """A line that could not become a record, with why."""

    line: int
    reason: str


@dataclass
class ReadStats:
    """What reading noticed: lines decoded as Latin-1, blank lines skipped."""

    encoding: str = ""
    latin1_lines: int = 0
    blank_lines: int = 0


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig', 'utf-16' (with BOM), 'utf-16-le'/'utf-16-be' (without), or 'mixed'.

    'mixed' means UTF-8 line by line, falling back to Windows-1252/Latin-1 for lines that
    are not UTF-8 (spreadsheets saved in Latin-1, or files pasted together).
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
            return "utf-16-le"
        if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
            return "utf-16-be"
    return "mixed"


def _decode(raw: bytes, stats: ReadStats) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.latin1_lines += 1
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def _scrub(line: str) -> str:
    """NUL and lone CR inside a line become spaces (csv chokes on both; neither is data)."""
    if "\x00" in line:
        line = line.replace("\x00", " ")
    body = line.rstrip("\r\n")
    if "\r" in body:
        line = body.replace("\r", " ") + line[len(body) :]
    return line


def physical_lines(fh: BinaryIO, stats: ReadStats) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per physical line; text None for a line over MAX_LINE bytes."""
    head = fh.peek(8192)[:8192] if hasattr(fh, "peek") else b""
    encoding = detect_encoding(head)
    stats.encoding = encoding
    number = 0
    if encoding.startswith("utf-16"):
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        while True:
            line = text.readline(MAX_LINE)
            if not line:
                return
            number += 1
            if len(line) >= MAX_LINE and not line.endswith("\n"):
                while True:  # skip the rest of the over-long line
                    more = text.readline(MAX_LINE)
                    if not more or more.endswith("\n"):
                        break
                yield number, None
                continue
            yield number, _scrub(line.lstrip("\ufeff") if number == 1 else line)
    while True:
        raw = fh.readline(MAX_LINE)
        if not raw:
            return
        number += 1
        if len(raw) >= MAX_LINE and not raw.endswith(b"\n"):
            while True:
                rest = fh.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        yield number, _scrub(_decode(raw, stats))


def records(
    lines: Iterator[tuple[int, str | None]], bad: list[BadLine]
) -> Iterator[tuple[int, str]]:
    """(first line number, record text): lines joined while a quote is open, within limits."""
    pushback: deque[tuple[int, str | None]] = deque()

    def pull() -> tuple[int, str | None] | None:
        if pushback:
            return pushback.popleft()
        return next(lines, None)

    while True:
        item = pull()
        if item is None:
            return
        number, text = item
        if text is None:
            bad.append(BadLine(number, f"line longer than {MAX_LINE} bytes"))
            continue
        if text.count('"') % 2 == 0:
            yield number, text
            continue
        taken: list[tuple[int, str]] = [(number, text)]
        quotes = text.count('"')
        size = len(text)
        closed = False
        while len(taken) < MAX_RECORD_LINES and size < MAX_LINE:
            nxt = pull()
            if nxt is None or nxt[1] is None:
                if nxt is not None:
                    pushback.appendleft(nxt)
                break
            taken.append((nxt[0], nxt[1]))
            quotes += nxt[1].count('"')
            size += len(nxt[1])
            if quotes % 2 == 0:
                closed = True
                break
        if closed:
            yield number, "".join(t for _, t in taken)
            continue
        # Unclosed quote: this line is rejected, the lines after it are read again on their own.
        bad.append(BadLine(number, 'unbalanced quote (a field opened with " is never closed)'))
        pushback.extendleft(reversed(taken[1:]))


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns (',' on a tie)."""
    outside = []
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    text = "".join(outside)
    best = max(DELIMITERS, key=lambda d: (text.count(d), d == ","))
    return best if text.count(best) else ","


class RowReader:
    """Iterate (line number, fields) over a binary file; the header row comes first."""

    def __init__(self, fh: BinaryIO) -> None:
        self.stats = ReadStats()
        self.bad: list[BadLine] = []
        self._records = records(physical_lines(fh, self.stats), self.bad)
        self._current = 0
        self.delimiter = ","

    def _texts(self) -> Iterator[str]:
        for number, text in self._records:
            if not text.strip():
                self.stats.blank_lines += 1
                continue
            self._current = number
            yield text

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        texts = self._texts()
        first = next(texts, None)
        if first is None:
            return
        self.delimiter = sniff_delimiter(first)
        parse = csv.reader(
            _chain(first, texts), delimiter=self.delimiter, quotechar='"', strict=False
        )
        while True:
            try:
                fields = next(parse)
            except StopIteration:
                return
            except csv.Error as exc:
                self.bad.append(BadLine(self._current, f"malformed row: {exc}"))
                continue
            yield self._current, fields


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
