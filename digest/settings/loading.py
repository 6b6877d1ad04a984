"""Build the one Settings object from its layers, remembering where each value came from.

Layers, later ones winning: built-in defaults → the TOML file (`--config`, DIGEST_CONFIG, or
./config/digest.toml) → DIGEST_* environment variables (and `.env`, loaded by the entry
points, never here) → command-line overrides. A bad value is reported with its key, the
layer it came from and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from digest.core.errors import ConfigError
from digest.core.text import hide_password
from digest.settings import Settings
from digest.settings.base import format_duration

DEFAULT_CONFIG = Path("config/digest.toml")
ENV_PREFIX = "DIGEST_"
# Environment variables that steer loading itself or the tests, not settings.
NON_SETTING_ENV = {"DIGEST_CONFIG", "DIGEST_TEST_POSTGRES_URL", "DIGEST_BENCH_POSTGRES_URL"}
# Settings holding paths: relative values in a TOML file are relative to that file's folder.
PATH_KEYS = {("home",), ("templates_dir",), ("outbox", "dir")}

Key = tuple[str, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """The settings plus where each explicitly set value came from."""

    settings: Settings
    path: Path | None
    origins: dict[Key, str] = field(default_factory=dict)
    # DIGEST_* variables that set nothing (a typo, most likely), each with a suggestion.
    warnings: list[str] = field(default_factory=list)

    def origin(self, key: Key) -> str:
        """The layer that set `key` (or an enclosing table), else 'default'."""
        for n in range(len(key), 0, -1):
            if key[:n] in self.origins:
                return self.origins[key[:n]]
        # A table-valued setting (e.g. ingest.keywords) is set entry by entry.
        inner = sorted({v for k, v in self.origins.items() if k[: len(key)] == key})
        return ", ".join(inner) if inner else "default"


def load_config(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadedConfig:
    """Load, merge and validate all layers; raise ConfigError naming the key and the layer."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    origins: dict[Key, str] = {}

    config_path = _config_path(path, env)
    if config_path is not None:
        _merge_file(raw, origins, config_path)
    for key, value, origin in _env_values(env):
        _set(raw, key, value)
        origins[key] = origin
    for dotted, value in (overrides or {}).items():
        key = tuple(dotted.split("."))
        _set(raw, key, value)
        origins[key] = f"command-line option {dotted}"

    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origins), hint=_hint(config_path)) from None
    return LoadedConfig(
        settings=settings, path=config_path, origins=origins, warnings=_unknown_env(env)
    )


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Shortcut for `load_config(...).settings`."""
    return load_config(path, env, overrides).settings


def effective_settings(loaded: LoadedConfig) -> list[tuple[str, str, str]]:
    """Rows of (key, value, origin) for every setting, secrets masked, for `config check`."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: BaseModel, prefix: Key) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = (*prefix, name)
            if isinstance(value, BaseModel):
                walk(value, key)
            elif isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()):
                for sub, item in value.items():
                    walk(item, (*key, sub))
            else:
                rows.append((".".join(key), _show(key, value), loaded.origin(key)))

    walk(loaded.settings, ())
    rows.append(("(database in use)", _mask_url(loaded.settings.db_url), "derived"))
    return rows


def _config_path(path: Path | str | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        chosen = Path(path)
    elif env.get("DIGEST_CONFIG"):
        chosen = Path(env["DIGEST_CONFIG"])
    elif DEFAULT_CONFIG.is_file():
        return DEFAULT_CONFIG
    else:
        return None
    if not chosen.is_file():
        raise ConfigError(
            f"config file {chosen} does not exist",
            hint="check --config or DIGEST_CONFIG (config/digest.toml in the repository is "
            "an example)",
        )
    return chosen


def _merge_file(raw: dict[str, Any], origins: dict[Key, str], path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the line it names") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    base = path.parent
    for key, value in _flatten(data):
        is_path = key in PATH_KEYS or (key[0] == "sources" and key[-1] == "location")
        if is_path and isinstance(value, str) and "://" in value:
            is_path = False  # a URL (feed, page, WordPress site), not a path
        if is_path and isinstance(value, str) and not Path(value).expanduser().is_absolute():
            value = str((base / value).resolve())
        _set(raw, key, value)
        origins[key] = str(path)


def _flatten(data: Mapping[str, Any], prefix: Key = ()) -> list[tuple[Key, Any]]:
    out: list[tuple[Key, Any]] = []
    for name, value in data.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, (*prefix, name)))
        else:
            out.append(((*prefix, name), value))
    return out


def _env_values(env: Mapping[str, str]) -> list[tuple[Key, str, str]]:
    """DIGEST_FOO → foo; DIGEST_SENDER__EMAIL → sender.email (tables use a double underscore)."""
    out = []
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        key = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if _is_scalar_setting(key):
            out.append((key, value, f"environment {name}"))
    return out


def _env_names(model: type[BaseModel] = Settings, prefix: str = ENV_PREFIX) -> list[str]:
    """Every variable that sets something: DIGEST_PROVIDER, DIGEST_SENDGRID__API_KEY, ..."""
    names = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names += _env_names(ann, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def _unknown_env(env: Mapping[str, str]) -> list[str]:
    """A warning for each DIGEST_* variable that sets no setting, with the closest name."""
    known = _env_names()
    out = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        key = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if _is_scalar_setting(key):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        guess = f"; did you mean {close[0]}?" if close else ""
        out.append(f"environment variable {name} sets no setting and is ignored{guess}")
    return out


def _is_scalar_setting(key: Key) -> bool:
    model: type[BaseModel] = Settings
    for i, part in enumerate(key):
        info = model.model_fields.get(part)
        if info is None:
            return False
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            continue
        return i == len(key) - 1
    return False


def _set(raw: dict[str, Any], key: Key, value: Any) -> None:
    node = raw
    for part in key[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[key[-1]] = value


def _explain(exc: ValidationError, origins: dict[Key, str]) -> str:
    lines = []
    for err in exc.errors():
        key = tuple(str(p) for p in err["loc"])
        where = _origin(origins, key)
        dotted = ".".join(key) or "(settings)"
        if err["type"] == "extra_forbidden":
            known = _known_fields(key[:-1])
            close = difflib.get_close_matches(key[-1], known, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(
                f"{where}: unknown setting {dotted!r}{guess} (known here: {', '.join(known)})"
            )
            continue
        help_text = _help(key)
        shown = "" if err["type"] == "missing" else _shown(key, err.get("input"))
        message = err["msg"].removeprefix("Value error, ")
        lines.append(
            f"{where}: {dotted}{shown}: {message}" + (f" — {help_text}" if help_text else "")
        )
    return "invalid settings:\n  " + "\n  ".join(lines)


def _shown(key: Key, value: Any) -> str:
    """The offending value for the message, never a secret.

    A whole table (an error about several settings together) is not shown at all: it would
    hold the API key, the SMTP password and the secret key; a secret setting shows as
    hidden; a URL loses its password.
    """
    if not key or isinstance(value, dict | list):
        return ""
    model = _model_at(key[:-1])
    info = model.model_fields.get(key[-1]) if model else None
    if info is not None and "SecretStr" in str(info.annotation):
        return " = (hidden)"
    return " = " + hide_password(repr(value))


def _origin(origins: dict[Key, str], key: Key) -> str:
    if not key:
        return "settings"
    for n in range(len(key), 0, -1):
        if key[:n] in origins:
            return origins[key[:n]]
    # A missing required key: name the table's layer if we know it.
    for k, v in origins.items():
        if k[: len(key) - 1] == key[:-1]:
            return v
    return "settings"


def _model_at(key: Key) -> type[BaseModel] | None:
    model: type[BaseModel] = Settings
    i = 0
    while i < len(key):
        info = model.model_fields.get(key[i])
        if info is None:
            return None
        ann = info.annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model, i = ann, i + 1
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            model, i = args[-1], i + 2  # dict[str, Model]: skip the entry's name
        else:
            return None
    return model


def _known_fields(key: Key) -> list[str]:
    model = _model_at(key)
    return sorted(model.model_fields) if model else []


def _help(key: Key) -> str:
    if not key:
        return ""
    model = _model_at(key[:-1])
    info = model.model_fields.get(key[-1]) if model else None
    return (info.description or "") if info else ""


def _hint(path: Path | None) -> str:
    where = str(path) if path else "config/digest.toml"
    return f"fix it in {where} or the environment; `digest config check` shows every setting"


def _show(key: Key, value: Any) -> str:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else "(empty)"
    if key[-1] == "database_url" and value:
        return _mask_url(str(value))
    # As the value would be written in the settings file.
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json.dumps(str(v)) for v in value) + "]"
    return "(none)" if value is None else str(value)


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported when it is used, not here
        return "********"
