"""Rendered editions kept on disk by a hash of everything rendering reads.

Every `digest send`, `--worker` process and resume renders the same edition its preview
already rendered; the first one keeps the result under HOME/cache/rendered (see
digest.core.filecache) and the others read it, so a send after a preview never imports
Jinja2, premailer or lxml. The name covers digest's version, the edition, the template
context, the notes' settings and every file of every template folder: any change misses.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import digest
from digest.core import filecache
from digest.core.slots import SlotTemplate
from digest.editions.content import EditionContent
from digest.email.render import RenderedEdition

# What rendering gives: the edition, and the notes found in it (the email checks).
Made = tuple[RenderedEdition, list[str]]


def render_key(content: EditionContent, context: Mapping[str, Any], roots: Sequence[Path]) -> str:
    """The hash of a rendering's inputs: version, edition, context, and the template files."""
    h = hashlib.sha256(digest.__version__.encode())
    h.update(json.dumps([content.to_json(), context], sort_keys=True, default=str).encode())
    for root in roots:
        h.update(b"\0root\0" + str(root).encode())
        for path in _files(root):
            h.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def _files(root: Path) -> list[Path]:
    """Every file under `root`, in a stable order; linked folders are not entered (a link
    back up would never end), linked files are read like the others."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found += [Path(folder) / n for n in sorted(names) if (Path(folder) / n).is_file()]
    return found


def cached_render(
    folder: Path,
    content: EditionContent,
    context: Mapping[str, Any],
    roots: Sequence[Path],
    make: Callable[[], Made],
) -> Made:
    """`make()`, read from `folder` when these very inputs were rendered before."""
    path = folder / f"{render_key(content, context, roots)}.json"
    found = filecache.read(path)
    if found is not None:
        try:
            data = json.loads(found)
            rendered = RenderedEdition(
                html=SlotTemplate(tuple(data["html"])), text=SlotTemplate(tuple(data["text"]))
            )
            return rendered, [str(n) for n in data["notes"]]
        except (ValueError, KeyError, TypeError):  # not ours, or cut short: made again
            pass
    rendered, notes = make()
    kept = {"html": rendered.html.parts, "text": rendered.text.parts, "notes": notes}
    filecache.write(path, json.dumps(kept, ensure_ascii=False))
    return rendered, notes
