"""The typed settings: every setting, its default and its help text; the sections live in the
modules beside this one (mail, sources, editions, readers), the root `Settings` here.

`digest.settings.loading` builds these from the layers (defaults, TOML file, environment, flags);
this module only says what exists and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from digest.settings.base import (
    RESERVED_NEWSLETTER_NAMES,
    SLUG,
    Section,
    check_zone,
    default_home,
    parse_duration,
)
from digest.settings.editions import (
    NewsletterSettings,
    SchedulerSettings,
    StoriesSettings,
    SummariesSettings,
)
from digest.settings.mail import (
    EmailSettings,
    OutboxSettings,
    SenderSettings,
    SendgridSettings,
    SendSettings,
    SmtpSettings,
)
from digest.settings.readers import SubscribersSettings, WebSettings
from digest.settings.sources import IngestSettings, SourceSettings

__all__ = [
    "SLUG",
    "EmailSettings",
    "IngestSettings",
    "NewsletterSettings",
    "OutboxSettings",
    "SchedulerSettings",
    "Section",
    "SendSettings",
    "SenderSettings",
    "SendgridSettings",
    "Settings",
    "SmtpSettings",
    "SourceSettings",
    "StoriesSettings",
    "SubscribersSettings",
    "SummariesSettings",
    "WebSettings",
    "parse_duration",
]


class Settings(Section):
    """All settings. Defaults make the main job run with no configuration at all."""

    home: Path = Field(
        default_factory=default_home,
        description="Folder for all state: database, outbox, caches (env DIGEST_HOME).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default SQLite at HOME/digest.db. "
        "A postgresql:// URL switches to PostgreSQL.",
    )
    base_url: str = Field(
        "http://localhost:8000",
        description="Public address of the web app; every link in an email starts with it.",
    )
    timezone: str = Field("UTC", description="IANA time zone for dates shown to readers.")
    provider: Literal["outbox", "smtp", "sendgrid"] = Field(
        "outbox",
        description="Mail provider that sends editions: `outbox` writes .eml files, `smtp` "
        "uses an SMTP server, `sendgrid` the SendGrid v3 API.",
    )
    templates_dir: Path | None = Field(
        None, description="Folder whose templates override the built-in ones, by name."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs unsubscribe and preference links (env DIGEST_SECRET_KEY). "
        "Without it a random key is kept in HOME/secret.key.",
    )
    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without secret_key and an https base_url.",
    )
    sender: SenderSettings = Field(default_factory=lambda: SenderSettings())
    outbox: OutboxSettings = Field(default_factory=lambda: OutboxSettings())
    email: EmailSettings = Field(default_factory=lambda: EmailSettings())
    scheduler: SchedulerSettings = Field(default_factory=lambda: SchedulerSettings())
    ingest: IngestSettings = Field(default_factory=lambda: IngestSettings())
    subscribers: SubscribersSettings = Field(default_factory=lambda: SubscribersSettings())
    smtp: SmtpSettings = Field(default_factory=lambda: SmtpSettings())
    sendgrid: SendgridSettings = Field(default_factory=lambda: SendgridSettings())
    send: SendSettings = Field(default_factory=lambda: SendSettings())
    stories: StoriesSettings = Field(default_factory=lambda: StoriesSettings())
    web: WebSettings = Field(default_factory=lambda: WebSettings())
    summaries: SummariesSettings = Field(default_factory=lambda: SummariesSettings())
    newsletters: dict[str, NewsletterSettings] = Field(
        default_factory=dict, description="Newsletters by slug, e.g. [newsletters.weekly]."
    )
    sources: dict[str, SourceSettings] = Field(
        default_factory=dict, description="Article sources by name, e.g. [sources.blog]."
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL such as 'https://news.example.com'")
        return value.rstrip("/")

    @field_validator("newsletters", "sources")
    @classmethod
    def _slugs(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not SLUG.match(name):
                raise ValueError(
                    f"name {name!r} must be lower-case letters, digits, '-' or '_' (max 63)"
                )
        return value

    @field_validator("newsletters")
    @classmethod
    def _not_a_command(cls, value: dict[str, object]) -> dict[str, object]:
        # `digest send NEWSLETTER` shares its place with `digest send status|pause|...`.
        for name in value:
            if name in RESERVED_NEWSLETTER_NAMES:
                raise ValueError(
                    f"{name!r} is a command word of `digest send`; choose another newsletter name"
                )
        return value

    @model_validator(mode="after")
    def _production(self) -> Settings:
        if self.environment == "production":
            keys = [] if self.secret_key is None else self.secret_key.get_secret_value().split(",")
            newest = keys[0].strip() if keys else ""
            # Empty (as in .env.example), short or a placeholder: as good as no key at all.
            if len(newest) < 16 or newest.lower() in {"change-me", "changeme", "secret"}:
                raise ValueError(
                    "production needs secret_key (at least 16 characters, not a placeholder): "
                    "set DIGEST_SECRET_KEY, e.g. to the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
            if not self.base_url.startswith("https://"):
                raise ValueError("production needs an https:// base_url")
        return self

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        return self.database_url or f"sqlite:///{self.home / 'digest.db'}"

    @property
    def outbox_dir(self) -> Path:
        """The effective outbox folder."""
        return self.outbox.dir or self.home / "outbox"

    def newsletter(self, name: str) -> NewsletterSettings:
        """The settings of one newsletter, or a ConfigError that lists the known ones."""
        from digest.core.errors import ConfigError

        try:
            return self.newsletters[name]
        except KeyError:
            known = ", ".join(sorted(self.newsletters)) or "none configured"
            raise ConfigError(
                f"unknown newsletter {name!r}",
                hint=f"known: {known}; add one under [newsletters.{name}] in digest.toml",
            ) from None
