"""Rows in primary-key order without sorting the collection per request.

Each segment view caches its row positions sorted by primary key (in ``view.cache``;
a view's rows never change, deletes only flip its mask). The first ``count`` surviving
rows with a key greater than ``after`` then cost a binary search plus a scan of about
``count`` positions per segment, so a paged walk over a collection (query_iterator) is
linear in its size. When the mask selects few rows (a selective filter), that walk would
visit most positions; the selected rows' pk positions (each row's rank in pk order, also
memoized) are then sorted instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..storage.segments import SegmentView

_FIRST_BLOCK = 1024
_SPARSE_RATIO = 16  # with no count: positions from ranks when <= 1/16 of the rows are selected


def pk_sorted(view: SegmentView, pk_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(row positions in pk order, the pks in that order) of ``view``, memoized."""
    key = ("redkite.pk_order", pk_name)
    cached = view.cache.get(key)
    if cached is None:
        column = view.column(pk_name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        order = pc.sort_indices(column).to_numpy().astype(np.int64)
        values = column.to_numpy(zero_copy_only=False)
        cached = (order, values[order])
        view.cache[key] = cached
    return cached


def pk_ranks(view: SegmentView, pk_name: str) -> np.ndarray:
    """Per row of ``view``: its position in pk order (the inverse of pk_sorted's order)."""
    key = ("redkite.pk_rank", pk_name)
    cached = view.cache.get(key)
    if cached is None:
        order = pk_sorted(view, pk_name)[0]
        cached = np.empty(len(order), np.int64)
        cached[order] = np.arange(len(order))
        view.cache[key] = cached
    return cached


def first_by_pk(views: list[SegmentView], masks: list[np.ndarray], pk_name: str,
                after: Any, count: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(view index, row) of the first ``count`` rows (all when None) selected by ``masks``
    whose pk is greater than ``after`` (no lower bound when None), in pk order."""
    view_ids, rows, pks = [], [], []
    for index, (view, mask) in enumerate(zip(views, masks)):
        order, sorted_pks = pk_sorted(view, pk_name)
        start = 0 if after is None else int(np.searchsorted(sorted_pks, after, side="right"))
        if _sparse(mask, count, len(order) - start):
            positions = _first_selected_sparse(pk_ranks(view, pk_name), mask, start, count)
        else:
            positions = _first_selected(order, mask, start, count)
        if len(positions):
            view_ids.append(np.full(len(positions), index, np.int64))
            rows.append(order[positions])
            pks.append(sorted_pks[positions])
    if not rows:
        empty = np.zeros(0, np.int64)
        return empty, empty
    merged = np.argsort(np.concatenate(pks), kind="stable")
    if count is not None:
        merged = merged[:count]
    return np.concatenate(view_ids)[merged], np.concatenate(rows)[merged]


def _sparse(mask: np.ndarray, count: int | None, remaining: int) -> bool:
    """True when walking pk order for ``count`` selected rows would visit more than a
    quarter of the ``remaining`` positions (the mask selects few rows)."""
    selected = int(np.count_nonzero(mask))
    if count is None or selected == 0:
        return selected * _SPARSE_RATIO < len(mask)
    return count * len(mask) > selected * (remaining // 4 + 1)


def _first_selected_sparse(ranks: np.ndarray, mask: np.ndarray, start: int,
                           count: int | None) -> np.ndarray:
    """As :func:`_first_selected`, from the selected rows' pk positions (``ranks``)."""
    positions = ranks[mask]
    positions = positions[positions >= start]
    if count is not None and count < len(positions):
        positions = np.partition(positions, count - 1)[:count]
    return np.sort(positions)


def _first_selected(order: np.ndarray, mask: np.ndarray, start: int,
                    count: int | None) -> np.ndarray:
    """Positions ``p >= start`` of ``order`` whose row is selected, the first ``count``."""
    if count is None:
        positions = np.arange(start, len(order))
        return positions[mask[order[start:]]]
    found: list[np.ndarray] = []
    needed, block = count, max(count, _FIRST_BLOCK)
    while needed > 0 and start < len(order):
        positions = np.arange(start, min(start + block, len(order)))
        hits = positions[mask[order[positions]]][:needed]
        found.append(hits)
        needed -= len(hits)
        start += block
        block *= 2
    return np.concatenate(found) if found else np.zeros(0, np.int64)
