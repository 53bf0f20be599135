"""Measure an index: recall@k and latency of indexed search against exact search.

:meth:`RecallMixin.evaluate_recall` samples stored vectors of the collection as queries,
searches each one through the indexes (with the given search parameters, as a user's
search would) and exactly (every surviving row scored), and reports how many of the exact
top ``k`` the indexed search found, with both latencies — the numbers to tune ``ef`` /
``nprobe`` with. Sampled vectors are their own nearest neighbours, which an index always
finds; recall over fresh queries from the same distribution is usually a little lower.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ..errors import ParamError
from ..vectors import layout_of
from .exec.search import search_views
from .index import normalize_search_params
from .reads import _anns_field, _check_window, _search_metric

MAX_SAMPLE = 10_000


class RecallMixin:
    """Mixed into :class:`~redkite.engine.database.Database`."""

    def evaluate_recall(self, db_name: str | None, collection_name: str,
                        anns_field: str | None = None, sample_size: int = 100,
                        limit: int = 10, params: dict | None = None,
                        metric_type: str | None = None, filter: str = "",
                        filter_params: dict | None = None,
                        partition_names: Sequence[str] | None = None,
                        seed: int = 0) -> dict:
        collection = self._get(db_name, collection_name)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        field = _anns_field(meta, anns_field)
        if getattr(field, "is_function_output", False):
            raise ParamError(f"field {field.name!r} is computed by a function (BM25): "
                             "evaluate it with text queries through search()")
        _check_sample_size(sample_size)
        limit, _ = _check_window(limit, 0, "evaluate_recall")
        limit = 10 if limit is None else limit
        index = meta.index_for_field(field.name)
        metric = _search_metric(index.metric_type, metric_type)
        search_params = normalize_search_params(index.index_type, metric, params, limit=limit)
        layout = layout_of(field)
        views = collection.store.snapshot(self._partition_ids(collection, partition_names))
        masks = self._filter_masks(collection, views, filter, filter_params)
        queries = _sample(views, masks, field.name, sample_size, seed)
        if queries is None:
            raise ParamError(f"collection {meta.name!r} has no rows to sample (after the "
                             "filter)")
        found, exact, index_ms, exact_ms = [], [], [], []
        for query in queries:
            started = time.perf_counter()
            got = search_views(views, masks, field.name, query, metric, limit, layout,
                               search_params)
            index_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            truth = search_views(views, masks, field.name, query, metric, limit, layout,
                                 use_indexes=False)
            exact_ms.append((time.perf_counter() - started) * 1000)
            found.append(_pairs(got))
            exact.append(_pairs(truth))
        recalls = [len(f & e) / len(e) for f, e in zip(found, exact) if e]
        return {
            "recall": float(np.mean(recalls)) if recalls else 1.0, "k": limit,
            "queries": len(queries), "index_type": index.index_type, "metric_type": metric,
            "search_params": {k: v for k, v in search_params.items()},
            "indexed_segments": sum(1 for v in views if field.name in v.indexes),
            "segments": len(views),
            "latency_ms": {"index": _summary(index_ms), "exact": _summary(exact_ms)},
        }


def _check_sample_size(sample_size: Any) -> None:
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or not (
            1 <= sample_size <= MAX_SAMPLE):
        raise ParamError(f"sample_size must be an int in [1, {MAX_SAMPLE}], got "
                         f"{sample_size!r}")


def _sample(views, masks, field: str, size: int, seed: int) -> list | None:
    """Up to ``size`` stored vectors of surviving rows, each as a one-row query."""
    counts = np.array([int(np.count_nonzero(m)) for m in masks], dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return None
    picks = np.sort(np.random.default_rng(seed).choice(total, min(size, total),
                                                       replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    queries = []
    for position, (view, mask) in enumerate(zip(views, masks)):
        mine = picks[(picks >= starts[position]) & (picks < starts[position + 1])]
        rows = np.flatnonzero(mask)[mine - starts[position]]
        stored = view.vectors[field]
        queries.extend(_one_row(stored, int(row)) for row in rows)
    return queries


def _one_row(stored, row: int):
    """Row ``row`` of a stored matrix (or SparseRows) as a one-query batch."""
    if isinstance(stored, np.ndarray):
        return stored[row:row + 1]
    return stored.take(np.array([row]))


def _pairs(found) -> set:
    return set(zip(found.view_index[0].tolist(), found.row[0].tolist()))


def _summary(samples: list[float]) -> dict:
    values = np.asarray(samples)
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "mean": float(values.mean())}
