"""Exhaustive scoring: every row that survives tombstones and the filter, for every query.

Range search and grouping search rank all candidates themselves, so they need every
score, not a per-segment top-k. A candidate is identified by (view index, row in view);
candidates are laid out view by view, rows ascending, so ties keep a stable order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...vectors import VectorLayout
from ..storage.segments import SegmentView
from .search import FLOAT32, Candidates, larger_is_closer, make_scorer, score_rows


@dataclass
class ScoredRows:
    """All surviving rows and their scores: ``scores[q, i]`` is candidate ``i`` for query
    ``q``."""

    view_index: np.ndarray
    row: np.ndarray
    scores: np.ndarray

    @property
    def size(self) -> int:
        return len(self.row)


def score_surviving(views: list[SegmentView], masks: list[np.ndarray], field: str,
                    queries: Any, metric: str, layout: VectorLayout = FLOAT32) -> ScoredRows:
    """Score every row selected by ``masks`` against every query."""
    scorer = make_scorer(field, layout, queries, metric)
    view_ids, rows, scores = [], [], []
    for index, (view, mask) in enumerate(zip(views, masks)):
        selected = np.flatnonzero(mask)
        if len(selected):
            view_ids.append(np.full(len(selected), index, np.int64))
            rows.append(selected.astype(np.int64))
            scores.append(score_rows(scorer, view, selected))
    if not rows:
        empty = np.zeros(0, np.int64)
        return ScoredRows(empty, empty, np.zeros((len(queries), 0), np.float32))
    return ScoredRows(np.concatenate(view_ids), np.concatenate(rows),
                      np.concatenate(scores, axis=1).astype(np.float32, copy=False))


def best_first(scores: np.ndarray, metric: str) -> np.ndarray:
    """Positions of ``scores`` from closest to farthest (stable: ties keep their order)."""
    key = -scores if larger_is_closer(metric) else scores
    return np.argsort(key, kind="stable")


def top_positions(scores: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Positions of the ``k`` closest entries of a 1-D ``scores``, closest first."""
    if k >= len(scores):
        return best_first(scores, metric)
    key = -scores if larger_is_closer(metric) else scores
    part = np.argpartition(key, k - 1)[:k]
    return part[np.argsort(key[part], kind="stable")]


def empty_candidates(nq: int) -> Candidates:
    none = [np.zeros(0, np.int64) for _ in range(nq)]
    return Candidates(none, list(none), [np.zeros(0, np.float32) for _ in range(nq)])


def append_hits(out: Candidates, scored: ScoredRows, query: int,
                positions: np.ndarray) -> None:
    """Add the candidates at ``positions`` (in that order) as query ``query``'s hits."""
    out.view_index.append(scored.view_index[positions])
    out.row.append(scored.row[positions])
    out.distance.append(scored.scores[query, positions])
