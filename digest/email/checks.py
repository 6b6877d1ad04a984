"""Checks on a rendered email, run at render time: size against Gmail's clipping, links, images.

Pure functions over the HTML: they return findings and never change the email, so the preview,
the web app and the send path can all show the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import html as lxml_html

# Gmail hides everything after the first ~102 KB of an HTML part behind "[Message clipped]",
# including the unsubscribe link in the footer.
GMAIL_CLIP_BYTES = 102 * 1024
DEFAULT_WARN_KB = 90


@dataclass(frozen=True)
class Finding:
    """One problem found in a rendered email, with what to do about it."""

    level: Literal["warning", "error"]
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def check_email(html: str, base_url: str, warn_kb: int = DEFAULT_WARN_KB) -> list[Finding]:
    """Every finding for one personalised HTML part (size, links, images)."""
    doc = lxml_html.document_fromstring(html)
    return [*check_size(html, doc, warn_kb), *check_links(doc, base_url), *check_images(doc)]


def check_size(html: str, doc: lxml_html.HtmlElement, warn_kb: int) -> list[Finding]:
    """A warning above `warn_kb`, an error above Gmail's clipping point; names stories to cut."""
    size = len(html.encode("utf-8"))
    limit = warn_kb * 1024
    if size <= limit:
        return []
    level: Literal["warning", "error"] = "error" if size > GMAIL_CLIP_BYTES else "warning"
    cut = stories_to_cut(doc, size - limit)
    advice = f"; cut these stories to fit: {'; '.join(cut)}" if cut else ""
    return [
        Finding(
            level,
            f"HTML part is {size / 1024:.1f} KB, above {warn_kb} KB "
            f"(Gmail clips messages above {GMAIL_CLIP_BYTES // 1024} KB){advice}",
        )
    ]


def stories_to_cut(doc: lxml_html.HtmlElement, excess: int) -> list[str]:
    """Headlines of the last stories whose removal saves at least `excess` bytes."""
    blocks = doc.find_class("story")
    chosen: list[str] = []
    saved = 0
    for block in reversed(blocks):
        if saved >= excess:
            break
        saved += len(lxml_html.tostring(block, encoding="utf-8"))
        heading = block.find(".//h3")
        text = heading.text_content() if heading is not None else block.text_content()
        chosen.append(" ".join(text.split())[:80])
    return chosen


def check_links(doc: lxml_html.HtmlElement, base_url: str) -> list[Finding]:
    """Every link is absolute https, mailto, or under the configured base URL."""
    found = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        label = " ".join(a.text_content().split())[:60] or "(no text)"
        if not href:
            found.append(Finding("error", f"link {label!r} has no href"))
        elif not (
            href.startswith(("https://", "mailto:")) or href.startswith(base_url.rstrip("/") + "/")
        ):
            found.append(
                Finding(
                    "error",
                    f"link {label!r} goes to {href[:100]!r}: links must be absolute https "
                    f"(or under base_url {base_url})",
                )
            )
    return found


def check_images(doc: lxml_html.HtmlElement) -> list[Finding]:
    """Every image has alt text, a width and a height, and an absolute https source."""
    found = []
    for img in doc.iter("img"):
        src = img.get("src") or ""
        name = src.rsplit("/", 1)[-1][:60] or "(no src)"
        missing = [attr for attr in ("alt", "width", "height") if img.get(attr) is None]
        if missing:
            found.append(Finding("error", f"image {name!r} has no {', '.join(missing)}"))
        if not src.startswith("https://"):
            found.append(Finding("error", f"image {name!r} is not loaded over absolute https"))
    return found
