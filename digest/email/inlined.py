"""Inlined HTML kept on disk by a hash of its input, so a send does not inline it again.

Inlining the CSS (premailer, with cssutils) is the costliest step of preparing an edition and
its import alone is a good part of a send's start-up. Every `digest send`, `--worker` process
and resume prepares the same edition; the first one writes the result under
HOME/cache/inlined, named by the SHA-256 of the HTML before inlining, and the others read it.
The name is the whole input, so a changed template or edition simply misses. Files unused for
CACHE_DAYS are removed as new ones are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path

import digest

log = logging.getLogger(__name__)

CACHE_DAYS = 60


def cached_inline(html: str, folder: Path) -> str:
    """`inline_css(html)`, read from `folder` when this very HTML was inlined before."""
    key = hashlib.sha256(f"{digest.__version__}\0{html}".encode()).hexdigest()
    path = folder / f"{key}.html"
    try:
        found: str | None = path.read_text(encoding="utf-8")
    except OSError:  # not made yet (or unreadable): made below
        found = None
    if found is not None:
        with contextlib.suppress(OSError):  # a read-only home still reads what it has
            os.utime(path)  # still in use: kept by the clean-up
        return found
    from digest.email.render import inline_css  # premailer loads only on a miss

    result = inline_css(html)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(result, encoding="utf-8")
        partial.replace(path)  # whole or not at all, whoever writes at the same moment
        _clean(folder)
    except OSError as exc:  # a read-only home: inline every time, as before
        log.debug("inlined HTML not cached in %s: %s", folder, exc)
    return result


def _clean(folder: Path) -> None:
    cutoff = time.time() - CACHE_DAYS * 86400
    for old in folder.glob("*.html"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
