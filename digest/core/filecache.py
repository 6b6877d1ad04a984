"""Files kept under HOME/cache by a name that is the hash of everything they were made from.

A changed input is a new name, so nothing is ever stale; a file is written whole (a temporary
file renamed) so two processes writing the same one never leave half of it; files unused for
KEEP_DAYS go as new ones are written. A home that cannot be written only costs the work again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_DAYS = 60


def read(path: Path) -> str | None:
    """The kept text, or None when it was never made (or cannot be read)."""
    try:
        found = path.read_text(encoding="utf-8")
    except OSError:
        return None
    with contextlib.suppress(OSError):  # a read-only home still reads what it has
        os.utime(path)  # still in use: kept by the clean-up
    return found


def write(path: Path, text: str) -> None:
    """Keep `text` at `path`, whole or not at all; then drop this folder's unused files."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        _clean(path.parent, path.suffix)
    except OSError as exc:  # a read-only home or a full disk: the work is done again next time
        log.debug("%s not kept: %s", path, exc)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def _clean(folder: Path, suffix: str) -> None:
    cutoff = time.time() - KEEP_DAYS * 86400
    for old in folder.glob(f"*{suffix}"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
