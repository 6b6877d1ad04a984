"""Docs can't drift: every setting has help text and appears in the configuration reference."""

from __future__ import annotations

from pydantic import BaseModel

from digest.settings import NewsletterSettings, Settings, SourceSettings
from tests.conftest import ROOT


def _keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str | None]]:
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", info.description))
    return out


def test_every_setting_has_help_and_is_documented() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    keys = (
        _keys(Settings)
        + _keys(NewsletterSettings, "newsletters.NAME.")
        + _keys(SourceSettings, "sources.NAME.")
    )
    for key, help_text in keys:
        assert help_text, f"setting {key} has no help text"
        assert f"`{key}`" in reference, f"setting {key} is missing from docs/configuration.md"
