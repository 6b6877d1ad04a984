"""Render an edition to HTML (CSS inlined, once) and text, with per-recipient slots left open."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from premailer import Premailer

from digest.edition import EditionContent
from digest.errors import TemplateError
from digest.resources import templates_dir
from digest.slots import SlotTemplate, marker

HTML_TEMPLATE = "email/digest.html"
TEXT_TEMPLATE = "email/digest.txt"


@dataclass(frozen=True)
class RenderedEdition:
    """One rendered variant of an edition: HTML with inline styles and text, slots still open."""

    html: SlotTemplate
    text: SlotTemplate


def template_env(user_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 with autoescape for HTML and strict undefined; user templates win by name."""
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
    return env


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
    except (jinja2.UndefinedError, KeyError) as exc:
        where, line = _template_frame(exc.__traceback__, name)
        raise TemplateError(
            f"template {where}, line {line}: {exc}",
            hint="use only the names the template context provides (see docs/templates.md)",
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
    ctx = {**context, "edition": content}
    html = inline_css(render_template(env, HTML_TEMPLATE, ctx))
    text = render_template(env, TEXT_TEMPLATE, ctx)
    return RenderedEdition(html=SlotTemplate.parse(html), text=SlotTemplate.parse(text))
