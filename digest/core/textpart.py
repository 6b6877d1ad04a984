"""The text part's prose: wrapped for reading, never inside a URL, every link kept.

A plain-text reader (or a client that prefers the text part) must be able to follow every link
the HTML offers and to click every URL, so URLs stand whole on their own line or at the end of
a labelled one, links inside the editor's intro become numbered references listed after it,
and prose wraps at WIDTH columns without breaking a word. Text in a script without spaces
(Chinese, Japanese, Thai), and a word longer than a line, wraps between characters. Pure
functions, used as Jinja filters.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

import nh3
from lxml import html as lxml_html

WIDTH = 76
_URL = re.compile(r"^(?:\[\d+\] )?(?:https?|mailto):\S+$")
_BLOCKS = {"p", "ul", "ol", "li", "blockquote", "div", "h1", "h2", "h3", "h4", "h5", "h6"}


def wrap(text: str, width: int = WIDTH) -> str:
    """Paragraphs (blank-line separated) wrapped at `width`; single line breaks kept."""
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    return "\n\n".join(
        "\n".join(_wrap_line(line, width) for line in para.split("\n")) for para in paragraphs
    )


def _wrap_line(line: str, width: int) -> str:
    lines = textwrap.wrap(
        " ".join(line.split()), width, break_long_words=False, break_on_hyphens=False
    )
    out: list[str] = []
    for piece in lines:
        if len(piece) > width and not _URL.match(piece):
            out.extend(_cut_characters(piece, width))
        else:
            out.append(piece)
    return "\n".join(out)


def _cut_characters(text: str, width: int) -> list[str]:
    """A run with no spaces (Chinese, Thai, an 80-letter compound) cut every `width`
    characters, never before a combining mark."""
    out: list[str] = []
    while len(text) > width:
        end = width
        while end < len(text) and unicodedata.category(text[end]).startswith("M"):
            end += 1
        out.append(text[:end])
        text = text[end:]
    if text:
        out.append(text)
    return out


def labelled(url: str, label: str, width: int = WIDTH) -> str:
    """'Read it: URL' on one line when it fits, else the label with the URL on the next."""
    one = f"{label} {url}"
    return one if len(one) <= width else f"{label}\n{url}"


def html_to_text(markup: str, width: int = WIDTH) -> str:
    """An editor's intro (allow-listed HTML) as text: paragraphs and list items kept, each
    link marked [n] and listed with its URL after the text."""
    clean = nh3.clean(str(markup), tags=_BLOCKS | {"a", "br", "b", "strong", "i", "em"})
    if not clean.strip():
        return ""
    root = lxml_html.fragment_fromstring(clean, create_parent="div")
    links: list[str] = []
    parts: list[str] = []
    _walk(root, parts, links)
    body = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parts))
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    text = wrap(body, width)
    if links:
        text += "\n\n" + "\n".join(f"[{n}] {url}" for n, url in enumerate(links, start=1))
    return text


def _walk(node: lxml_html.HtmlElement, parts: list[str], links: list[str]) -> None:
    tag = node.tag if isinstance(node.tag, str) else ""
    if tag in _BLOCKS:
        parts.append("\n\n")
    if tag == "li":
        parts.append("- ")
    if tag == "br":
        parts.append("\n")
    parts.append(node.text or "")
    for child in node:
        _walk(child, parts, links)
    if tag == "a" and node.get("href"):
        links.append(node.get("href"))
        parts.append(f" [{len(links)}]")
    if tag in _BLOCKS:
        parts.append("\n\n")
    parts.append(node.tail or "")
