"""The Jinja2 environment that email and web pages share, its filters, and one way to render.

Every template error comes out as a TemplateError naming the file and line, whichever page or
email it belongs to.
"""

from __future__ import annotations

import html as htmllib
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import nh3
from markupsafe import Markup

from digest.core import textpart as text_part
from digest.core.errors import TemplateError
from digest.core.resources import templates_dir
from digest.core.slots import marker

# What an editor's intro (or any other HTML let into the email) may contain: inline markup,
# paragraphs, lists and links. Everything else is dropped by nh3, never passed through `|safe`.
ALLOWED_TAGS = {"a", "b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def template_env(user_dir: Path | None = None, cache: Path | None = None) -> jinja2.Environment:
    """Jinja2 with autoescape for HTML and strict undefined; user templates win by name.

    With `cache`, compiled templates are kept there (jinja2's bytecode cache, checked against
    each template's source), so a new process does not compile them again."""
    if user_dir is not None and not user_dir.is_dir():
        # Silently falling back to ours would send an email the operator did not design.
        raise TemplateError(
            f"templates_dir {user_dir} is not a folder",
            hint="fix templates_dir, or create it with `digest templates copy DIR`",
        )
    search = [str(user_dir)] if user_dir else []
    search.append(str(templates_dir()))
    bytecode = None
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(cache))
        except OSError:  # a read-only home: compile in every process, as before
            bytecode = None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        bytecode_cache=bytecode,
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["slot"] = marker
    env.filters["sanitize"] = sanitize
    env.filters["plaintext"] = plaintext
    # The text part's filters (see digest.core.textpart).
    env.filters["wrap"] = text_part.wrap
    env.filters["labelled"] = text_part.labelled
    env.filters["html_to_text"] = text_part.html_to_text
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
