"""What an edition holds and when it goes: newsletters, the scheduler, stories, summaries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from digest.settings.base import (
    Section,
    check_address,
    check_zone,
    parse_duration,
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
        7,
        ge=1,
        le=366,
        description=(
            "How fresh an article must be: first seen in the last N days, at most N days old then."
        ),
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
    repeat_partly_sent: bool = Field(
        False,
        description="Let the articles of an edition cancelled (or failed) after it reached some "
        "readers come back in the next one; those readers may then get them twice.",
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
        return [check_address(v) for v in value]

    @field_validator("timezone")
    @classmethod
    def _nl_tz(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from digest.schedule.expressions import parse_schedule

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
