"""A story's summary. For now the lead: the opening sentences, cut on a sentence boundary."""

from __future__ import annotations

from digest.text import shorten, split_sentences


def lead_summary(text: str, sentences: int = 2, max_words: int = 80) -> str:
    """The first `sentences` sentences that fit in `max_words`; never cut mid-sentence.

    When even the first sentence is longer than the budget it is kept whole up to
    2×`max_words`, and only a run-on beyond that is shortened with an ellipsis.
    """
    picked: list[str] = []
    words = 0
    for sentence in split_sentences(text):
        n = len(sentence.split())
        if picked and (len(picked) >= sentences or words + n > max_words):
            break
        picked.append(sentence)
        words += n
    if not picked:
        return ""
    if len(picked) == 1:
        return shorten(picked[0], max_words * 2)
    return " ".join(picked)
