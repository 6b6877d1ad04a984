"""Operators' templates: copy ours as a starting point, and check theirs before a send uses them."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2

from digest.core.errors import TemplateError
from digest.core.resources import templates_dir
from digest.editions.content import EditionContent, Link, Section, Story
from digest.email.checks import Finding, check_email
from digest.email.message import Recipient
from digest.email.render import render_edition

# The folders of ours an operator may override (the preview page is ours alone).
OVERRIDABLE = ("email",)


def copy_templates(dest: Path, force: bool = False) -> list[Path]:
    """Copy the built-in email templates into `dest`; existing files are kept unless `force`."""
    source = templates_dir()
    files = [
        p for folder in OVERRIDABLE for p in sorted((source / folder).rglob("*")) if p.is_file()
    ]
    targets = [dest / p.relative_to(source) for p in files]
    clashes = [t for t in targets if t.exists()]
    if clashes and not force:
        raise TemplateError(
            f"{len(clashes)} file(s) already exist, e.g. {clashes[0]}",
            hint="pass --force to overwrite them, or copy into an empty folder",
        )
    for src, target in zip(files, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return targets


def overridden(user_dir: Path | None) -> list[str]:
    """Which of our templates the user's folder replaces, by name."""
    if user_dir is None or not user_dir.is_dir():
        return []
    ours = templates_dir()
    return sorted(
        str(p.relative_to(ours))
        for folder in OVERRIDABLE
        for p in (ours / folder).rglob("*")
        if p.is_file() and (user_dir / p.relative_to(ours)).is_file()
    )


def sample_edition() -> EditionContent:
    """A small edition with every block filled (intro, two sections, 'also covered by')."""
    story = Story(
        article_ids=[1],
        headline="Council approves the new tram line <after> a long debate",
        summary="The council voted 31 to 12 for the eastern tram line. Work starts in spring.",
        url="https://example.org/tram",
        source="City Gazette",
        published="2026-11-22T08:00:00+00:00",
        reading_minutes=4,
        also=[Link("Evening Post", "https://example.net/tram")],
    )
    other = Story([2], "Rents rise again", "Rents rose 3% this quarter.", None, "Stats", "", 2)
    return EditionContent(
        newsletter="sample",
        title="Sample Weekly",
        number=7,
        date="November 23, 2026",
        subject="Sample Weekly #7: Council approves the new tram line",
        preheader="Council approves the new tram line · Rents rise again",
        intro="<p>Welcome to <strong>this week's</strong> digest.</p>",
        sections=[Section("transit", "Transit", [story]), Section("housing", "Housing", [other])],
    )


def check_templates(env: jinja2.Environment, base_url: str, warn_kb: int) -> list[Finding]:
    """Render the sample edition with these templates; raises TemplateError naming the place."""
    context = {
        "description": "A sample.",
        "postal_address": "1 Sample Street",
        "sender_name": "Sample",
        "base_url": base_url,
        "view_url": f"{base_url}/archive/sample/7",
    }
    rendered = render_edition(env, sample_edition(), context)
    values = Recipient(0, 0, "reader@example.com", "Sample Reader", f"{base_url}/u/x").slot_values()
    findings = check_email(rendered.html.fill(values), base_url, warn_kb)
    if "unsubscribe_url" not in rendered.html.slots:
        findings.append(Finding("error", "the HTML part has no visible unsubscribe link slot"))
    if "unsubscribe_url" not in rendered.text.slots:
        findings.append(Finding("error", "the text part has no unsubscribe link slot"))
    return findings
