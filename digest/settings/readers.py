"""How readers come and go: subscriber lists and the web app."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from digest.settings.base import (
    Section,
    parse_duration,
)


class SubscribersSettings(Section):
    """How subscriber lists are imported and confirmed."""

    import_batch_size: int = Field(
        5000,
        ge=100,
        le=20000,
        description="Rows written per transaction during `digest subscribers import`; an "
        "interrupted import keeps every finished batch.",
    )
    check_deliverability: bool = Field(
        False,
        description="Also look up each imported domain's mail servers in DNS (slow; off means "
        "syntax checks only).",
    )
    confirm_max_age: timedelta = Field(
        timedelta(days=7),
        description="How long a double opt-in confirmation link stays valid (e.g. 7d).",
    )

    @field_validator("confirm_max_age", mode="before")
    @classmethod
    def _max_age(cls, value: object) -> timedelta:
        return parse_duration(value)


class WebSettings(Section):
    """How `digest serve` behaves: where it listens, the webhook, and its limits."""

    host: str = Field("127.0.0.1", description="Address `digest serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `digest serve` listens on.")
    webhook_path: str = Field(
        "/hooks/sendgrid",
        description="Path of SendGrid's Event Webhook; set the same URL in SendGrid's settings.",
    )
    sendgrid_webhook_public_key: str | None = Field(
        None,
        description="The Event Webhook's verification key from SendGrid (base64 or PEM); "
        "without it the webhook refuses every request (env "
        "DIGEST_WEB__SENDGRID_WEBHOOK_PUBLIC_KEY).",
    )
    webhook_max_age: timedelta = Field(
        timedelta(minutes=10),
        description="Signed webhook requests older (or newer) than this are refused as stale.",
    )
    session_max_age: timedelta = Field(
        timedelta(hours=12), description="How long a sign-in lasts at most, however it is used."
    )
    session_idle: timedelta = Field(
        timedelta(hours=2), description="A sign-in not used for this long ends."
    )
    login_attempts: int = Field(
        5, ge=1, description="Failed sign-ins allowed per user name and address per login_window."
    )
    login_window: timedelta = Field(
        timedelta(minutes=15), description="The window that login_attempts counts over."
    )
    subscribe_per_address: int = Field(
        3, ge=1, description="Subscribe requests accepted per email address per hour."
    )
    subscribe_per_ip: int = Field(
        30, ge=1, description="Subscribe requests accepted per client address per hour."
    )
    tracking: bool = Field(
        False, description="Show opens and clicks on the desk (off: they are not reliable)."
    )

    @field_validator(
        "webhook_max_age", "session_max_age", "session_idle", "login_window", mode="before"
    )
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.match(r"^/[A-Za-z0-9/_.-]*$", value):
            raise ValueError("must be a path starting with '/', e.g. '/hooks/sendgrid'")
        return value
