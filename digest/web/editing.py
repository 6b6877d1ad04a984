"""What an editor does to a draft's content: pure functions from content to new content."""

from __future__ import annotations

from dataclasses import replace

from digest.core.errors import DigestError
from digest.editions.content import EditionContent, Section, Story


def _story_at(content: EditionContent, sec: int, idx: int) -> tuple[Section, Story]:
    try:
        section = content.sections[sec]
        return section, section.stories[idx]
    except IndexError:
        raise DigestError(
            f"edition {content.number} has no story {idx + 1} in section {sec + 1}",
            hint="the draft changed meanwhile; reload the page",
        ) from None


def _with_stories(content: EditionContent, sec: int, stories: list[Story]) -> EditionContent:
    sections = list(content.sections)
    sections[sec] = replace(sections[sec], stories=stories)
    return replace(content, sections=[s for s in sections if s.stories])


def move(content: EditionContent, sec: int, idx: int, delta: int) -> EditionContent:
    """Move a story up (negative) or down within its section; at an end it stays."""
    section, _ = _story_at(content, sec, idx)
    stories = list(section.stories)
    target = max(0, min(len(stories) - 1, idx + delta))
    stories.insert(target, stories.pop(idx))
    return _with_stories(content, sec, stories)


def pin(content: EditionContent, sec: int, idx: int) -> EditionContent:
    """Put a story first in its section, and its section first in the edition."""
    moved = move(content, sec, idx, -idx)
    sections = list(moved.sections)
    sections.insert(0, sections.pop(sec))
    return replace(moved, sections=sections)


def remove(content: EditionContent, sec: int, idx: int) -> EditionContent:
    """Take a story out of the edition (an emptied section goes too)."""
    section, _ = _story_at(content, sec, idx)
    stories = [s for i, s in enumerate(section.stories) if i != idx]
    return _with_stories(content, sec, stories)


def edit_story(
    content: EditionContent, sec: int, idx: int, headline: str, summary: str
) -> EditionContent:
    """New headline and summary for one story (blank headlines are refused)."""
    section, story = _story_at(content, sec, idx)
    headline = " ".join(headline.split())
    if not headline:
        raise DigestError("a story needs a headline")
    stories = list(section.stories)
    stories[idx] = replace(story, headline=headline[:500], summary=summary.strip())
    return _with_stories(content, sec, stories)


def edit_meta(content: EditionContent, subject: str, preheader: str, intro: str) -> EditionContent:
    """The edition's subject, preheader and intro."""
    subject = " ".join(subject.split())
    if not subject:
        raise DigestError("an edition needs a subject")
    return replace(
        content,
        subject=subject[:300],
        preheader=" ".join(preheader.split())[:300],
        intro=intro.strip(),
    )


def _quoted(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _changed(label: str, old: str, new: str) -> str | None:
    if old == new:
        return None
    return f"{label} {_quoted(old)} → {_quoted(new)}"


def describe(before: EditionContent, after: EditionContent, op: str, sec: int, idx: int) -> str:
    """What one edit changed, for the audit log: the story by its headline, before and after."""
    if op == "meta":
        parts = [
            _changed("subject", before.subject, after.subject),
            _changed("preheader", before.preheader, after.preheader),
            _changed("intro", before.intro, after.intro),
        ]
        return "; ".join(p for p in parts if p) or "nothing changed"
    section, story = _story_at(before, sec, idx)
    name = _quoted(story.headline)
    where = f"in {section.title}"
    if op in ("up", "down"):
        moved = after.sections[sec].stories
        new = next((i for i, s in enumerate(moved) if s == story), idx)
        return f"{name} {where}: place {idx + 1} → {new + 1}"
    if op == "pin":
        return f"{name} {where}: pinned to the top"
    if op == "remove":
        return f"{name} {where}: removed"
    edited = after.sections[sec].stories[idx]
    parts = [
        _changed("headline", story.headline, edited.headline),
        _changed("summary", story.summary, edited.summary),
    ]
    return f"{name} {where}: " + ("; ".join(p for p in parts if p) or "nothing changed")
