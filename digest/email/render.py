"""Render an edition to HTML (CSS inlined, once) and text, with per-recipient slots left open."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from digest.core.slots import SlotTemplate
from digest.editions.content import EditionContent, ranked_stories

if TYPE_CHECKING:
    import jinja2

HTML_TEMPLATE = "email/digest.html"
TEXT_TEMPLATE = "email/digest.txt"

# Values every template may rely on even when the caller does not pass them.
DEFAULT_CONTEXT: dict[str, Any] = {
    "lang": "en", "dir": "ltr", "description": "", "postal_address": "", "sender_name": "",
}  # fmt: skip


@dataclass(frozen=True)
class RenderedEdition:
    """One rendered variant of an edition: HTML with inline styles and text, slots still open."""

    html: SlotTemplate
    text: SlotTemplate


def inline_css(html: str) -> str:
    """Inline the CSS into style attributes; @media rules stay in a <style> block."""
    from premailer import Premailer  # imported on use: a send that finds it cached never does

    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    return str(
        Premailer(
            html,
            allow_network=False,
            # Keep !important: dark-mode and narrow-screen overrides depend on it.
            strip_important=False,
            cache_css_parsing=True,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
        ).transform()
    )


def render_edition(
    env: jinja2.Environment,
    content: EditionContent,
    context: dict[str, Any],
    inline: Callable[[str], str] = inline_css,
) -> RenderedEdition:
    """Render and inline once; the result is personalised per recipient with `SlotTemplate.fill`.

    `inline` does the inlining: `inline_css`, or one that keeps results (digest.email.inlined).
    """
    # Imported here: a send that finds its edition rendered (digest.email.rendered) never
    # loads Jinja2 and the filters' libraries.
    from digest.core.templating import render_template

    ctx = {**DEFAULT_CONTEXT, **context, "edition": content}
    html = inline(render_template(env, HTML_TEMPLATE, ctx))
    text = render_template(env, TEXT_TEMPLATE, ctx)
    return RenderedEdition(html=SlotTemplate.parse(html), text=SlotTemplate.parse(text))


def variant(content: EditionContent, topics: Iterable[str] | None) -> EditionContent:
    """The edition a reader with these topic preferences gets (None: every section)."""
    if topics is None:
        return content
    wanted = set(topics)
    kept = [s for s in content.sections if s.tag in wanted]
    if len(kept) == len(content.sections):
        return content
    # The builder's preheader, loaded only for a copy that leaves sections out: a send whose
    # readers get the whole edition starts without the edition builder's modules.
    from digest.editions.build import preheader

    # The subject and preheader must name what this reader gets, not stories cut from
    # their copy: a subject naming the edition's top story names this copy's top one instead.
    carried = sorted((st for sec in kept for st in sec.stories), key=lambda st: st.rank)
    subject = content.subject
    top = ranked_stories(content)
    if top and carried and top[0] not in carried and top[0].headline in subject:
        subject = subject.replace(top[0].headline, carried[0].headline)
    return replace(content, sections=kept, subject=subject, preheader=preheader(carried, subject))


class VariantRenderer:
    """Renders an edition once per variant (the set of sections a reader gets), on demand.

    Readers whose topics cover every section share the full render; `render` (of an edition's
    content) runs once per distinct set of sections, never per reader.
    """

    def __init__(
        self, content: EditionContent, render: Callable[[EditionContent], RenderedEdition]
    ) -> None:
        self.content = content
        self._render = render
        self._cache: dict[tuple[str, ...], RenderedEdition] = {}

    def key(self, topics: Iterable[str] | None) -> tuple[str, ...]:
        """The section tags a reader with these topics gets, in edition order."""
        return tuple(s.tag for s in variant(self.content, topics).sections)

    def render(self, topics: Iterable[str] | None = None) -> RenderedEdition | None:
        """The rendered variant for these topics; None when none of its sections is wanted."""
        key = self.key(topics)
        if not key:
            return None
        if key not in self._cache:
            self._cache[key] = self._render(variant(self.content, key))
        return self._cache[key]

    def subject(self, topics: Iterable[str] | None = None) -> str:
        """The subject of the variant for these topics (it names a story that copy carries)."""
        return variant(self.content, topics).subject

    @property
    def renders(self) -> int:
        """How many variants were rendered so far."""
        return len(self._cache)
