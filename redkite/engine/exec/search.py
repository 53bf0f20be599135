"""Exact vector search over segment views (FLAT, BIN_FLAT, sparse IP).

Per segment: the rows that survive tombstones and the filter are scored (only the
surviving rows are gathered when the filter is selective), the best ``k`` per query are
kept with ``argpartition``, and the per-segment candidates are merged the same way.
Scoring depends on the field's type:

* FLOAT_VECTOR: one matrix product; FLOAT16, BFLOAT16 and INT8 vectors are converted to
  float32 a block of rows at a time and go through the same product;
* BINARY_VECTOR: HAMMING or JACCARD on packed bits (:mod:`.binary`);
* SPARSE_FLOAT_VECTOR: inner product over CSR rows (:mod:`.sparse_ip`), or BM25 for
  text queries on a BM25 function's output field (:mod:`.bm25`).

Distances follow Milvus: L2 is the squared Euclidean distance, HAMMING and JACCARD are
distances (smaller is closer); IP and COSINE are similarities (larger is closer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...types import DataType
from ...vectors import VectorLayout, to_float32
from ...vectors.norms import BLOCK_ROWS, row_norms
from ..index.base import inner_products
from ..storage.index_builder import index_input
from ..storage.segments import SegmentView
from ..storage.sparse_rows import SparseRows
from .binary import binary_distances
from .bm25 import Bm25Queries, Bm25Scorer
from .sparse_ip import sparse_ip_scores

GATHER_BELOW = 0.5
LARGER_IS_CLOSER = frozenset({"IP", "COSINE", "BM25"})
FLOAT32 = VectorLayout(DataType.FLOAT_VECTOR, 0)


@dataclass
class Candidates:
    """Per query: which view, which row in it, and the distance, best first."""

    view_index: list[np.ndarray]
    row: list[np.ndarray]
    distance: list[np.ndarray]


def larger_is_closer(metric: str) -> bool:
    return metric in LARGER_IS_CLOSER


def search_views(views: list[SegmentView], masks: list[np.ndarray], field: str,
                 queries: np.ndarray | SparseRows, metric: str, k: int,
                 layout: VectorLayout = FLOAT32, params: dict | None = None,
                 use_indexes: bool = True) -> Candidates:
    """Top ``k`` rows over all views for each query of ``queries`` (in the field's stored
    representation: a matrix of its dtype, or :class:`SparseRows`).

    A sealed view with an index on ``field`` is searched through it (with the search
    ``params``; the index itself scores the allowed rows exactly when a filter leaves few);
    the others are scored exactly (all of them when ``use_indexes`` is false). BM25 queries
    (:class:`~.bm25.Bm25Queries`) reach an index with their
    :class:`~redkite.engine.index.base.Bm25Context`."""
    scorer = index_queries = None
    bm25 = queries.context if isinstance(queries, Bm25Queries) else None
    per_view = []
    for position, (view, mask) in enumerate(zip(views, masks)):
        segment_index = view.indexes.get(field) if use_indexes else None
        if segment_index is not None:
            if index_queries is None:
                index_queries, _ = index_input(layout.dtype,
                                               queries.rows if bm25 is not None else queries)
            found = _search_indexed(segment_index.index, mask, index_queries, params or {}, k,
                                    bm25)
        else:
            scorer = scorer or make_scorer(field, layout, queries, metric)
            found = _search_one(view, mask, scorer, metric, k)
        if found is not None:
            per_view.append((position, *found))
    return _merge(per_view, len(queries), k, metric)


def _search_indexed(index, mask: np.ndarray, queries: Any, params: dict, k: int, bm25=None):
    alive = int(np.count_nonzero(mask))
    if alive == 0:
        return None
    allowed = None if alive == len(mask) else mask
    extra = {} if bm25 is None else {"bm25": bm25}
    distances, labels = index.search(queries, min(k, alive), params, allowed, **extra)
    return labels, distances  # padding: label -1 with an infinite distance, dropped in _merge


def make_scorer(field: str, layout: VectorLayout, queries: Any, metric: str):
    """A callable ``(view, rows or None) -> (nq, len(rows)) scores`` for the field."""
    if isinstance(queries, Bm25Queries):
        return Bm25Scorer(field, queries)
    if layout.is_sparse:
        return _SparseScorer(field, queries)
    if layout.is_binary:
        return _BinaryScorer(field, layout, queries, metric)
    return _DenseScorer(field, layout, queries, metric)


class _DenseScorer:
    def __init__(self, field: str, layout: VectorLayout, queries: np.ndarray,
                 metric: str) -> None:
        self.field, self.layout, self.metric = field, layout, metric
        self.queries = np.ascontiguousarray(to_float32(queries, layout))
        self.norms = np.linalg.norm(self.queries, axis=1).astype(np.float32)

    def __call__(self, view: SegmentView, rows: np.ndarray | None) -> np.ndarray:
        vectors, norms = view.vectors[self.field], view.norms(self.field)
        if rows is not None:
            vectors, norms = vectors[rows], norms[rows]
        if self.layout.is_float32:
            return _scores(self.queries, self.norms, vectors, norms, self.metric)
        out = np.empty((len(self.queries), len(vectors)), dtype=np.float32)
        for start in range(0, len(vectors), BLOCK_ROWS):
            stop = start + BLOCK_ROWS
            out[:, start:stop] = _scores(self.queries, self.norms,
                                         to_float32(vectors[start:stop], self.layout),
                                         norms[start:stop], self.metric)
        return out


class _BinaryScorer:
    def __init__(self, field: str, layout: VectorLayout, queries: np.ndarray,
                 metric: str) -> None:
        self.field, self.metric = field, metric
        self.queries = queries
        self.bits = row_norms(queries, layout)

    def __call__(self, view: SegmentView, rows: np.ndarray | None) -> np.ndarray:
        vectors, bits = view.vectors[self.field], view.norms(self.field)
        if rows is not None:
            vectors, bits = vectors[rows], bits[rows]
        return binary_distances(self.queries, self.bits, vectors, bits, self.metric)


class _SparseScorer:
    def __init__(self, field: str, queries: SparseRows) -> None:
        self.field, self.queries = field, queries

    def __call__(self, view: SegmentView, rows: np.ndarray | None) -> np.ndarray:
        stored = view.vectors[self.field]
        return sparse_ip_scores(self.queries, stored if rows is None else stored.take(rows))


def _search_one(view: SegmentView, mask: np.ndarray, scorer, metric: str, k: int):
    alive = int(np.count_nonzero(mask))
    if alive == 0:
        return None
    if alive < GATHER_BELOW * len(mask):
        rows = np.flatnonzero(mask)
        scores = scorer(view, rows)
    else:
        rows = None
        scores = scorer(view, None)
        worst = -np.inf if larger_is_closer(metric) else np.inf
        if alive != len(mask):
            scores[:, ~mask] = worst
    top = _top_k(scores, min(k, alive), metric)
    top_scores = np.take_along_axis(scores, top, axis=1)
    top_rows = top if rows is None else rows[top]
    return top_rows, top_scores


def _scores(queries: np.ndarray, query_norms: np.ndarray, vectors: np.ndarray,
            norms: np.ndarray, metric: str) -> np.ndarray:
    dots = inner_products(queries, vectors)
    if metric == "IP":
        return dots
    if metric == "COSINE":
        denominator = np.outer(query_norms, norms)
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = np.where(denominator > 0, dots / denominator, 0.0)
        return cosine.astype(np.float32, copy=False)
    squared = (query_norms ** 2)[:, None] + (norms ** 2)[None, :] - 2.0 * dots
    return np.maximum(squared, 0.0, out=squared)


def _top_k(scores: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Column indices of the best ``k`` per row, best first."""
    keyed = -scores if larger_is_closer(metric) else scores
    if k < keyed.shape[1]:
        part = np.argpartition(keyed, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(keyed.shape[1]), keyed.shape).copy()
    order = np.argsort(np.take_along_axis(keyed, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _merge(per_view: list, nq: int, k: int, metric: str) -> Candidates:
    if not per_view:
        empty = [np.zeros(0, np.int64) for _ in range(nq)]
        return Candidates(empty, list(empty), [np.zeros(0, np.float32) for _ in range(nq)])
    if len(per_view) == 1:  # one segment's hits are already best first
        return _only_view(*per_view[0], nq)
    view_ids = np.concatenate([np.full(rows.shape, index, np.int64)
                               for index, rows, _ in per_view], axis=1)
    rows = np.concatenate([rows for _, rows, _ in per_view], axis=1)
    scores = np.concatenate([s for _, _, s in per_view], axis=1)
    valid = np.isfinite(scores)
    best = _top_k(np.where(valid, scores, -np.inf if larger_is_closer(metric) else np.inf),
                  min(k, scores.shape[1]), metric)
    picked_scores = np.take_along_axis(scores, best, axis=1)
    picked_valid = np.take_along_axis(valid, best, axis=1)
    out = Candidates([], [], [])
    for q in range(nq):
        keep = picked_valid[q]
        out.view_index.append(view_ids[q, best[q]][keep])
        out.row.append(rows[q, best[q]][keep])
        out.distance.append(picked_scores[q][keep].astype(np.float32))
    return out


def _only_view(position: int, rows: np.ndarray, scores: np.ndarray, nq: int) -> Candidates:
    valid = np.isfinite(scores)
    out = Candidates([], [], [])
    for q in range(nq):
        keep = valid[q]
        kept_rows = rows[q][keep].astype(np.int64, copy=False)
        out.view_index.append(np.full(len(kept_rows), position, np.int64))
        out.row.append(kept_rows)
        out.distance.append(scores[q][keep].astype(np.float32, copy=False))
    return out


def score_rows(scorer, view: SegmentView, rows: np.ndarray) -> np.ndarray:
    """Scores (queries x ``len(rows)``) of rows ``rows`` of ``view``, every one computed
    (no top-k): the exhaustive paths (range, grouping) rank them themselves. ``scorer``
    comes from :func:`make_scorer`."""
    return scorer(view, rows)
