"""Render an edition to HTML (CSS inlined, once) and text, with per-recipient slots left open."""

from __future__ import annotations

import html as htmllib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import nh3
from markupsafe import Markup
from premailer import Premailer

from digest.edition import EditionContent, preheader
from digest.errors import TemplateError
from digest.resources import templates_dir
from digest.slots import SlotTemplate, marker

HTML_TEMPLATE = "email/digest.html"
TEXT_TEMPLATE = "email/digest.txt"

# What an editor's intro (or any other HTML let into the email) may contain: inline markup,
# paragraphs, lists and links. Everything else is dropped by nh3, never passed through `|safe`.
ALLOWED_TAGS = {"a", "b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Values every template may rely on even when the caller does not pass them.
DEFAULT_CONTEXT: dict[str, Any] = {"lang": "en", "description": "", "postal_address": ""}


@dataclass(frozen=True)
class RenderedEdition:
    """One rendered variant of an edition: HTML with inline styles and text, slots still open."""

    html: SlotTemplate
    text: SlotTemplate


def template_env(user_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 with autoescape for HTML and strict undefined; user templates win by name."""
    if user_dir is not None and not user_dir.is_dir():
        # Silently falling back to ours would send an email the operator did not design.
        raise TemplateError(
            f"templates_dir {user_dir} is not a folder",
            hint="fix templates_dir, or create it with `digest templates copy DIR`",
        )
    search = [str(user_dir)] if user_dir else []
    search.append(str(templates_dir()))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["slot"] = marker
    env.filters["sanitize"] = sanitize
    env.filters["plaintext"] = plaintext
    return env


def sanitize(value: str) -> Markup:
    """Untrusted HTML reduced to the allow-list (links get https/mailto only)."""
    return Markup(
        nh3.clean(
            str(value),
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"https", "http", "mailto"},
            link_rel="noopener",
        )
    )


def plaintext(value: str) -> str:
    """HTML (or plain text) as plain text for the text part: tags dropped, entities decoded."""
    return htmllib.unescape(nh3.clean(str(value), tags=set()))


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; any failure becomes a TemplateError naming template and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise TemplateError(
            f"template {where}, line {exc.lineno}: {exc.message}", hint="fix the template syntax"
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            f"template {exc.name} not found",
            hint="check templates_dir; `digest templates copy DIR` writes the built-in ones",
        ) from None
    except jinja2.UndefinedError as exc:
        where, line = _template_frame(exc.__traceback__, name)
        raise TemplateError(
            f"template {where}, line {line}: {exc}",
            hint="use only the names the template context provides (see docs/templates.md)",
        ) from None
    except Exception as exc:
        # Anything else raised while a template ran (a bad filter argument, an unknown slot,
        # a division by zero) is the template's fault too: say where.
        where, line = _template_frame(exc.__traceback__, name)
        raise TemplateError(
            f"template {where}, line {line}: {type(exc).__name__}: {exc}",
            hint="see docs/templates.md for the context, filters and slots templates may use",
        ) from None


def _template_frame(tb: TracebackType | None, default: str) -> tuple[str, int | str]:
    """The innermost traceback frame that belongs to a template file."""
    found: tuple[str, int | str] = (default, "?")
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".txt", ".css", ".xml")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def inline_css(html: str) -> str:
    """Inline the CSS into style attributes; @media rules stay in a <style> block."""
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
    env: jinja2.Environment, content: EditionContent, context: dict[str, Any]
) -> RenderedEdition:
    """Render and inline once; the result is personalised per recipient with `SlotTemplate.fill`."""
    ctx = {**DEFAULT_CONTEXT, **context, "edition": content}
    html = inline_css(render_template(env, HTML_TEMPLATE, ctx))
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
    # The preheader must describe what this reader gets, not stories cut from their copy.
    return replace(
        content, sections=kept, preheader=preheader([st for sec in kept for st in sec.stories])
    )


class VariantRenderer:
    """Renders an edition once per variant (the set of sections a reader gets), on demand.

    Readers whose topics cover every section share the full render; premailer runs once per
    distinct set of sections, never per reader.
    """

    def __init__(
        self, env: jinja2.Environment, content: EditionContent, context: dict[str, Any]
    ) -> None:
        self.env = env
        self.content = content
        self.context = context
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
            chosen = variant(self.content, key)
            self._cache[key] = render_edition(self.env, chosen, self.context)
        return self._cache[key]

    @property
    def renders(self) -> int:
        """How many variants were rendered so far."""
        return len(self._cache)
