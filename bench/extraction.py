"""Main-text extraction on ../shared/eval/extraction: ours next to trafilatura alone.

Scored as the article-extraction benchmark scores it: word tokens (\\w+), word 4-gram shingles
counted as multisets, each page's true/false positive and false negative counts normalised to
sum to 1, mean precision and mean recall over pages, and F1 of the two means.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from digest.ingest.fetch import Fetcher
from digest.ingest.service import read_source
from digest.settings import IngestSettings

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "extraction"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[str]:
    """The text's word n-gram shingles, counted."""
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def page_score(truth: str, predicted: str) -> tuple[float, float]:
    """(precision, recall) of one page from normalised shingle counts."""
    t, p = shingles(truth), shingles(predicted)
    tp = sum(min(t[k], p[k]) for k in t.keys() & p.keys())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    total = tp + fp + fn or 1
    tp_n, fp_n, fn_n = tp / total, fp / total, fn / total
    precision = tp_n / (tp_n + fp_n) if tp_n + fp_n else 0.0
    recall = tp_n / (tp_n + fn_n) if tp_n + fn_n else 0.0
    return precision, recall


def evaluate(
    extract: Callable[[Path], str], pages: list[tuple[Path, str]]
) -> tuple[float, float, float, int, float]:
    """Mean precision, mean recall, F1 of the means, failed pages, median ms per page."""
    scores, times, failed = [], [], 0
    for path, truth in pages:
        start = time.perf_counter()
        try:
            text = extract(path)
        except Exception:  # a failed page scores zero and is counted, never hidden
            text = ""
        times.append((time.perf_counter() - start) * 1000)
        if not text.strip():
            failed += 1
        scores.append(page_score(truth, text))
    p = statistics.fmean(s[0] for s in scores)
    r = statistics.fmean(s[1] for s in scores)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1, failed, statistics.median(times)


def load_pages(folder: Path) -> list[tuple[Path, str]]:
    """The labelled pages, decompressed into `folder`, with their true text."""
    out = []
    for line in (EVAL / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        target = folder / f"{row['id']}.html"
        target.write_bytes(gzip.decompress((EVAL / row["file"]).read_bytes()))
        out.append((target, row["text"]))
    return out


def main() -> None:
    """Print precision, recall and F1 for ours and for trafilatura with default settings."""
    if not (EVAL / "truth.jsonl").is_file():
        print(f"extraction: {EVAL} is absent; skipped")
        return
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp, Fetcher(IngestSettings()) as fetcher:
        pages = load_pages(Path(tmp))

        def ours(path: Path) -> str:
            # What `digest extract FILE --json` prints as the first article's text.
            read = read_source("auto", str(path), "bench", fetcher, now)
            return read.articles[0].text if read.articles else ""

        def baseline(path: Path) -> str:
            return trafilatura.extract(path.read_text(encoding="utf-8", errors="replace")) or ""

        print(f"extraction on {len(pages)} labelled pages (target: F1 ≥ trafilatura's, 0 failed)")
        print(f"  {'method':<32} {'precision':>9} {'recall':>7} {'F1':>6} {'failed':>6} {'ms':>6}")
        for name, fn in (("trafilatura, default settings", baseline), ("digest extract", ours)):
            p, r, f1, failed, ms = evaluate(fn, pages)
            print(f"  {name:<32} {p:9.3f} {r:7.3f} {f1:6.3f} {failed:6d} {ms:6.1f}")


if __name__ == "__main__":
    main()
