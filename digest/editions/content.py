"""What an edition holds, as stored (JSON) and rendered: data only, no building.

Kept apart from digest.editions.build, which makes it from articles, so that what reads and
sends a stored edition does not load the grouping and summarising that built it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    """Another source that covered a story."""

    source: str
    url: str


@dataclass(frozen=True)
class Story:
    """One story: a headline, its summary and where to read it."""

    article_ids: list[int]
    headline: str
    summary: str
    url: str | None
    source: str
    published: str
    reading_minutes: int
    also: list[Link] = field(default_factory=list)
    # Added with story grouping; old stored editions lack them and get the defaults.
    key: int = 0  # stable handle for editors' changes (the story's lowest article id)
    pinned: bool = False
    sources: int = 1  # how many sources covered the story
    # Added with languages: the lead article's language ("" when unknown: the email's own
    # applies) and its writing direction, for the story block's lang and dir.
    lang: str = ""
    dir: str = "ltr"
    # Place in the edition's ranking across sections (0 = top story; old editions: all 0).
    rank: int = 0


@dataclass(frozen=True)
class LeftOut:
    """A candidate article the edition does not carry, and why: nothing vanishes unseen."""

    article_id: int
    title: str
    source: str
    reason: str


@dataclass(frozen=True)
class Section:
    """The stories of one of the newsletter's tags."""

    tag: str
    title: str
    stories: list[Story]


@dataclass(frozen=True)
class EditionContent:
    """Everything an edition shows; stored as JSON and rendered by the templates."""

    newsletter: str
    title: str
    number: int
    date: str
    subject: str
    preheader: str
    intro: str
    sections: list[Section]
    # True once an editor changed this draft by hand: it is then kept, not rebuilt.
    edited: bool = False
    # Candidates in no story of the edition, with the reason (older editions: none listed).
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def stories(self) -> list[Story]:
        """All stories in reading order."""
        return [s for sec in self.sections for s in sec.stories]

    @property
    def article_ids(self) -> list[int]:
        """Every article this edition carries."""
        return [i for s in self.stories for i in s.article_ids]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EditionContent:
        """The inverse of to_json."""
        sections = [
            Section(
                tag=sec["tag"],
                title=sec["title"],
                stories=[
                    Story(**{**st, "also": [Link(**link) for link in st.get("also", [])]})
                    for st in sec["stories"]
                ],
            )
            for sec in data["sections"]
        ]
        left_out = [LeftOut(**x) for x in data.get("left_out", [])]
        return cls(**{**data, "sections": sections, "left_out": left_out})


def ranked_stories(content: EditionContent) -> list[Story]:
    """The edition's stories in rank order (the top story first), whatever their section."""
    return sorted(content.stories, key=lambda s: s.rank)
