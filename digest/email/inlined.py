"""Inlined HTML kept on disk by a hash of its input, so the same HTML is inlined only once.

Inlining the CSS (premailer, with cssutils) is the costliest step of rendering an edition.
The result is kept under HOME/cache/inlined (see digest.core.filecache), named by the SHA-256
of the HTML before inlining: a changed template or edition simply misses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import digest
from digest.core import filecache


def cached_inline(html: str, folder: Path) -> str:
    """`inline_css(html)`, read from `folder` when this very HTML was inlined before."""
    key = hashlib.sha256(f"{digest.__version__}\0{html}".encode()).hexdigest()
    path = folder / f"{key}.html"
    found = filecache.read(path)
    if found is not None:
        return found
    from digest.email.render import inline_css  # premailer loads only on a miss

    result = inline_css(html)
    filecache.write(path, result)
    return result
