"""How mail goes out: the sender, the providers (outbox, SMTP, SendGrid), pacing, the email."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from digest.settings.base import (
    Section,
    check_address,
    parse_duration,
)


class SenderSettings(Section):
    """Who the emails come from."""

    name: str = Field("Digest", description="Display name in the From header.")
    email: str = Field(
        "newsletter@example.com",
        description="Sender address; its domain is also used for Message-IDs.",
    )
    reply_to: str | None = Field(None, description="Reply-To address; none when empty.")
    postal_address: str = Field(
        "",
        description="The sender's postal address, shown in every email's footer "
        "(anti-spam laws such as CAN-SPAM ask for one).",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_address(value)

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return check_address(value) if value else None

    @property
    def domain(self) -> str:
        """The domain part of the sender address."""
        return self.email.rsplit("@", 1)[1]


class OutboxSettings(Section):
    """The `outbox` provider writes one .eml file per recipient instead of sending."""

    dir: Path | None = Field(None, description="Folder for .eml files; default HOME/outbox.")


class SmtpSettings(Section):
    """The `smtp` provider: any SMTP server, one connection reused across a batch."""

    host: str = Field("localhost", description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port (587 STARTTLS, 465 TLS).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls` upgrades a plain connection, `tls` is implicit TLS (port 465), "
        "`none` sends in the clear (local relays only).",
    )
    username: str | None = Field(None, description="Login name; no AUTH when empty.")
    password: SecretStr | None = Field(
        None, description="Login password (env DIGEST_SMTP__PASSWORD); never logged."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds allowed for every SMTP operation.")
    ca_file: Path | None = Field(
        None, description="PEM file of CA certificates to trust instead of the system's."
    )
    verify: bool = Field(
        True, description="Check the server's certificate and host name (turn off only for tests)."
    )


class SendgridSettings(Section):
    """The `sendgrid` provider: v3 mail send through the official client."""

    api_key: SecretStr | None = Field(
        None, description="SendGrid API key (env DIGEST_SENDGRID__API_KEY); never logged."
    )
    host: str = Field(
        "https://api.sendgrid.com",
        description="API base URL (https://api.eu.sendgrid.com for EU data residency).",
    )
    timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds allowed for one API request; an answer later than this is lost "
        "and its readers become uncertain.",
    )


class SendSettings(Section):
    """How send workers pace themselves and share a send."""

    batch_size: int = Field(
        1000,
        ge=1,
        le=10000,
        description="Deliveries claimed per batch (capped by the provider's maximum).",
    )
    rate_limit: float = Field(
        0.0, ge=0, description="At most this many messages per second (token bucket); 0 = no limit."
    )
    concurrency: int = Field(
        1, ge=1, le=64, description="Batches one worker sends at the same time (threads)."
    )
    lease: timedelta = Field(
        timedelta(minutes=10),
        description="How long a claimed batch belongs to its worker; after that a crashed "
        "worker's rows are recovered (e.g. 10m). Planning a send holds the same lease.",
    )
    retry_delay: timedelta = Field(
        timedelta(seconds=30),
        description="First wait after a temporary failure (provider unreachable, 429, 5xx, a "
        "4xx reply for one reader); doubled each time, with jitter (e.g. 30s).",
    )
    retry_max_delay: timedelta = Field(
        timedelta(minutes=30), description="Longest wait between two tries (e.g. 30m)."
    )
    retry_window: timedelta = Field(
        timedelta(hours=24),
        description="How long temporary failures are retried before the readers are listed "
        "failed and the edition is marked failed (e.g. 24h).",
    )

    @field_validator("lease", "retry_delay", "retry_max_delay", "retry_window", mode="before")
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return parse_duration(value)


class EmailSettings(Section):
    """How emails are rendered and checked."""

    language: str = Field(
        "en",
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="Language tag of the emails (e.g. en, pl, pt-BR); screen readers use it.",
    )
    clip_warning_kb: int = Field(
        90,
        ge=10,
        le=102,
        description="Warn when an email's HTML part is larger than this many KB "
        "(Gmail clips at about 102 KB, hiding the footer and its unsubscribe link).",
    )
