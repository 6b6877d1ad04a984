"""Build an edition's content from selected articles: pure, the same for the same inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from digest.core.direction import direction
from digest.core.scripts import cut
from digest.core.text import reading_minutes
from digest.editions.content import EditionContent, LeftOut, Link, Section, Story
from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord
from digest.stories.assemble import Changes, StoryGroup, story_summary
from digest.stories.summarize import lead_summary


def section_title(tag: str) -> str:
    """A readable heading for a tag: 'open-source' → 'Open source'."""
    words = tag.replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def build_edition(
    name: str,
    newsletter: NewsletterSettings,
    articles: Sequence[ArticleRecord],
    number: int,
    now: datetime,
    tz: str = "UTC",
    stories: Sequence[StoryGroup] | None = None,
    edits: Changes | None = None,
    summarizer: Callable[[StoryGroup, int, int | None], str] = story_summary,
) -> EditionContent:
    """Sections by the newsletter's tag order, subject and preheader.

    With `stories` (from digest.stories.assemble.make_stories), one entry per story in rank
    order, at most `max_stories`, each summarised from all its articles; without, one story per
    article with its lead sentences (the simplest form, kept for callers that group nothing).
    """
    by_tag: dict[str, list[Story]] = {tag: [] for tag in newsletter.tags}
    if stories is None:
        for art in articles:
            tag = next((t for t in newsletter.tags if t in art.tags), None)
            if tag is None:
                continue
            by_tag[tag].append(
                Story(
                    article_ids=[art.id],
                    headline=art.title,
                    summary=lead_summary(art.text, newsletter.summary_sentences),
                    url=art.url,
                    source=art.outlet_name,
                    published=art.published_at.isoformat(),
                    reading_minutes=reading_minutes(art.word_count),
                    key=art.id,
                    lang=art.language or "",
                    dir=direction(art.language, art.title + " " + art.text[:500]),
                )
            )
    else:
        for group in stories[: newsletter.max_stories]:
            tag = story_tag(group, newsletter.tags)
            if tag is not None:
                by_tag[tag].append(story_entry(group, newsletter, edits, summarizer))
    shown = [s for tag_stories in by_tag.values() for s in tag_stories]
    left_out = left_out_of(articles, shown, stories, newsletter, edits)
    # The subject names the top-ranked story (pinned first), wherever its section falls.
    ranked = (
        sorted(shown, key=lambda s: not s.pinned) if stories is None else _by_rank(shown, stories)
    )
    rank = {id(s): i for i, s in enumerate(ranked)}
    sections = [
        Section(t, section_title(t), [replace(s, rank=rank[id(s)]) for s in tag_stories])
        for t, tag_stories in by_tag.items()
        if tag_stories
    ]
    local = now.astimezone(ZoneInfo(tz))
    date = f"{local:%B} {local.day}, {local.year}"
    top = ranked[0].headline if ranked else ""
    subject = newsletter.subject.format(
        title=newsletter.title, number=number, top_headline=top, date=date
    )
    subject = " ".join(subject.split())[:300]
    return EditionContent(
        newsletter=name,
        title=newsletter.title,
        number=number,
        date=date,
        subject=subject,
        preheader=preheader(ranked, subject),
        intro="",
        sections=sections,
        left_out=left_out,
    )


def left_out_of(
    articles: Sequence[ArticleRecord],
    shown: Sequence[Story],
    stories: Sequence[StoryGroup] | None,
    newsletter: NewsletterSettings,
    edits: Changes | None,
) -> list[LeftOut]:
    """Every candidate that is in no shown story, with the reason it is not."""
    carried = {i for s in shown for i in s.article_ids}
    beyond: set[int] = set()
    if stories is not None:
        for group in stories[newsletter.max_stories :]:
            beyond.update(a.id for a in group.articles)
    removed = {e.key for e in edits.edits if e.removed} if edits else set()
    out = []
    for art in articles:
        if art.id in carried:
            continue
        if art.id in beyond:
            reason = f"its story ranks below the first {newsletter.max_stories} (max_stories)"
        elif not any(t in art.tags for t in newsletter.tags):
            reason = "none of its tags is a section of this newsletter"
        elif removed:
            reason = "its story was removed by an editor"
        else:
            reason = "its story has no section (no member carries a section's tag)"
        out.append(LeftOut(art.id, art.title, art.outlet_name, reason))
    return out


def _by_rank(shown: list[Story], stories: Sequence[StoryGroup]) -> list[Story]:
    rank = {g.key: i for i, g in enumerate(stories)}
    return sorted(shown, key=lambda s: rank.get(s.key, len(rank)))


def story_tag(group: StoryGroup, tags: Sequence[str]) -> str | None:
    """The section of a story: the first of the newsletter's tags its lead (else any) carries."""
    for candidates in ([group.lead], group.articles):
        for tag in tags:
            if any(tag in a.tags for a in candidates):
                return tag
    return None


def _is_cut(title: str) -> bool:
    """A headline a feed or page cut short: it starts or ends with an ellipsis."""
    t = title.strip()
    return t.startswith(("…", "...")) or t.endswith(("…", "..."))


def whole_headline(group: StoryGroup) -> str:
    """The lead's headline, unless it was cut short and another member's is whole; a cut
    headline makes a poor subject line."""
    lead = group.lead.title
    if not _is_cut(lead):
        return lead
    return next((a.title for a in group.articles if a.title and not _is_cut(a.title)), lead)


def story_entry(
    group: StoryGroup,
    newsletter: NewsletterSettings,
    edits: Changes | None = None,
    summarizer: Callable[[StoryGroup, int, int | None], str] = story_summary,
) -> Story:
    """One story as the edition shows it: the lead's headline and link, the other sources.

    An editor's rewritten headline or summary replaces the generated one.
    """
    lead = group.lead
    edit = edits.for_story([a.id for a in group.articles]) if edits else None
    also: list[Link] = []
    seen = {lead.outlet_name}
    for art in group.articles[1:]:
        if art.outlet_name not in seen and art.url:
            seen.add(art.outlet_name)
            also.append(Link(source=art.outlet_name, url=art.url))
    return Story(
        article_ids=sorted(a.id for a in group.articles),
        headline=(edit.headline if edit and edit.headline else whole_headline(group)),
        summary=(
            edit.summary
            if edit and edit.summary
            else summarizer(group, newsletter.summary_sentences, newsletter.summary_words)
        ),
        url=lead.url,
        source=lead.outlet_name,
        published=lead.published_at.isoformat(),
        reading_minutes=reading_minutes(lead.word_count),
        also=also,
        key=group.key,
        pinned=group.pinned,
        sources=len(group.sources),
        lang=lead.language or "",
        dir=direction(lead.language, lead.title + " " + lead.text[:500]),
    )


def preheader(stories: Sequence[Story], subject: str = "", limit: int = 140) -> str:
    """The inbox line after the subject: it adds to the subject, never repeats it.

    The first headlines the subject does not already name, and how many more stories follow;
    when the subject names the only story, the start of its summary.
    """
    fresh = [s for s in stories if not (subject and s.headline and s.headline in subject)]
    if not fresh:
        return cut(stories[0].summary, 25) if stories and stories[0].summary else ""
    text = ""
    shown = 0
    for story in fresh:
        candidate = f"{text} · {story.headline}" if text else story.headline
        if shown and len(candidate) > limit:
            break
        text, shown = candidate, shown + 1
    rest = len(fresh) - shown
    if rest:
        text += f" · and {rest} more {'story' if rest == 1 else 'stories'}"
    if len(fresh) < len(stories):
        text = f"Also: {text}"
    return text[: limit + 40]
