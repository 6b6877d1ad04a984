"""Group articles that report the same event into stories: a pure function of texts and times.

Articles become vectors (digest.stories.vectors: words, names and headline n-grams, with
what does not identify an event taken out), and their cosines are what is compared.
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
weighed by how many first-pass stories use them (see `vectors.weigh_by_story`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digest.stories.vectors import (
    CHAR_WEIGHT,
    NAME_BOOST,
    SHORT_TEXT_WORDS,
    Item,
    Joined,
    blocks_of,
    combine,
    explain,
    weigh_by_story,
)

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["Item", "Joined", "explain", "group"]

# Defaults chosen on ../shared/eval/stories (see bench/stories.py for the figures).
THRESHOLD = 0.20
HEADLINE_THRESHOLD = 0.04
TIME_SCALE_DAYS = 3.0
NEIGHBOURS = 200
_BLOCK = 2048


@dataclass(frozen=True)
class _Facts:
    """What both passes ask of every article, worked out once: headline-only, and when."""

    short: np.ndarray  # fewer than SHORT_TEXT_WORDS words of text
    times: np.ndarray  # publication time as a Unix timestamp, NaN when unknown


def _facts(items: Sequence[Item]) -> _Facts:
    return _Facts(
        np.array([len(it.text.split()) < SHORT_TEXT_WORDS for it in items], dtype=bool),
        np.array(
            [it.published.timestamp() if it.published else math.nan for it in items],
            dtype=float,
        ),
    )


def _close_pairs(
    matrix: sparse.csr_matrix,
    facts: _Facts,
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
    times, short = facts.times, facts.short
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
    facts: _Facts,
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
    short, times = facts.short, facts.times
    story_short = np.array([bool(short[m].all()) for m in stories], dtype=bool)
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
    `by_story` False keeps article counts for headline-only articles too (see
    `vectors.weigh_by_story`).
    """
    if not items:
        return []
    if len(items) == 1:
        return [[0]]
    try:
        blocks = blocks_of(items, name_boost, char_weight)
    except ValueError:  # no words at all (empty texts, only stop words)
        return [[i] for i in range(len(items))]
    matrix = combine(blocks)
    facts = _facts(items)
    pairs = _close_pairs(matrix, facts, threshold, headline_threshold, time_scale_days)
    labels = _average_link(len(items), pairs, threshold)
    if by_story and facts.short.any() and len(set(labels)) < len(labels):
        # Headlines again, weighed by how many first-pass stories use each term.
        matrix = combine(weigh_by_story(blocks, labels, facts.short))
        pairs = _close_pairs(matrix, facts, threshold, headline_threshold, time_scale_days)
        labels = _average_link(len(items), pairs, threshold)
    attach = threshold if attach_threshold is None else attach_threshold
    if attach > 0:
        idf = np.concatenate([b.idf for b in blocks])
        labels = _attach_loners(matrix, facts, labels, attach, time_scale_days, idf)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return sorted(groups.values(), key=lambda g: g[0])
