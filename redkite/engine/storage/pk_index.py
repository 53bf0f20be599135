"""Primary-key lookups that keep each primary key on at most one live row.

A collection's rows obey one invariant: a primary key has at most one live (not deleted)
row. Inserting or upserting an existing key first tombstones its current row, and a batch
that repeats a key keeps only its last occurrence — the last write wins, as in Milvus Lite.
Finding the current row must not scan every segment, so each segment gets a lookup:

* :class:`SortedPkLookup` for a sealed (immutable) segment: the keys sorted once, probed with
  ``searchsorted`` — O(batch · log rows) per probe, built lazily on the first probe;
* :class:`GrowingPkLookup` for a growing segment: a dict from key to its latest position,
  extended at C speed on every append.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def key_values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Primary keys as numpy: int64, or an object array of str."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array(
            [], column.type)
    if pa.types.is_integer(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return np.asarray(column.to_pylist(), dtype=object)


def keep_last_per_key(batch: pa.RecordBatch, pk_name: str) -> pa.RecordBatch:
    """``batch`` without the earlier rows of any key it repeats (the last one wins)."""
    column = batch.column(pk_name)
    if len(column) < 2 or len(pc.unique(column)) == len(column):
        return batch
    keys = key_values(column)
    if keys.dtype == object:
        last = {key: position for position, key in enumerate(keys.tolist())}
        keep = np.fromiter(last.values(), dtype=np.int64, count=len(last))
        keep.sort()
    else:
        _, first_from_end = np.unique(keys[::-1], return_index=True)
        keep = np.sort(len(keys) - 1 - first_from_end)
    return batch.take(pa.array(keep))


class SortedPkLookup:
    """Every row position of each key in an immutable segment."""

    def __init__(self, column: pa.Array | pa.ChunkedArray) -> None:
        values = key_values(column)
        self._order = np.argsort(values, kind="stable")
        self._sorted = values[self._order]

    def positions(self, keys: np.ndarray) -> np.ndarray:
        if len(self._sorted) == 0 or len(keys) == 0:
            return np.zeros(0, np.int64)
        left = np.searchsorted(self._sorted, keys, side="left")
        right = np.searchsorted(self._sorted, keys, side="right")
        counts = right - left
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        run_starts = np.repeat(left - (np.cumsum(counts) - counts), counts)
        return self._order[run_starts + np.arange(total)]


class GrowingPkLookup:
    """The latest position of each key in a growing segment.

    Only the latest position is kept: by the invariant above, earlier rows of the same key
    are already tombstoned.
    """

    def __init__(self) -> None:
        self._latest: dict = {}

    def add(self, keys: np.ndarray, first_position: int) -> None:
        self._latest.update(zip(keys.tolist(), range(first_position,
                                                     first_position + len(keys))))

    def positions(self, keys: np.ndarray) -> np.ndarray:
        present = self._latest.keys() & set(keys.tolist())
        if not present:
            return np.zeros(0, np.int64)
        latest = self._latest
        return np.fromiter((latest[key] for key in present), dtype=np.int64,
                           count=len(present))
