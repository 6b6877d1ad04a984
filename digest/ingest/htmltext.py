"""HTML fragments (feed content, titles) to plain paragraphs, with active content dropped."""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

# Never part of an article's words: code, styling, embeds, forms and media.
_DROP = (
    "script", "style", "iframe", "noscript", "object", "embed", "form", "button", "svg",
    "img", "video", "audio", "canvas", "template", "input", "select", "textarea",
)  # fmt: skip
_BLOCKS = {
    "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "dd",
    "dt", "figcaption", "section", "article", "header", "footer", "ul", "ol", "table", "br",
}  # fmt: skip


def html_to_text(fragment: str) -> str:
    """Paragraph text of an HTML fragment: one paragraph per block, scripts and media gone."""
    if "<" not in fragment:
        return fragment
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment
    for el in list(root.iter(*_DROP)):
        if el.getparent() is not None:
            el.drop_tree()
    parts: list[str] = []
    _walk(root, parts)
    text = "".join(parts)
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())


def _walk(el: lxml_html.HtmlElement, out: list[str]) -> None:
    block = isinstance(el.tag, str) and el.tag in _BLOCKS
    if block:
        out.append("\n\n")
    if el.text and isinstance(el.tag, str):
        out.append(el.text)
    for child in el:
        _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if block:
        out.append("\n\n")
