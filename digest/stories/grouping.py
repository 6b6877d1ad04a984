"""Group articles that report the same event into stories: a pure function of texts and times.

Articles become TF-IDF vectors (scikit-learn; headline and lead counted twice, capitalised names
boosted because two earthquakes or two rehab check-ins differ mostly in who and where). What
does not identify an event is taken out first: links, markup and entities, read-more
boilerplate, day and month names, count words, bare numbers (from the words and the names;
from headline n-grams, clock times, ISO dates and formatted numbers), so two articles never
join on a shared "Tuesday", "12 May" or "2,500" alone (tests/test_false_merges.py).
Similarities are computed in row blocks of a sparse product and only pairs at or above the
threshold are kept, so memory grows with the number of close pairs, not with n². Articles
published far apart are made less similar (`time_scale`). Then average-link clustering runs on
that sparse graph: two groups merge while the mean similarity over all their article pairs
(pairs below the threshold count as 0) stays at or above the threshold. That is what
average-link agglomerative clustering does with a distance threshold, without the n×n matrix.

A second pass gives an article that joined nobody one more chance: it joins the story (of two
or more articles) whose centroid, the mean of its members' vectors, is closest, when that
cosine reaches the same threshold (`attach_threshold` can set another). Several reports of one
event average out each site's wording, so a report told in other words is nearer to their
centroid than to any one of them; a different event of the same subject gains far less.
Headline-only articles and stories are left out of this pass: a few words compared with a
centroid say too little (on headlines it only cost precision). The cosine must also reach the
bar with the word weights of the story's neighbourhood, so unrelated articles in the pool do
not make a subject's words look rare and lower the bar (see `_local_weights`).

When the pool holds headline-only articles, the clustering runs once more with their words
weighed by how many first-pass stories use them (see `_by_story`).
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

# Defaults chosen on ../shared/eval/stories (see bench/stories.py for the figures).
THRESHOLD = 0.20
HEADLINE_THRESHOLD = 0.04
NAME_BOOST = 0.8
CHAR_WEIGHT = 1.0
TIME_SCALE_DAYS = 3.0
# Fewer words of text than this and an article is compared as a headline. A two-line brief
# (15 words or more) is an article: held to the headline bar, briefs of one company's news
# joined whatever long story shared its name (tests/test_false_merges.py).
SHORT_TEXT_WORDS = 15
# A news lead paragraph: its words count twice, as the headline's do.
LEAD_WORDS = 80
NEIGHBOURS = 200
_BLOCK = 2048
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


def vectors(
    items: Sequence[Item], name_boost: float = NAME_BOOST, char_weight: float = CHAR_WEIGHT
) -> sparse.csr_matrix:
    """L2-normalised TF-IDF rows: words of headline and text, boosted names and numbers, and
    character n-grams of the headline (which match "sterilisation" to "sterilization")."""
    return vectors_and_terms(items, name_boost, char_weight)[0]


@dataclass
class _Block:
    """One part of the vectors (words, names or headline n-grams): rows L2-normalised, the
    weight it has in the whole, its columns' names and their IDF over the articles."""

    rows: sparse.csr_matrix
    weight: float
    terms: list[str]
    idf: np.ndarray
    by_story: bool  # re-weighted for headline-only articles after the first pass


def _blocks(items: Sequence[Item], name_boost: float, char_weight: float) -> list[_Block]:
    # Imported here: scikit-learn takes a second to load, and only drafts need it.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    items = [Item(_NOISE.sub(" ", i.title), _NOISE.sub(" ", i.text), i.published) for i in items]
    docs = [f"{it.title} {it.title} {_lead(it.text)} {it.text}" for it in items]
    stop = sorted(ENGLISH_STOP_WORDS | CALENDAR)
    words = TfidfVectorizer(
        sublinear_tf=True, stop_words=stop, token_pattern=_WORD, dtype=np.float32
    )
    out = [_Block(words.fit_transform(docs), 1.0, list(words.get_feature_names_out()),
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
            except ValueError:  # nothing left after stop words
                pass
            else:
                terms = [f"name:{t}" for t in named.get_feature_names_out()]
                out.append(_Block(rows, name_boost, terms, named.idf_, False))
    if char_weight > 0 and any(it.title.strip() for it in items):
        chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32
        )
        rows = chars.fit_transform([_CALENDAR_WORD.sub(" ", it.title) for it in items])
        terms = [f"chars:{t.strip()}" for t in chars.get_feature_names_out()]
        out.append(_Block(rows, char_weight, terms, chars.idf_, True))
    return out


def _combine(blocks: Sequence[_Block]) -> sparse.csr_matrix:
    from scipy import sparse
    from sklearn.preprocessing import normalize

    return normalize(sparse.hstack([b.rows * b.weight for b in blocks], format="csr")).tocsr()


def vectors_and_terms(
    items: Sequence[Item], name_boost: float = NAME_BOOST, char_weight: float = CHAR_WEIGHT
) -> tuple[sparse.csr_matrix, list[str]]:
    """`vectors`, and what each column is: a word, "name:" a name or number, "chars:" a
    character n-gram of the headline (for `explain`)."""
    blocks = _blocks(items, name_boost, char_weight)
    return _combine(blocks), [t for b in blocks for t in b.terms]


def _by_story(blocks: Sequence[_Block], labels: Sequence[int], short: np.ndarray) -> list[_Block]:
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
        out.append(_Block(rows.tocsr(), block.weight, block.terms, idf, True))
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


def _close_pairs(
    matrix: sparse.csr_matrix,
    items: Sequence[Item],
    threshold: float,
    headline_threshold: float,
    time_scale_days: float,
    neighbours: int = NEIGHBOURS,
) -> dict[tuple[int, int], float]:
    """Pairs (i < j) whose similarity, after the time penalty, is at least `threshold`.

    Headlines share far fewer words than articles about one event do, so a pair where either
    side is only a headline is held to `headline_threshold`: its similarity is scaled by
    threshold / headline_threshold, and one threshold then serves the clustering.
    """
    n = matrix.shape[0]
    times = np.array(
        [it.published.timestamp() if it.published else math.nan for it in items], dtype=float
    )
    short = np.array([len(it.text.split()) < SHORT_TEXT_WORDS for it in items], dtype=bool)
    scale = threshold / headline_threshold if headline_threshold > 0 else 1.0
    floor = min(threshold, headline_threshold) if headline_threshold > 0 else threshold
    pairs: dict[tuple[int, int], float] = {}
    transposed = matrix.T.tocsc()
    for start in range(0, n, _BLOCK):
        block = (matrix[start : start + _BLOCK] @ transposed).tocoo()
        rows = block.row + start
        keep = (rows != block.col) & (block.data >= floor)
        rows, cols, sims = rows[keep], block.col[keep], block.data[keep].astype(float)
        sims = np.where(short[rows] | short[cols], sims * scale, sims)
        if time_scale_days > 0:
            gap = np.abs(times[rows] - times[cols]) / 86400.0
            penalty = np.where(np.isnan(gap), 1.0, np.exp(-np.nan_to_num(gap) / time_scale_days))
            sims = sims * np.minimum(1.0, penalty * math.e)  # within a day or so: no penalty
        keep = sims >= threshold
        rows, cols, sims = rows[keep], cols[keep], sims[keep]
        # Each article keeps only its `neighbours` closest: a story is rarely larger, and a
        # generic headline then cannot drag hundreds of pairs into the clustering.
        order = np.lexsort((-sims, rows))
        rows, cols, sims = rows[order], cols[order], sims[order]
        first = np.searchsorted(rows, rows, side="left")
        keep = (np.arange(len(rows)) - first) < neighbours
        for i, j, s in zip(
            rows[keep].tolist(), cols[keep].tolist(), sims[keep].tolist(), strict=True
        ):
            pairs[(i, j) if i < j else (j, i)] = s
    return pairs


def _average_link(n: int, pairs: dict[tuple[int, int], float], threshold: float) -> list[int]:
    """Cluster labels by average-link merging over the sparse similarity graph."""
    size = [1] * n
    links: list[dict[int, float]] = [{} for _ in range(n)]  # cluster → summed similarity
    for (i, j), s in pairs.items():
        links[i][j] = s
        links[j][i] = s
    alive = [True] * n
    heap = [(-s, i, j) for (i, j), s in pairs.items()]
    heapq.heapify(heap)
    parent = list(range(n))
    while heap:
        neg, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        current = links[a].get(b, 0.0) / (size[a] * size[b])
        if abs(current + neg) > 1e-9:
            continue  # stale entry: a fresher one for this pair is in the heap
        if current < threshold:
            break
        if len(links[a]) < len(links[b]):
            a, b = b, a
        # Merge b into a.
        alive[b] = False
        parent[b] = a
        del links[a][b]
        for c, s in links[b].items():
            if c == a:
                continue
            total = links[a].get(c, 0.0) + s
            links[a][c] = total
            links[c][a] = total
            del links[c][b]
        links[b] = {}
        size[a] += size[b]
        for c, total in links[a].items():
            avg = total / (size[a] * size[c])
            if avg >= threshold:
                lo, hi = (a, c) if a < c else (c, a)
                heapq.heappush(heap, (-avg, lo, hi))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    return [root(i) for i in range(n)]


def _attach_loners(
    matrix: sparse.csr_matrix,
    items: Sequence[Item],
    labels: list[int],
    attach_threshold: float,
    time_scale_days: float,
    idf: np.ndarray | None = None,
) -> list[int]:
    """Second pass: an article that joined nobody joins the story whose centroid is closest,
    when that cosine (after the time penalty, measured to the story's nearest member in time)
    reaches `attach_threshold`, both with the pool's word weights and with the weights of the
    story's neighbourhood (`_local_cosine`; given the columns' `idf`). Centroids are those of
    the first pass, so the result does not depend on the order of the articles; cost is one
    sparse product of the lone articles with the stories' centroids, and one of the pool with
    each story that a lone article reaches."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    n = len(labels)
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    stories = [m for m in members.values() if len(m) > 1]
    loners = np.array([m[0] for m in members.values() if len(m) == 1], dtype=np.int64)
    if not stories or not len(loners):
        return labels
    rows = np.concatenate([np.full(len(m), k) for k, m in enumerate(stories)])
    cols = np.concatenate([np.array(m) for m in stories])
    weights = np.concatenate([np.full(len(m), 1.0 / len(m)) for m in stories])
    indicator = sparse.csr_matrix((weights, (rows, cols)), shape=(len(stories), n))
    centroids = normalize(indicator @ matrix).tocsr()
    short = np.array([len(it.text.split()) < SHORT_TEXT_WORDS for it in items], dtype=bool)
    story_short = np.array([bool(short[m].all()) for m in stories], dtype=bool)
    times = np.array(
        [it.published.timestamp() if it.published else math.nan for it in items], dtype=float
    )
    out = list(labels)
    local: dict[int, sparse.dia_matrix] = {}
    transposed = centroids.T.tocsc()
    step = _BLOCK // 4  # centroids share common words: the product is denser than pairs
    for start in range(0, len(loners), step):
        chunk = loners[start : start + step]
        block = (matrix[chunk] @ transposed).tocoo()
        lon, cols = chunk[block.row], block.col
        sims = np.where(short[lon] | story_short[cols], 0.0, block.data)
        keep = sims >= attach_threshold  # the time penalty only lowers similarity
        best: dict[int, tuple[float, int, float]] = {}
        for i, k, s in zip(
            lon[keep].tolist(), cols[keep].tolist(), sims[keep].tolist(), strict=True
        ):
            factor = 1.0
            if time_scale_days > 0 and not math.isnan(times[i]):
                gaps = np.abs(times[stories[k]] - times[i]) / 86400.0
                if not np.all(np.isnan(gaps)):
                    gap = float(np.nanmin(gaps))
                    factor = min(1.0, math.exp(-gap / time_scale_days) * math.e)
            if s * factor >= attach_threshold and s * factor > best.get(i, (0.0, -1, 1.0))[0]:
                best[i] = (s * factor, k, factor)
        for i, (_, k, factor) in best.items():
            if idf is not None:
                if k not in local:
                    local[k] = _local_weights(matrix, idf, centroids[k])
                if _local_cosine(matrix, local[k], stories[k], i) * factor < attach_threshold:
                    continue
            out[i] = labels[stories[k][0]]
    return out


# An article whose cosine to a story's centroid reaches this shares the story's subject: the
# articles that do are the story's neighbourhood, whose own word weights judge a lone article.
NEIGHBOURHOOD = 0.03


def _local_weights(
    matrix: sparse.csr_matrix, idf: np.ndarray, centroid: sparse.csr_matrix
) -> sparse.dia_matrix:
    """Column scaling from the pool's IDF to the IDF of the story's neighbourhood.

    Among 500 articles mostly on other subjects, "OpenAI" is rare and weighs a lot, so any
    OpenAI article looks close to an OpenAI story's centroid; among the articles that share the
    story's subject it is common and weighs little, as it does when the pool is only those. So
    the lone article's second chance does not depend on how many unrelated articles are in the
    pool."""
    from scipy import sparse

    near = np.flatnonzero((matrix @ centroid.T).toarray().ravel() >= NEIGHBOURHOOD)
    df = np.asarray((matrix[near] > 0).sum(axis=0)).ravel()
    weights = np.log((1 + len(near)) / (1 + df)) + 1
    return sparse.diags((weights / idf).astype(np.float32))


def _local_cosine(
    matrix: sparse.csr_matrix, scale: sparse.dia_matrix, members: Sequence[int], article: int
) -> float:
    """Cosine of `article` to the centroid of `members`, with the neighbourhood's weights."""
    from sklearn.preprocessing import normalize

    rows = normalize(matrix[[*members, article]] @ scale)
    centroid = normalize(np.asarray(rows[:-1].mean(axis=0)))
    return float((rows[-1] @ centroid.T)[0, 0])


def group(
    items: Sequence[Item],
    threshold: float = THRESHOLD,
    headline_threshold: float = HEADLINE_THRESHOLD,
    time_scale_days: float = TIME_SCALE_DAYS,
    name_boost: float = NAME_BOOST,
    char_weight: float = CHAR_WEIGHT,
    attach_threshold: float | None = None,
    by_story: bool = True,
) -> list[list[int]]:
    """Indexes of `items` grouped into stories; groups and members in input order.

    `attach_threshold` is the second pass's cosine to a story's centroid; by default the same
    as `threshold` (so the one setting steers both passes), 0 turns the second pass off.
    `by_story` False keeps article counts for headline-only articles too (see `_by_story`).
    """
    if not items:
        return []
    if len(items) == 1:
        return [[0]]
    try:
        blocks = _blocks(items, name_boost, char_weight)
    except ValueError:  # no words at all (empty texts, only stop words)
        return [[i] for i in range(len(items))]
    matrix = _combine(blocks)
    pairs = _close_pairs(matrix, items, threshold, headline_threshold, time_scale_days)
    labels = _average_link(len(items), pairs, threshold)
    short = np.array([len(it.text.split()) < SHORT_TEXT_WORDS for it in items], dtype=bool)
    if by_story and short.any() and len(set(labels)) < len(labels):
        # Headlines again, weighed by how many first-pass stories use each term.
        matrix = _combine(_by_story(blocks, labels, short))
        pairs = _close_pairs(matrix, items, threshold, headline_threshold, time_scale_days)
        labels = _average_link(len(items), pairs, threshold)
    attach = threshold if attach_threshold is None else attach_threshold
    if attach > 0:
        idf = np.concatenate([b.idf for b in blocks])
        labels = _attach_loners(matrix, items, labels, attach, time_scale_days, idf)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return sorted(groups.values(), key=lambda g: g[0])
