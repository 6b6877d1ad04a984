"""Where articles come from: sources and how they are fetched and tagged."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from digest.settings.base import (
    Section,
    parse_duration,
)


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
    concurrency: int = Field(
        8, ge=1, le=64,
        description="Sources fetched and parsed at once (the politeness delay still holds per "
        "host); each source's articles are stored in a transaction of its own.",
    )  # fmt: skip
    parse_workers: int = Field(
        0, ge=0, le=32,
        description="Processes that parse fetched feeds and pages when four or more sources "
        "are read at once (0: one per CPU, up to four; 1: parse in the main process).",
    )  # fmt: skip
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
