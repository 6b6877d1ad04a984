"""Render + inline one 20-story edition, and personalise recipients from the rendered variant."""

from __future__ import annotations

import html
import statistics
import time
from datetime import UTC, datetime, timedelta

import jinja2

from digest.core.templating import render_template, template_env
from digest.editions.build import build_edition
from digest.email.checks import check_email
from digest.email.message import PreparedEdition, Recipient, compose
from digest.email.render import DEFAULT_CONTEXT, VariantRenderer, inline_css, render_edition
from digest.settings import NewsletterSettings
from digest.store.articles import ArticleRecord

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTEXT = {
    "description": "Benchmark newsletter.",
    "postal_address": "1 Sample Street",
    "sender_name": "Bench",
    "base_url": "https://news.example.com",
    "view_url": "https://news.example.com/archive/bench/1",
}


def articles(n: int) -> list[ArticleRecord]:
    """n generated articles over four tags."""
    tags = ["transit", "housing", "climate", "open-source"]
    body = " ".join(
        f"Sentence {i} says something specific about the matter at hand." for i in range(40)
    )
    return [
        ArticleRecord(
            id=i,
            title=f"Generated headline number {i} about a local matter",
            text=body,
            url=f"https://example.org/{i}",
            author=None,
            source=f"Source {i % 5}",
            published_at=NOW - timedelta(hours=i),
            word_count=400,
            tags=(tags[i % 4],),
        )
        for i in range(n)
    ]


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Wall-clock seconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    """Print render, inline and personalisation figures."""
    nl = NewsletterSettings(title="Bench", tags=["transit", "housing", "climate", "open-source"])
    content = build_edition("bench", nl, articles(20), 1, NOW)
    env = template_env()
    render_edition(env, content, CONTEXT)  # warm the template and CSS caches
    whole = timed(lambda: render_edition(env, content, CONTEXT), 20)
    ctx = {**DEFAULT_CONTEXT, **CONTEXT, "edition": content}
    # The same steps timed side by side in each round, so the shares add up.
    jinja, inline, parts = [], [], []
    for _ in range(20):
        t0 = time.perf_counter()
        raw = render_template(env, "email/digest.html", ctx)
        t1 = time.perf_counter()
        inline_css(raw)
        t2 = time.perf_counter()
        render_template(env, "email/digest.txt", ctx)
        t3 = time.perf_counter()
        jinja.append(t1 - t0 + t3 - t2)
        inline.append(t2 - t1)
        parts.append(t3 - t0)
    rendered = render_edition(env, content, CONTEXT)
    recipients = [
        Recipient(
            i, i, f"reader{i}@example.com", f"Reader {i}", f"https://news.example.com/u/tok{i}"
        )
        for i in range(100_000)
    ]
    start = time.perf_counter()
    for r in recipients:
        values = r.slot_values()
        rendered.html.fill(values, escape=html.escape)
        rendered.text.fill(values)
    fill = time.perf_counter() - start
    prepared = PreparedEdition(
        1,
        "bench",
        1,
        content.subject,
        "Bench",
        "bench@news.example.com",
        None,
        "Bench <bench.news.example.com>",
        rendered,
    )
    start = time.perf_counter()
    for r in recipients[:2000]:
        compose(prepared, r, NOW)
    message = (time.perf_counter() - start) / 2000
    median = statistics.median(whole)
    sample_html = rendered.html.fill(recipients[0].slot_values(), escape=html.escape)
    checks = timed(lambda: check_email(sample_html, CONTEXT["base_url"]), 20)
    # Topic preferences: every non-empty set of the four sections is a variant (15 in all).
    tags = [s.tag for s in content.sections]
    subsets = [[t for j, t in enumerate(tags) if mask >> j & 1] for mask in range(1, 16)]
    start = time.perf_counter()
    variants = VariantRenderer(content, lambda c: render_edition(env, c, CONTEXT))
    for _ in range(10):  # readers with the same topics share a render
        for topics in subsets:
            variants.render(topics)
    all_variants = time.perf_counter() - start
    print("render (20 stories)")
    print(f"  render + inline, median of 20: {median * 1000:7.1f} ms   (target < 150 ms)")
    print(f"  Jinja2 (HTML + text), median:  {statistics.median(jinja) * 1000:7.1f} ms")
    print(f"  premailer, median:             {statistics.median(inline) * 1000:7.1f} ms")
    print(f"  premailer's share:             {sum(inline) / sum(parts):7.0%}")
    print(f"  checks (size, links, images):  {statistics.median(checks) * 1000:7.1f} ms")
    print(
        f"  all {variants.renders} topic variants:        {all_variants * 1000:7.1f} ms"
        f"   ({variants.renders} renders for {10 * len(subsets)} look-ups)"
    )
    print(f"  HTML size:                     {len(rendered.html) / 1024:7.1f} KiB")
    print(f"  personalise 100,000 (HTML+text):{fill:7.2f} s    (target < 5 s)")
    print(f"  per recipient:                 {fill / 100_000 * 1e6:7.1f} µs   (target < 50 µs)")
    print(f"  full MIME message per recipient: {message * 1e6:5.0f} µs   (outbox/SMTP path)")
    multilingual_figures(env)


def multilingual_figures(env: jinja2.Environment) -> None:
    """The 20-story edition in ten languages (tests/multilingual.py): render, inline, size."""
    from tests import multilingual

    content = multilingual.edition()
    render_edition(env, content, multilingual.CONTEXT)
    runs = timed(lambda: render_edition(env, content, multilingual.CONTEXT), 20)
    rendered = render_edition(env, content, multilingual.CONTEXT)
    size = len((rendered.html.fill({n: "x" * 40 for n in rendered.html.slots})).encode())
    print("render (20 stories, ten languages and scripts)")
    median = statistics.median(runs) * 1000
    print(f"  render + inline, median of 20: {median:7.1f} ms   (target < 150 ms)")
    print(f"  HTML size (UTF-8):             {size / 1000:7.1f} KB    (target < 102 KB)")


if __name__ == "__main__":
    main()
