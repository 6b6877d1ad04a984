"""The typed settings: every setting, its default and its help text, in one place.

`digest.config` builds these from the layers (defaults, TOML file, environment, flags);
this module only says what exists and what is allowed.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: object) -> timedelta:
    """'20h', '30m', '2d', '1w', '90s' (or seconds as a number) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 30m, 20h, 2d or 1w")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def default_home() -> Path:
    """Where state lives when neither `home` nor DIGEST_HOME is set (XDG data dir)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "digest"


def _address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as 'Europe/Warsaw' or 'UTC'") from None
    return value


# Words `digest send` takes as subcommands, so no newsletter may be called so.
RESERVED_NEWSLETTER_NAMES = frozenset({"run", "status", "pause", "resume", "cancel"})


class Section(BaseModel):
    """Base for every settings table: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
        return _address(value)

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return _address(value) if value else None

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
    timeout: float = Field(30.0, gt=0, description="Seconds allowed for one API request.")
    max_retries: int = Field(
        6, ge=0, le=20, description="Retries of a request after 429, 5xx, timeouts or drops."
    )
    backoff: float = Field(
        0.5, ge=0, description="First retry delay in seconds; doubles each time, with jitter."
    )
    max_backoff: float = Field(30.0, ge=0, description="Longest wait between two retries (s).")


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
        "worker's rows are recovered (e.g. 10m).",
    )

    @field_validator("lease", mode="before")
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


class NewsletterSettings(Section):
    """One newsletter: what goes into it and how it reads."""

    title: str = Field(description="The newsletter's name, shown in the header and subject.")
    description: str = Field(
        "",
        description="One sentence on what readers get; shown in the footer as why they get it.",
    )
    tags: list[str] = Field(
        description="Articles with any of these tags are candidates; sections follow this order."
    )
    window_days: int = Field(
        7, ge=1, le=366, description="How many days back to look for articles."
    )
    max_stories: int = Field(20, ge=1, le=200, description="At most this many stories per edition.")
    summary_sentences: int = Field(2, ge=1, le=10, description="Sentences in each story's summary.")
    subject: str = Field(
        "{title} #{number}: {top_headline}",
        description="Subject template; fields: {title}, {number}, {top_headline}, {date}.",
    )
    schedule: str | None = Field(
        None,
        description="When editions go out: 'weekly mon 08:00', 'daily 07:30', 'monthly 1 09:00', "
        "'weekdays 07:00' or a five-field cron expression; none means only by hand.",
    )
    timezone: str | None = Field(
        None, description="IANA time zone of the schedule; default: the global `timezone`."
    )
    draft_lead: timedelta = Field(
        timedelta(hours=20),
        description="How long before each send the draft is built (e.g. 20h), for editors.",
    )
    approval: Literal["required", "auto"] = Field(
        "auto",
        description="`required`: a draft goes out only once an editor approves it; "
        "`auto`: drafts are sent at the scheduled time as they are.",
    )
    skip_if_empty: bool = Field(
        True, description="Skip an edition (and say so) when it would have too few stories."
    )
    min_stories: int = Field(
        1, ge=1, le=200, description="Fewest stories an edition needs, else it is skipped."
    )
    editors: list[str] = Field(
        default_factory=list,
        description="Editors' addresses: told when a draft is ready and when one is late.",
    )
    tags_all: list[str] = Field(
        default_factory=list,
        description="Articles must also carry every one of these tags (empty: no such rule).",
    )
    tags_exclude: list[str] = Field(
        default_factory=list, description="Articles carrying any of these tags are left out."
    )
    min_words: int = Field(
        0, ge=0, description="Articles shorter than this many words are left out (0: no minimum)."
    )
    sources_allow: list[str] = Field(
        default_factory=list,
        description="Only articles from these sources (by source name); empty allows all.",
    )
    sources_deny: list[str] = Field(
        default_factory=list, description="Articles from these sources are left out."
    )
    source_weights: dict[str, float] = Field(
        default_factory=dict,
        description='Ranking weight per source name (default 1.0): e.g. {"Reuters" = 1.5} puts '
        "stories led by that source higher.",
    )
    summary_words: int | None = Field(
        None,
        ge=10,
        le=500,
        description="Word budget of each story's summary, on top of summary_sentences; whole "
        "sentences only (none: sentences alone decide).",
    )

    @field_validator("tags_all", "tags_exclude")
    @classmethod
    def _tag_lists(cls, value: list[str]) -> list[str]:
        return [t.strip().lower() for t in value if t.strip()]

    @field_validator("draft_lead", mode="before")
    @classmethod
    def _lead(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("editors")
    @classmethod
    def _editors(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @field_validator("timezone")
    @classmethod
    def _nl_tz(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from digest.schedule import parse_schedule

        parse_schedule(value, "UTC")  # raises ValueError listing the accepted forms
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags = [t.strip().lower() for t in value if t.strip()]
        if not tags:
            raise ValueError("a newsletter needs at least one tag")
        return tags

    @field_validator("subject")
    @classmethod
    def _subject_fields(cls, value: str) -> str:
        allowed = {"title", "number", "top_headline", "date"}
        unknown = set(re.findall(r"{(\w*)[^}]*}", value)) - allowed
        if unknown:
            raise ValueError(
                f"unknown field(s) {sorted(unknown)} in subject; allowed: {sorted(allowed)}"
            )
        return value


class SourceSettings(Section):
    """One place articles come from."""

    kind: Literal["folder", "feed", "page", "wordpress"] = Field(
        "folder",
        description="What the source is: `folder` (Markdown, HTML and text files), `feed` "
        "(RSS or Atom), `page` (one article page) or `wordpress` (a site's REST API).",
    )
    location: str = Field(
        description="Path of the folder or file (relative to the config file), or an "
        "http(s) URL for feeds, pages and WordPress sites."
    )
    tags: list[str] = Field(
        default_factory=list, description="Tags added to every article from this source."
    )
    enabled: bool = Field(True, description="A disabled source is skipped by `digest ingest`.")
    interval: timedelta | None = Field(
        None,
        description="How often the scheduler ingests this source (e.g. 30m, 2h); none means "
        "only by hand or with `digest ingest`.",
    )

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta | None:
        if value is None or value == "":
            return None
        every = parse_duration(value)
        if every < timedelta(minutes=1):
            raise ValueError("an ingestion interval must be at least 1m")
        return every


class IngestSettings(Section):
    """How sources are fetched and how articles are tagged."""

    timeout: float = Field(
        20.0, gt=0, le=600, description="Seconds to wait for a server before giving up."
    )
    max_bytes: int = Field(
        20_000_000, ge=1000, description="Largest response or file read, in bytes."
    )
    max_redirects: int = Field(5, ge=0, le=30, description="Most redirects followed per request.")
    retries: int = Field(
        2, ge=0, le=10, description="Retries (with backoff) after a timeout or a 5xx answer."
    )
    backoff: float = Field(
        1.0, ge=0, le=60, description="Seconds before the first retry; doubled for each next one."
    )
    politeness_delay: float = Field(
        1.0, ge=0, le=60, description="Seconds between two requests to the same host."
    )
    user_agent: str = Field(
        "digest/0.1 (newsletter digest generator; +https://news.example.com)",
        description="User-Agent sent with every request; say who you are and how to reach you.",
    )
    allow_private: bool = Field(
        False,
        description="Allow fetching from private, loopback and link-local addresses "
        "(off: such URLs are refused, so a config cannot reach internal services).",
    )
    keywords: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Keyword tag rules, e.g. openai = ["OpenAI", "ChatGPT"]: an article whose '
        "title or text names any of the words (whole words, any case) gets the tag.",
    )

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for tag, words in value.items():
            clean = [w.strip() for w in words if w.strip()]
            if not tag.strip() or not clean:
                raise ValueError(f"keyword rule {tag!r} needs a tag name and at least one word")
            out[tag.strip().lower()] = clean
        return out


class SchedulerSettings(Section):
    """How `digest schedule run` behaves."""

    misfire_grace_time: timedelta = Field(
        timedelta(hours=6),
        description="A job missed while the scheduler was down still runs if it is at most this "
        "late (e.g. 6h); older misfires are skipped and logged.",
    )
    lock_lease: timedelta = Field(
        timedelta(minutes=30),
        description="How long a job's database lock holds before another scheduler may take it "
        "over (a crashed process's lock expires after this).",
    )

    @field_validator("misfire_grace_time", "lock_lease", mode="before")
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return parse_duration(value)


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


class StoriesSettings(Section):
    """How articles are grouped into stories (see docs/stories.md)."""

    threshold: float = Field(
        0.20,
        gt=0,
        le=1,
        description="Mean cosine similarity (TF-IDF) at which articles join one story; higher "
        "keeps stories apart, lower merges more.",
    )
    headline_threshold: float = Field(
        0.04,
        gt=0,
        le=1,
        description="The same for articles with (almost) no text, compared by headline alone.",
    )
    time_scale: timedelta = Field(
        timedelta(days=3),
        description="Articles further apart in time than this are treated as less similar "
        "(e.g. 3d; 0s turns time off).",
    )

    @field_validator("time_scale", mode="before")
    @classmethod
    def _scale(cls, value: object) -> timedelta:
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
        timedelta(hours=12), description="How long a sign-in lasts before signing in again."
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

    @field_validator("webhook_max_age", "session_max_age", "login_window", mode="before")
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.match(r"^/[A-Za-z0-9/_.-]*$", value):
            raise ValueError("must be a path starting with '/', e.g. '/hooks/sendgrid'")
        return value


class SummariesSettings(Section):
    """How story summaries are written: extractive (default) or by a chat-completions model."""

    method: Literal["extractive", "abstractive"] = Field(
        "extractive",
        description="`extractive`: sentences picked from the articles, no network; "
        "`abstractive`: written by the model below, falling back to extractive on any failure.",
    )
    url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 "
        "(`/chat/completions` is appended).",
    )
    model: str | None = Field(None, description="Model name sent to that endpoint.")
    api_key: SecretStr | None = Field(
        None,
        description="Bearer key for the endpoint (env DIGEST_SUMMARIES__API_KEY; never in the "
        "file).",
    )
    timeout: float = Field(
        20.0, gt=0, le=300, description="Seconds to wait for one summary before falling back."
    )


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
        return _zone(value)

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
        from digest.errors import ConfigError

        try:
            return self.newsletters[name]
        except KeyError:
            known = ", ".join(sorted(self.newsletters)) or "none configured"
            raise ConfigError(
                f"unknown newsletter {name!r}",
                hint=f"known: {known}; add one under [newsletters.{name}] in digest.toml",
            ) from None
