"""Sparse vectors as search sees them: CSR rows, and the growing buffer that holds them.

:class:`SparseRows` is the in-memory form of a SPARSE_FLOAT_VECTOR field of one segment
(``SegmentView.vectors[name]``) and of sparse search queries: ``indptr`` (int64, n + 1,
starting at 0), ``indices`` (uint32, sorted within each row) and ``values`` (float32).
Row ``i`` holds ``indices[indptr[i]:indptr[i + 1]]`` with their ``values``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class SparseRows:
    """CSR rows of sparse float vectors."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def empty(cls) -> SparseRows:
        return cls(np.zeros(1, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.float32))

    @classmethod
    def from_arrow(cls, column: pa.Array | pa.ChunkedArray) -> SparseRows:
        """The rows of a ``map<uint32, float32>`` column (zero-copy when one chunk)."""
        if isinstance(column, pa.ChunkedArray):
            if column.num_chunks == 0:
                return cls.empty()
            column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        offsets = np.asarray(column.offsets, dtype=np.int64)
        first, last = int(offsets[0]), int(offsets[-1])  # .keys / .items ignore slicing
        return cls(offsets - first, column.keys[first:last].to_numpy(zero_copy_only=False),
                   column.items[first:last].to_numpy(zero_copy_only=False))

    def row_ids(self) -> np.ndarray:
        """The row of each stored entry (int64, nnz)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))

    def take(self, rows: np.ndarray) -> SparseRows:
        """The rows at ``rows``, in that order."""
        starts, ends = self.indptr[rows], self.indptr[np.asarray(rows) + 1]
        counts = ends - starts
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        gather = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[gather], self.values[gather])


def drop_smallest(rows: SparseRows, ratio: float) -> SparseRows:
    """Each row without its smallest ``ratio`` of entries by magnitude (Milvus's
    ``drop_ratio_search``: the query's weakest terms are ignored)."""
    if ratio <= 0:
        return rows
    keep = np.ones(len(rows.values), dtype=bool)
    for row in range(len(rows.indptr) - 1):
        start, end = int(rows.indptr[row]), int(rows.indptr[row + 1])
        magnitude = np.abs(rows.values[start:end])
        cut = int(ratio * magnitude.size)
        if cut:
            keep[start:end] = magnitude >= np.partition(magnitude, cut)[cut]
    counts = np.bincount(rows.row_ids()[keep], minlength=len(rows))
    indptr = np.zeros_like(rows.indptr)
    indptr[1:] = np.cumsum(counts)
    return SparseRows(indptr, rows.indices[keep], rows.values[keep])


class SparseRowsBuffer:
    """Append-only CSR storage with amortised doubling (a growing segment's sparse field).

    Views returned by :meth:`view` stay valid: appends write past what any view covers, and
    a resize moves data to new arrays, leaving the old ones to the views holding them.
    """

    def __init__(self) -> None:
        self._indptr = np.zeros(1, np.int64)
        self._indices = np.zeros(0, np.uint32)
        self._values = np.zeros(0, np.float32)
        self._rows = 0

    def append(self, rows: SparseRows) -> None:
        start_row, start_nnz = self._rows, int(self._indptr[self._rows])
        end_row, end_nnz = start_row + len(rows), start_nnz + rows.nnz
        if end_row + 1 > len(self._indptr):
            self._indptr = _grown(self._indptr, end_row + 1)
        if end_nnz > len(self._indices):
            self._indices = _grown(self._indices, end_nnz)
            self._values = _grown(self._values, end_nnz)
        self._indptr[start_row + 1:end_row + 1] = rows.indptr[1:] + start_nnz
        self._indices[start_nnz:end_nnz] = rows.indices
        self._values[start_nnz:end_nnz] = rows.values
        self._rows = end_row

    def view(self) -> SparseRows:
        nnz = int(self._indptr[self._rows])
        return SparseRows(self._indptr[: self._rows + 1], self._indices[:nnz],
                          self._values[:nnz])


def _grown(array: np.ndarray, needed: int) -> np.ndarray:
    grown = np.zeros(max(needed, 2 * len(array), 1024), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
