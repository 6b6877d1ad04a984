"""A draft from 5,000 candidate articles: select, group, rank, summarise (target < 10 s).

The articles are generated: 1,000 events told by 5 sources each, 250-word texts drawn from a
Zipf-like vocabulary plus each event's own words, published over a week, so the grouping has
real work to do. Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import itertools
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from digest.editions.build import build_edition
from digest.settings import NewsletterSettings, StoriesSettings
from digest.store.articles import ArticleRecord
from digest.stories.assemble import make_stories, story_summary
from digest.stories.select import select_articles

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TAGS = ["transit", "housing", "climate", "open-source"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))


def articles(events: int = 1000, per_event: int = 5, seed: int = 7) -> list[ArticleRecord]:
    """`events` × `per_event` generated articles; the same seed gives the same articles."""
    rng = random.Random(seed)
    common = [_word(rng) for _ in range(20000)]
    cum = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(common))))
    out = []
    for e in range(events):
        own = [_word(rng).capitalize() for _ in range(12)]
        at = NOW - timedelta(hours=rng.uniform(1, 160))
        tag = TAGS[e % len(TAGS)]
        for k in range(per_event):
            sentences = []
            for _ in range(14):
                words = rng.choices(common, cum_weights=cum, k=14) + rng.sample(own, 4)
                rng.shuffle(words)
                sentences.append(" ".join(words).capitalize() + ".")
            text = " ".join(sentences)
            out.append(
                ArticleRecord(
                    id=e * per_event + k + 1,
                    title=" ".join(rng.sample(own, 4) + rng.choices(common, k=4)),
                    text=text,
                    url=f"https://source{k}.example/{e}",
                    author=None,
                    source=f"Source {k}",
                    published_at=at + timedelta(hours=rng.uniform(0, 12)),
                    word_count=len(text.split()),
                    tags=(tag,),
                )
            )
    return out


def main() -> None:
    """Print the time of each step and the peak memory."""
    print("draft from 5,000 candidates (target: < 10 s)")
    pool = articles()
    nl = NewsletterSettings(title="Bench", tags=TAGS, window_days=7, max_stories=20)
    cpu = time.process_time()
    start = time.perf_counter()
    chosen = select_articles(pool, nl, NOW)
    t_select = time.perf_counter()
    stories = make_stories(chosen, nl, StoriesSettings(), NOW)
    t_group = time.perf_counter()
    edition = build_edition("bench", nl, chosen, 1, NOW, stories=stories)
    t_build = time.perf_counter()
    cpu_build = time.process_time() - cpu
    for story in stories:
        story_summary(story, 3)
    t_all = time.perf_counter()
    sizes = sorted((len(s.articles) for s in stories), reverse=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  select {t_select - start:.2f} s · group + rank {t_group - t_select:.2f} s "
          f"· build with {len(edition.stories)} summaries {t_build - t_group:.2f} s "
          f"· total {t_build - start:.2f} s (CPU time {cpu_build:.2f} s; wall time suffers when "
          "the machine is busy)")  # fmt: skip
    print(f"  {len(chosen)} articles → {len(stories)} stories (largest {sizes[:3]}; 1,000 events)")
    print(f"  summarising every story as well: {t_all - t_build:.2f} s more")
    print(f"  peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
