"""Articles as vectors for grouping: what is compared, and what is left out. Pure functions.

Each article is a TF-IDF vector in three parts (scikit-learn), each L2-normalised and weighted:
the words of headline, lead and text (headline and lead counted twice), its capitalised names
and numbers (who, where, how many; boosted), and the character n-grams of its headline
(which match "sterilisation" to "sterilization"). Links, markup, read-more boilerplate, day and
month names, count words and bare numbers are taken out first, so two articles never join on a
shared "Tuesday", "12 May" or "2,500" alone (tests/test_false_merges.py). `explain` says which
terms made two articles similar.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

log = logging.getLogger(__name__)

NAME_BOOST = 0.8
CHAR_WEIGHT = 1.0
# Fewer words of text than this and an article is compared as a headline. A two-line brief
# (15 words or more) is an article: held to the headline bar, briefs of one company's news
# joined whatever long story shared its name (tests/test_false_merges.py).
SHORT_TEXT_WORDS = 15
# A news lead paragraph: its words count twice, as the headline's do.
LEAD_WORDS = 80

_NAME = re.compile(r"\b(?:[A-Z][\w'’-]+|\d[\d,.]*\w*)")
# Capitalised, but they name a day, not who or where: a shared "Tuesday" joins nothing.
CALENDAR = frozenset(
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december",
        # Count words: "1.5 million" says how many, not of what.
        "hundred", "thousand", "million", "billion", "trillion", "percent",
    }
)  # fmt: skip
# Links and markup fragments say nothing about an event: they go before anything is compared.
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|<[^>]{0,200}>|&[a-z]{2,8};|&#\d{1,6};"
    r"|\b(?:read more|continue reading|click here|share this|sign up|subscribe)\b",
    re.IGNORECASE,
)
# Words with at least one letter: a bare number ("300", "12", "9:30") is no evidence either.
_WORD = r"(?u)\b\w*[^\W\d_]\w*\b"
# Taken out of headlines before their character n-grams: day and month names, clock times.
_CALENDAR_WORD = re.compile(
    r"\b(?:" + "|".join(sorted(CALENDAR)) + r")\b|\b\d{1,2}[:.]\d{2}\b|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d[\d,.]*[,.]\d+\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    """What grouping needs to know about one article."""

    title: str
    text: str = ""
    published: datetime | None = None


def _lead(text: str) -> str:
    """The first LEAD_WORDS words: counted twice, so the lead paragraph (who, what, where)
    weighs more than the tail (background, quotes, the site's own asides)."""
    return " ".join(text.split()[:LEAD_WORDS])


def _names(item: Item) -> str:
    """Capitalised words and numbers: who, where and how many, which tell events apart."""
    body = f"{item.title}. {item.text}"
    return " ".join(
        t for t in _NAME.findall(body) if t.lower() not in CALENDAR and not t[0].isdigit()
    )


@dataclass
class Block:
    """One part of the vectors (words, names or headline n-grams): rows L2-normalised, the
    weight it has in the whole, its columns' names and their IDF over the articles."""

    rows: sparse.csr_matrix
    weight: float
    terms: list[str]
    idf: np.ndarray
    by_story: bool  # re-weighted for headline-only articles after the first pass


def blocks_of(items: Sequence[Item], name_boost: float, char_weight: float) -> list[Block]:
    """The three parts of the articles' vectors, kept apart so the headline-only rows can be
    re-weighted after the first pass (`weigh_by_story`) without tokenising again."""
    # Imported here: scikit-learn takes a second to load, and only drafts need it.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    items = [Item(_NOISE.sub(" ", i.title), _NOISE.sub(" ", i.text), i.published) for i in items]
    docs = [f"{it.title} {it.title} {_lead(it.text)} {it.text}" for it in items]
    stop = sorted(ENGLISH_STOP_WORDS | CALENDAR)
    words = TfidfVectorizer(
        sublinear_tf=True, stop_words=stop, token_pattern=_WORD, dtype=np.float32
    )
    out = [Block(words.fit_transform(docs), 1.0, list(words.get_feature_names_out()),
                  words.idf_, True)]  # fmt: skip
    if name_boost > 0:
        names = [_names(it) for it in items]
        if any(n.strip() for n in names):
            named = TfidfVectorizer(
                sublinear_tf=True, lowercase=True, stop_words="english", token_pattern=_WORD,
                dtype=np.float32,
            )  # fmt: skip
            try:
                rows = named.fit_transform(names)
                terms = [f"name:{t}" for t in named.get_feature_names_out()]
                out.append(Block(rows, name_boost, terms, named.idf_, False))
            except ValueError:  # nothing left after stop words: no names block
                log.debug("no names to compare among %d articles", len(items))
    if char_weight > 0 and any(it.title.strip() for it in items):
        chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32
        )
        rows = chars.fit_transform([_CALENDAR_WORD.sub(" ", it.title) for it in items])
        terms = [f"chars:{t.strip()}" for t in chars.get_feature_names_out()]
        out.append(Block(rows, char_weight, terms, chars.idf_, True))
    return out


def combine(blocks: Sequence[Block]) -> sparse.csr_matrix:
    """The blocks side by side, each at its weight, rows L2-normalised: the vectors compared."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    return normalize(sparse.hstack([b.rows * b.weight for b in blocks], format="csr")).tocsr()


def vectors_and_terms(
    items: Sequence[Item], name_boost: float = NAME_BOOST, char_weight: float = CHAR_WEIGHT
) -> tuple[sparse.csr_matrix, list[str]]:
    """The vectors grouping compares, and what each column is: a word, "name:" a name or
    number, "chars:" a character n-gram of the headline (for `explain`)."""
    blocks = blocks_of(items, name_boost, char_weight)
    return combine(blocks), [t for b in blocks for t in b.terms]


def weigh_by_story(
    blocks: Sequence[Block], labels: Sequence[int], short: np.ndarray
) -> list[Block]:
    """The blocks with headline-only rows re-weighted by story frequency: a term's IDF counts
    the first-pass stories that use it, not the articles. Forty headlines of one event share
    its words; counted by article those words look common and weigh little, counted by story
    they are rare, as they are. Articles with text keep article IDF: their text separates
    events of one subject, which story counts would blur (on ECB+ it cost precision)."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    _, story = np.unique(np.asarray(labels), return_inverse=True)
    n = len(labels)
    members = sparse.csr_matrix(
        (np.ones(n, dtype=np.float32), (story, np.arange(n))), shape=(int(story.max()) + 1, n)
    )
    keep = sparse.diags((~short).astype(np.float32))
    pick = sparse.diags(short.astype(np.float32))
    out = []
    for block in blocks:
        if not block.by_story:
            out.append(block)
            continue
        used = members @ (block.rows > 0).astype(np.float32)
        df = np.asarray((used > 0).sum(axis=0)).ravel()
        idf = np.log((1 + members.shape[0]) / (1 + df)) + 1
        scale = sparse.diags((idf / block.idf).astype(np.float32))
        rows = keep @ block.rows + pick @ normalize(block.rows @ scale)
        out.append(Block(rows.tocsr(), block.weight, block.terms, idf, True))
    return out


@dataclass(frozen=True)
class Joined:
    """Why two articles of one story are together: their cosine and what made it."""

    first: int
    second: int
    similarity: float
    terms: list[tuple[str, float]]


def explain(
    items: Sequence[Item], groups: Sequence[Sequence[int]], top: int = 6, per_story: int = 10
) -> list[Joined]:
    """For each pair of articles in a story (up to `per_story`, closest first), the terms that
    contribute most to their similarity: what an editor checks when a story looks blended.
    Character n-grams are folded into one "similar headline wording" entry."""
    if len(items) < 2:
        return []
    try:
        matrix, terms = vectors_and_terms(items)
    except ValueError:
        return []
    out: list[Joined] = []
    for members in groups:
        pairs = []
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                row = matrix[a].multiply(matrix[b]).tocoo()
                contributions: dict[str, float] = {}
                for col, value in zip(row.col.tolist(), row.data.tolist(), strict=True):
                    term = terms[col]
                    key = "similar headline wording" if term.startswith("chars:") else term
                    contributions[key] = contributions.get(key, 0.0) + float(value)
                ranked = sorted(contributions.items(), key=lambda kv: -kv[1])[:top]
                pairs.append(Joined(a, b, float(row.data.sum()), ranked))
        out += sorted(pairs, key=lambda j: -j.similarity)[:per_story]
    return out
