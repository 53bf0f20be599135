"""Full-text (BM25) search: query texts, collection statistics and exact scoring.

A search on a BM25 function's output field takes raw text. Each text is analyzed with
the function's input field analyzer into term counts (a :class:`Bm25Request`). Once the
segments to search are known, the request is bound to their statistics
(:func:`bind_queries`): ``N`` (live rows), the total token count and each query term's
document frequency, summed over the searched segments, so scores do not depend on how
the rows are segmented. Each query term's weight becomes ``qtf * idf`` (as the query
vector Milvus's IDF oracle sends to its index) and ``drop_ratio_search`` drops the
smallest weights. Scores are ``sum_t weight(t) * tf*(k1+1) / (tf + k1*(1 - b + b*dl/avgdl))``
with ``k1`` / ``b`` from the index parameters: never negative, larger is better, and only
rows holding a query term are hits.

Per segment, the statistics are cached: over all rows of a prefix in the segment's
``prefix_cache`` (a growing segment extends them as rows arrive), and for the live rows
in the view's ``cache``, keyed by the delete mask they were computed with (deleted rows
are subtracted, so deletes count at once). A search only sums the query terms' counts.

Sealed segments with an index are searched through it with a
:class:`~redkite.engine.index.base.Bm25Context`; the others (growing ones included) are
scored exactly by :class:`Bm25Scorer`, with the same formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParamError
from ..index.base import Bm25Context
from ..index.registry import BM25_B, BM25_K1
from ..storage.segments import SegmentView
from ..storage.sparse_rows import SparseRows, drop_smallest
from ..text.bm25 import Bm25Stats, row_lengths
from ..text.functions import Bm25Function, is_text_query

_PREFIX_KEY = "bm25_prefix_stats"
_LIVE_KEY = "bm25_live_stats"
_LENGTHS_KEY = "bm25_doc_lengths"


@dataclass(frozen=True)
class Bm25Request:
    """Analyzed query texts for the BM25 field ``field``, not yet weighted."""

    field: str
    term_counts: SparseRows
    k1: float
    b: float
    drop_ratio: float = 0.0

    def __len__(self) -> int:
        return len(self.term_counts)


@dataclass(frozen=True)
class Bm25Queries:
    """Queries bound to collection statistics: ``rows`` holds each query's term ids with
    ``qtf * idf`` weights; ``context`` the avgdl, k1 and b (its IDF is already in the
    weights, so it maps every term to 1)."""

    rows: SparseRows
    context: Bm25Context

    def __len__(self) -> int:
        return len(self.rows)


def text_request(function: Bm25Function, data: Any, index_params: dict,
                 drop_ratio: float) -> Bm25Request:
    """Analyze the query texts of a search on ``function``'s output field."""
    where = f"field {function.output_field!r} is the output of BM25 function {function.name!r}"
    if isinstance(data, str) or not isinstance(data, (list, tuple)) or not data:
        raise ParamError(f"{where}: search data must be a non-empty list of query texts, "
                         f"got {type(data).__name__}")
    bad = next((item for item in data if not isinstance(item, str)), None)
    if bad is not None:
        raise ParamError(f"{where}: search it with query texts (a list of strings), not "
                         f"vectors; got {type(bad).__name__} {bad!r:.60}")
    counts = SparseRows(*function.term_frequencies(list(data)))
    return Bm25Request(function.output_field, counts,
                       float(index_params.get("bm25_k1", BM25_K1.default)),
                       float(index_params.get("bm25_b", BM25_B.default)), float(drop_ratio))


def reject_text(field, data: Any) -> None:
    """Raw text searches only BM25 function output fields."""
    if is_text_query(data):
        raise ParamError(f"field {field.name!r} is a {field.dtype.name} field, not the output "
                         "of a BM25 function: raw text queries only apply to a BM25 "
                         "function's output field; pass vectors")


def bind_queries(queries: Any, views: list[SegmentView]) -> Any:
    """``queries`` ready to score on ``views``: a :class:`Bm25Request` becomes
    :class:`Bm25Queries` weighted with the views' statistics; other queries pass."""
    if not isinstance(queries, Bm25Request):
        return queries
    counts = queries.term_counts
    stats = query_term_stats([live_stats(view, queries.field) for view in views],
                             counts.indices)
    weights = (counts.values.astype(np.float64) * stats.idf(counts.indices)).astype(np.float32)
    rows = drop_smallest(SparseRows(counts.indptr, counts.indices, weights), queries.drop_ratio)
    context = Bm25Context(avgdl=stats.avgdl, idf=_weights_hold_idf, k1=queries.k1,
                          b=queries.b)
    return Bm25Queries(rows, context)


def _weights_hold_idf(terms: np.ndarray) -> np.ndarray:
    return np.ones(len(terms), np.float32)


def query_term_stats(per_segment: list[Bm25Stats], terms: np.ndarray) -> Bm25Stats:
    """Collection statistics restricted to ``terms``: document count and total length of
    every segment, and each term's document frequency summed over them."""
    terms = np.unique(np.asarray(terms, np.uint32))
    doc_freq = np.zeros(len(terms), np.int64)
    for stats in per_segment:
        doc_freq += stats.document_frequency(terms)
    return Bm25Stats(sum(s.num_docs for s in per_segment),
                     float(sum(s.total_length for s in per_segment)), terms, doc_freq)


def live_stats(view: SegmentView, field: str) -> Bm25Stats:
    """BM25 statistics of the view's live rows (cached per delete mask)."""
    entry = view.cache.get((_LIVE_KEY, field))
    if entry is not None and entry[0] is view.deleted and entry[1] == view.num_rows:
        return entry[2]
    stored = view.vectors[field]
    stats = _prefix_stats(view, field)
    dead = np.flatnonzero(~view.alive())
    if len(dead):
        gone = stored.take(dead)
        stats = stats.without(Bm25Stats.from_csr((gone.indptr, gone.indices, gone.values)))
    view.cache[(_LIVE_KEY, field)] = (view.deleted, view.num_rows, stats)
    return stats


def _prefix_stats(view: SegmentView, field: str) -> Bm25Stats:
    """Statistics of every row of the view, deleted or not, extended from the cached
    prefix of the segment when it has grown."""
    rows = view.num_rows
    stored = view.vectors[field]
    entry = view.prefix_cache.get((_PREFIX_KEY, field))
    if entry is not None and entry[0] == rows:
        return entry[1]
    start = entry[0] if entry is not None and entry[0] < rows else 0
    first, last = int(stored.indptr[start]), int(stored.indptr[rows])
    stats = Bm25Stats.from_csr((stored.indptr[start:rows + 1] - first,
                                stored.indices[first:last], stored.values[first:last]))
    if start:
        stats = entry[1].merge(stats)
    if entry is None or entry[0] < rows:
        view.prefix_cache[(_PREFIX_KEY, field)] = (rows, stats)
    return stats


def doc_lengths(view: SegmentView, field: str) -> np.ndarray:
    """Token count of every row of the view (float64), cached over the segment's rows
    and extended as a growing segment gains rows."""
    rows = view.num_rows
    stored = view.vectors[field]
    entry = view.prefix_cache.get((_LENGTHS_KEY, field))
    if entry is not None and len(entry) >= rows:
        return entry[:rows]
    start = 0 if entry is None else len(entry)
    first, last = int(stored.indptr[start]), int(stored.indptr[rows])
    tail = row_lengths(stored.indptr[start:rows + 1] - first, stored.values[first:last])
    lengths = tail if entry is None else np.concatenate([entry, tail])
    view.prefix_cache[(_LENGTHS_KEY, field)] = lengths
    return lengths


class Bm25Scorer:
    """Exact BM25 of bound queries against a view's rows (``-inf`` where a row holds no
    query term), the scorer :func:`.search.make_scorer` returns for BM25 queries.

    Only the stored entries of query terms are visited after one ``np.isin`` pass over
    the segment's term ids; document lengths come from the segment's cache."""

    def __init__(self, field: str, queries: Bm25Queries) -> None:
        self.field, self.queries = field, queries
        self.terms = np.unique(queries.rows.indices)

    def __call__(self, view: SegmentView, rows: np.ndarray | None) -> np.ndarray:
        stored = view.vectors[self.field]
        if rows is None:
            lengths = doc_lengths(view, self.field)
        else:
            stored = stored.take(rows)
            lengths = row_lengths(stored.indptr, stored.values)
        n, queries = len(stored), self.queries.rows
        out = np.full((len(queries), n), -np.inf, dtype=np.float32)
        if n == 0 or not len(self.terms):
            return out
        entries = np.flatnonzero(np.isin(stored.indices, self.terms))
        entry_rows = np.searchsorted(stored.indptr, entries, side="right") - 1
        entry_terms = stored.indices[entries]
        scaled = self.queries.context.scale(stored.values[entries], lengths[entry_rows])
        for q in range(len(queries)):
            start, end = queries.indptr[q], queries.indptr[q + 1]
            if start == end:
                continue
            terms, weights = queries.indices[start:end], queries.values[start:end]
            slot = np.minimum(np.searchsorted(terms, entry_terms), len(terms) - 1)
            hit = terms[slot] == entry_terms
            hit_rows = entry_rows[hit]
            contributions = scaled[hit].astype(np.float64) * weights[slot[hit]]
            sums = np.bincount(hit_rows, weights=contributions, minlength=n)
            matched = np.bincount(hit_rows, minlength=n) > 0
            out[q, matched] = sums[matched]
        return out
