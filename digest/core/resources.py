"""Find the files that ship with digest: templates and the demo's sample."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the digest package


def bundled(name: str) -> Path:
    """A top-level folder of the project (`templates`, `examples`), installed or in a checkout."""
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def templates_dir() -> Path:
    """The built-in templates."""
    return bundled("templates")


def examples_dir() -> Path:
    """The demo's sample articles and subscribers."""
    return bundled("examples")
