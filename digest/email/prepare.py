"""An edition made ready to send: rendered once, with what every recipient's message shares.

The send loop, the preview and test copies all start from `prepare`; `variants_of` gives
readers with topic preferences the copy that holds only their sections.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from digest.core.app import App
from digest.core.direction import direction
from digest.core.resources import templates_dir
from digest.editions.content import EditionContent
from digest.email.inlined import cached_inline
from digest.email.message import PreparedEdition
from digest.email.render import RenderedEdition, VariantRenderer, render_edition
from digest.email.rendered import Made, cached_render
from digest.store.editions import EditionRow

log = logging.getLogger(__name__)


def email_context(app: App, edition: EditionRow) -> dict[str, Any]:
    """What the email templates get besides the edition (the same for every variant)."""
    s = app.settings
    return {
        "description": s.newsletter(edition.newsletter).description,
        "postal_address": s.sender.postal_address,
        "sender_name": s.sender.name,
        "base_url": s.base_url,
        "view_url": f"{s.base_url}/archive/{edition.newsletter}/{edition.number}",
        "lang": s.email.language,
        "dir": direction(s.email.language),
    }


def inliner(app: App) -> Callable[[str], str]:
    """CSS inlining that keeps its results under HOME/cache/inlined (see digest.email.inlined)."""
    return partial(cached_inline, folder=app.settings.home / "cache" / "inlined")


def render(app: App, edition: EditionRow, content: EditionContent, check: bool = False) -> Made:
    """`content` (the edition or a variant of it) rendered for the edition's readers, and with
    `check` the email checks' notes; read from HOME/cache/rendered when rendered before."""
    s = app.settings
    context = email_context(app, edition)

    def make() -> Made:
        rendered = render_edition(app.templates, content, context, inliner(app))
        return rendered, (_notes(app, rendered) if check else [])

    user = s.templates_dir
    if user is not None and not user.is_dir():
        return make()  # app.templates says what is wrong with the folder
    roots = ([user] if user else []) + [templates_dir()]
    keyed = {**context, "_notes": [check, s.email.clip_warning_kb]}
    return cached_render(s.home / "cache" / "rendered", content, keyed, roots, make)


def _notes(app: App, rendered: RenderedEdition) -> list[str]:
    """What the email checks find in a rendering (the preview shows the same)."""
    from digest.email.checks import check_email  # lxml: loaded only when rendering

    s = app.settings
    sample = {name: f"{s.base_url}/u/x" for name in rendered.html.slots}
    found = check_email(rendered.html.fill(sample), s.base_url, s.email.clip_warning_kb)
    return [str(f) for f in found]


def prepare(app: App, edition: EditionRow) -> PreparedEdition:
    """Render the edition once and gather what every recipient's message shares."""
    s = app.settings
    nl = s.newsletter(edition.newsletter)
    rendered, notes = render(app, edition, edition.content, check=True)
    # The checks an editor sees in the preview, logged again here for unattended sends.
    for note in notes:
        log.warning("edition %s of %s: %s", edition.number, edition.newsletter, note)
    return PreparedEdition(
        edition_id=edition.id,
        newsletter=edition.newsletter,
        number=edition.number,
        subject=edition.content.subject,
        from_name=s.sender.name,
        from_email=s.sender.email,
        reply_to=s.sender.reply_to,
        list_id=f"{nl.title} <{edition.newsletter}.{s.sender.domain}>",
        rendered=rendered,
    )


def variants_of(
    app: App, edition: EditionRow, full: PreparedEdition
) -> Callable[[tuple[str, ...]], PreparedEdition | None]:
    """For a reader's topics, the copy of the edition they get: only their sections.

    Each distinct set of sections is rendered (and inlined) once per send, on first use; a
    reader whose topics cover every section gets `full` itself. None: no section is theirs.
    """
    renderer = VariantRenderer(edition.content, lambda c: render(app, edition, c)[0])
    everything = renderer.key(None)
    made: dict[tuple[str, ...], PreparedEdition | None] = {}
    lock = threading.Lock()

    def for_topics(topics: tuple[str, ...]) -> PreparedEdition | None:
        key = renderer.key(topics or None)
        if key == everything:
            return full
        with lock:  # send threads share one renderer
            if key not in made:
                rendered = renderer.render(key)
                made[key] = (
                    None
                    if rendered is None
                    else replace(full, rendered=rendered, subject=renderer.subject(key))
                )
            return made[key]

    return for_topics
