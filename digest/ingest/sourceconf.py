"""Add and remove `[sources.NAME]` tables in the config file, keeping its comments and layout."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from digest.core.errors import ConfigError
from digest.settings import SLUG, SourceSettings

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def add_source(text: str, name: str, fields: Mapping[str, Any]) -> str:
    """The config text with a new source table appended; ConfigError if invalid or present."""
    if not SLUG.match(name):
        raise ConfigError(f"source name {name!r} must be lower-case letters, digits, '-' or '_'")
    try:
        SourceSettings.model_validate(dict(fields))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"sources.{name}.{where}: {first['msg']}") from None
    if name in tomllib.loads(text).get("sources", {}):
        raise ConfigError(
            f"a source named {name!r} already exists", hint="remove it first or pick another name"
        )
    lines = [f"[sources.{name}]"] + [
        f"{key} = {_toml_value(value)}" for key, value in fields.items() if value is not None
    ]
    return text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"


def remove_source(text: str, name: str) -> str:
    """The config text without the source's table (and its sub-tables)."""
    if name not in tomllib.loads(text).get("sources", {}):
        raise ConfigError(f"no source named {name!r} in the config file")
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            key = header.group(1).replace('"', "").replace("'", "")
            skipping = key == f"sources.{name}" or key.startswith(f"sources.{name}.")
        if not skipping:
            out.append(line)
    result = "".join(out)
    if name in tomllib.loads(result).get("sources", {}):
        raise ConfigError(
            f"source {name!r} is defined inline, not as a [sources.{name}] table",
            hint="edit the config file by hand",
        )
    return re.sub(r"\n{3,}", "\n\n", result)
