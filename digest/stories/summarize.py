"""Extractive summaries: pure, deterministic, no network and no model.

News puts the point first, so the opening sentences are strong candidates (Lead-3 is famously
hard to beat); on top of that position prior we score each sentence's centrality (how much it
shares with the rest of the text and with the headline), drop chrome and questions put to the
reader, never pick two sentences that say the same thing (news sites often repeat the opening as
a caption, and several sources of one story open alike), and stop at a sentence or word budget
without cutting a sentence. The result reads in the order the source told it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from digest.core.text import shorten
from digest.stories.sentences import split_sentences

_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP_WORDS = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own said same says she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours year years one two new told mr mrs
"""
_STOP = frozenset(_STOP_WORDS.split())
# Page furniture and appeals to the reader: never summary material.
_CHROME = re.compile(
    r"(?:\b(?:click|tap) here\b|\bsubscribe\b|\bsign up\b|\bnewsletter\b|\bshare (?:this|on)\b"
    r"|\bfollow us\b|\bread more\b|\bcomments?\b.*\b(?:below|section)\b|\blet us know\b"
    r"|\bcookies?\b|\ball rights reserved\b|\bcopyright\b|©|\bscroll down\b|\bskip to\b"
    r"|\bpublished:|\bupdated:|\blast updated\b|\bwatch the video\b|\bsponsored\b"
    r"|\bbookmark\b|\bdownload (?:the|our) app\b|\bpowered by\b|\badvertisement\b)",
    re.IGNORECASE,
)
_TO_READER = re.compile(r"\b(?:you|your|we|us)\b", re.IGNORECASE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "est", "ed", "es", "ly", "s")


def _stem(word: str) -> str:
    """A light suffix-stripper: enough for overlap between inflected forms, and fast."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words of `text`, lower-cased and lightly stemmed."""
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def is_chrome(sentence: str) -> bool:
    """Navigation, bylines, appeals to comment or subscribe, and questions to the reader."""
    words = sentence.split()
    if len(words) < 4 or len(words) > 90:
        return True
    if _CHROME.search(sentence):
        return True
    if sentence.rstrip("\"'”’)").endswith("?") and _TO_READER.search(sentence):
        return True
    # Breadcrumbs ("Home » World"), headings and captions without a sentence's end, lines
    # with no lower-case letter at all (menus, names), labels ending in a colon.
    if "»" in sentence or " | " in sentence or sentence.endswith(":"):
        return True
    if not re.search(r"[.!?…][\"'”’)\]]*$", sentence) and len(words) < 15:
        return True
    return not re.search(r"[a-z]", sentence)


@dataclass(frozen=True)
class Document:
    """One text to draw sentences from; `weight` favours a story's lead article."""

    text: str
    title: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class _Candidate:
    doc: int
    index: int
    text: str
    bag: Counter[str]
    words: int
    score: float


# Chosen on ../shared/eval/summaries (CNN/DailyMail): see bench/summaries.py.
POSITION_DECAY = 0.35
CENTRALITY_WEIGHT = 0.45
TITLE_WEIGHT = 0.25
REDUNDANCY = 0.55


def _candidates(docs: Sequence[Document]) -> list[_Candidate]:
    parsed: list[tuple[int, int, str, Counter[str]]] = []
    for d, doc in enumerate(docs):
        kept = 0
        for sentence in split_sentences(doc.text):
            if is_chrome(sentence) or (doc.title and sentence.strip() == doc.title.strip()):
                continue
            parsed.append((d, kept, sentence, Counter(terms(sentence))))
            kept += 1
    # Centrality against the whole (all documents): words shared by many sentences count.
    centroid: Counter[str] = Counter()
    for *_, bag in parsed:
        centroid.update(set(bag))
    titles = [Counter(terms(doc.title)) for doc in docs]
    centroid_sq = sum(v * v for v in centroid.values())
    out: list[_Candidate] = []
    for d, i, sentence, bag in parsed:
        # Cosine with the centroid of the *other* sentences (this one's words taken out once),
        # computed from the totals in O(words of the sentence).
        dot = sum(v * (centroid[k] - 1) for k, v in bag.items())
        others_sq = centroid_sq - sum(2 * centroid[k] - 1 for k in bag)
        bag_sq = sum(v * v for v in bag.values())
        centrality = dot / math.sqrt(bag_sq * others_sq) if dot > 0 and others_sq > 0 else 0.0
        title_sim = _cosine(bag, titles[d]) if titles[d] else 0.0
        position = math.exp(-POSITION_DECAY * i)
        score = docs[d].weight * (
            position + CENTRALITY_WEIGHT * centrality + TITLE_WEIGHT * title_sim
        )
        out.append(_Candidate(d, i, sentence, bag, len(sentence.split()), score))
    return out


def summarize_documents(
    docs: Sequence[Document], sentences: int = 3, max_words: int | None = None
) -> list[str]:
    """The summary's sentences drawn from all `docs`, best first, then in reading order.

    At most `sentences` sentences and, when given, at most `max_words` words (a first sentence
    longer than the budget is still kept whole rather than cut). A sentence too similar to one
    already picked is skipped, so a story told by several sources is not repeated.
    """
    pool = sorted(_candidates(docs), key=lambda c: (-c.score, c.doc, c.index))
    picked: list[_Candidate] = []
    words = 0
    for cand in pool:
        if len(picked) >= sentences:
            break
        if max_words is not None and picked and words + cand.words > max_words:
            continue
        if any(_cosine(cand.bag, p.bag) > REDUNDANCY for p in picked):
            continue
        picked.append(cand)
        words += cand.words
    picked.sort(key=lambda c: (c.doc, c.index))
    return [c.text for c in picked]


def summarize(text: str, title: str = "", sentences: int = 3, max_words: int | None = None) -> str:
    """An extractive summary of one article, sentences joined by spaces."""
    return " ".join(summarize_documents([Document(text, title)], sentences, max_words))


def lead_summary(text: str, sentences: int = 2, max_words: int = 80) -> str:
    """The first `sentences` sentences that fit in `max_words`; never cut mid-sentence.

    Kept as the simplest baseline. When even the first sentence is longer than the budget it
    is kept whole up to 2×`max_words`, and only a run-on beyond that is shortened.
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
