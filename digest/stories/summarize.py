"""Extractive summaries: pure, deterministic, no network and no model.

News puts the point first, so the opening sentences are strong candidates (Lead-3 is famously
hard to beat); on top of that position prior we score each sentence's centrality (how much it
shares with the rest of the text and with the headline), drop chrome and questions put to the
reader, never pick two sentences that say the same thing (news sites often repeat the opening as
a caption, and several sources of one story open alike), and stop at a sentence or word budget
without cutting a sentence. The result reads in the order the source told it.

Every script is handled (see digest.core.scripts): words are counted and compared by
characters where a language writes without spaces, and the English-only rules (stop words,
suffixes, questions to the reader) touch only English words. A summary is never empty when the
article has text: when no sentence passes the filters the opening is used, and a text with no
sentence boundary at all (Thai, a run-on) is cut at a word boundary with an ellipsis.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from digest.core.scripts import cut, join_sentences, mostly_cased, tokens, word_units
from digest.core.sentences import split_sentences

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
# A sentence's end mark in any script (see digest.core.sentences), maybe closed by quotes.
_ENDED = re.compile(r"[.!?…。！？｡؟۔।॥;][\"'”’»)\]」』）】]*$")
# The longest sentence kept whole, in word units; longer ones are page dumps or unpunctuated
# runs, used only when nothing else is left, and then cut.
LONGEST = 90


def _stem(word: str) -> str:
    """A light English suffix-stripper: enough for overlap between inflected forms, and fast."""
    if not word.isascii():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words of `text`, lower-cased and lightly stemmed; character pairs of Chinese,
    Japanese or Thai."""
    return [_stem(w) for w in tokens(text) if w not in _STOP and (len(w) > 1 or not w.isascii())]


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
    words = word_units(sentence)
    if words < 4 or words > LONGEST:
        return True
    if _CHROME.search(sentence):
        return True
    if sentence.rstrip("\"'”’)").endswith("?") and _TO_READER.search(sentence):
        return True
    # Breadcrumbs ("Home » World"), headings and captions without a sentence's end, lines
    # with no lower-case letter at all (menus, names), labels ending in a colon.
    if "»" in sentence or " | " in sentence or sentence.endswith(":"):
        return True
    if not _ENDED.search(sentence) and words < 15:
        return True
    # In a cased script, a line without a lower-case letter is a menu, a name or a shout.
    return mostly_cased(sentence) and not any(ch.islower() for ch in sentence)


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
        out.append(_Candidate(d, i, sentence, bag, word_units(sentence), score))
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
    return [c.text for c in picked] or opening(docs, max_words)


def opening(docs: Sequence[Document], max_words: int | None = None) -> list[str]:
    """The first sentence of the first document that has one besides its title: what a
    summary falls back to when every sentence failed the filters (too short, unpunctuated,
    too long). A sentence longer than the budget is cut at a word boundary."""
    limit = min(max_words or LONGEST, LONGEST)
    for doc in docs:
        for sentence in split_sentences(doc.text):
            if sentence.strip() != doc.title.strip() or not doc.title:
                return [cut(sentence, limit)]
    # Only the headline itself (a headline-only feed item): it is the article's whole text.
    for doc in docs:
        if doc.text.strip():
            return [cut(" ".join(doc.text.split()), limit)]
    return []


def summarize(text: str, title: str = "", sentences: int = 3, max_words: int | None = None) -> str:
    """An extractive summary of one article, its sentences as one paragraph."""
    return join_sentences(summarize_documents([Document(text, title)], sentences, max_words))


def lead_summary(text: str, sentences: int = 2, max_words: int = 80) -> str:
    """The first `sentences` sentences that fit in `max_words`; never cut mid-sentence.

    Kept as the simplest baseline. When even the first sentence is longer than the budget it
    is kept whole up to 2×`max_words`, and only a run-on beyond that is shortened.
    """
    picked: list[str] = []
    words = 0
    for sentence in split_sentences(text):
        n = word_units(sentence)
        if picked and (len(picked) >= sentences or words + n > max_words):
            break
        picked.append(sentence)
        words += n
    if not picked:
        return ""
    if len(picked) == 1:
        return cut(picked[0], max_words * 2)
    return join_sentences(picked)
