"""Summary quality on ../shared/eval/summaries: ROUGE next to Lead-3, TextRank and LexRank.

All methods get the same sentences (digest's splitter) and the same length (3 sentences).
digest.stories.summarize's weights were chosen on this set, so the figures are in-sample for the
setting that ships.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from digest.core.sentences import split_sentences
from digest.stories.summarize import Document, summarize_documents

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "summaries"
SENTENCES = 3


class _Tokenizer:
    """sumy's tokenizer interface over digest's splitter (no NLTK data download)."""

    language = "english"

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph)

    def to_words(self, sentence: str) -> list[str]:
        return [w for w in sentence.replace("’", "'").split() if any(c.isalnum() for c in w)]


def ours(text: str) -> list[str]:
    """digest's extractive summary."""
    return summarize_documents([Document(text)], SENTENCES)


def lead3(text: str) -> list[str]:
    """The first three sentences."""
    return split_sentences(text)[:SENTENCES]


def _sumy(kind: type) -> Callable[[str], list[str]]:
    summarizer = kind(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    def run(text: str) -> list[str]:
        doc = PlaintextParser.from_string(text, _Tokenizer()).document
        return [str(s) for s in summarizer(doc, SENTENCES)]

    return run


def score(
    method: Callable[[str], list[str]], articles: Sequence[dict[str, str]], refs: dict[str, str]
) -> tuple[float, float, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 ×100."""
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    r1, r2, rl = [], [], []
    for art in articles:
        summary = "\n".join(method(art["text"]))
        s = scorer.score(refs[art["id"]], summary)
        r1.append(s["rouge1"].fmeasure)
        r2.append(s["rouge2"].fmeasure)
        rl.append(s["rougeLsum"].fmeasure)
    return (
        100 * statistics.fmean(r1),
        100 * statistics.fmean(r2),
        100 * statistics.fmean(rl),
    )


def main() -> None:
    """Print ROUGE for digest and the three baselines."""
    print("summaries (ROUGE F1 ×100, 3 sentences; target: ≥ Lead-3, > TextRank and LexRank)")
    if not EVAL.is_dir():
        print(f"  skipped: {EVAL} is absent")
        return
    with (EVAL / "articles.jsonl").open(encoding="utf-8") as fh:
        articles = [json.loads(line) for line in fh if line.strip()]
    with (EVAL / "references.jsonl").open(encoding="utf-8") as fh:
        refs = {r["id"]: r["reference"] for r in map(json.loads, fh)}
    methods: list[tuple[str, Callable[[str], list[str]]]] = [
        ("digest (extractive)", ours),
        ("Lead-3", lead3),
        ("TextRank (sumy)", _sumy(TextRankSummarizer)),
        ("LexRank (sumy)", _sumy(LexRankSummarizer)),
    ]
    for name, method in methods:
        start = time.perf_counter()
        r1, r2, rl = score(method, articles, refs)
        took = time.perf_counter() - start
        print(f"  {name:22} R1 {r1:6.2f}  R2 {r2:6.2f}  RLsum {rl:6.2f}   ({took:.2f} s)")


if __name__ == "__main__":
    main()
