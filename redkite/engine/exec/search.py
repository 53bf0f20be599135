"""Exact (FLAT) vector search over segment views.

Per segment: the rows that survive tombstones and the filter are scored with one matrix
product (only the surviving rows are gathered when the filter is selective), the best
``k`` per query are kept with ``argpartition``, and the per-segment candidates are merged
the same way. Distances follow Milvus: L2 is the squared Euclidean distance (smaller is
closer); IP and COSINE are similarities (larger is closer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..storage.segments import SegmentView

GATHER_BELOW = 0.5


@dataclass
class Candidates:
    """Per query: which view, which row in it, and the distance, best first."""

    view_index: list[np.ndarray]
    row: list[np.ndarray]
    distance: list[np.ndarray]


def larger_is_closer(metric: str) -> bool:
    return metric != "L2"


def search_views(views: list[SegmentView], masks: list[np.ndarray], field: str,
                 queries: np.ndarray, metric: str, k: int) -> Candidates:
    """Top ``k`` rows over all views for each query row of ``queries``."""
    nq = len(queries)
    query_norms = np.linalg.norm(queries, axis=1).astype(np.float32)
    per_view = []
    for index, (view, mask) in enumerate(zip(views, masks)):
        found = _search_one(view, mask, field, queries, query_norms, metric, k)
        if found is not None:
            per_view.append((index, *found))
    return _merge(per_view, nq, k, metric)


def _search_one(view: SegmentView, mask: np.ndarray, field: str, queries: np.ndarray,
                query_norms: np.ndarray, metric: str, k: int):
    alive = int(np.count_nonzero(mask))
    if alive == 0:
        return None
    vectors = view.vectors[field]
    if alive < GATHER_BELOW * len(mask):
        rows = np.flatnonzero(mask)
        scores = _scores(queries, query_norms, vectors[rows], view.norms(field)[rows], metric)
    else:
        rows = None
        scores = _scores(queries, query_norms, vectors, view.norms(field), metric)
        worst = -np.inf if larger_is_closer(metric) else np.inf
        if alive != len(mask):
            scores[:, ~mask] = worst
    top = _top_k(scores, min(k, alive), metric)
    top_scores = np.take_along_axis(scores, top, axis=1)
    top_rows = top if rows is None else rows[top]
    return top_rows, top_scores


def _scores(queries: np.ndarray, query_norms: np.ndarray, vectors: np.ndarray,
            norms: np.ndarray, metric: str) -> np.ndarray:
    dots = queries @ vectors.T
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


def score_rows(view: SegmentView, field: str, queries: np.ndarray, metric: str,
               rows: np.ndarray) -> np.ndarray:
    """Scores (``len(queries)`` x ``len(rows)``) of rows ``rows`` of ``view``, every one
    computed (no top-k): the exhaustive paths (range, grouping) rank them themselves."""
    query_norms = np.linalg.norm(queries, axis=1).astype(np.float32)
    return _scores(queries, query_norms, view.vectors[field][rows], view.norms(field)[rows],
                   metric)
