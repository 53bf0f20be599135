"""Sparse float vectors from user input to CSR arrays, and CSR arrays to Arrow.

Accepted forms per vector (pymilvus 3.0.2's): a dict ``{index: value}``, a list of
``(index, value)`` pairs, or a scipy.sparse row (a 1 x n matrix or array); as search data,
also a whole scipy.sparse matrix (one query per row). scipy is never imported unless the
caller passes scipy objects (they are recognised by their module name).

Like pymilvus, indices must be integers (or strings holding one) and values floats (Python
or numpy floats, or strings holding one; ints and bools are refused). Like Milvus, indices
lie in [0, 2^32 - 1), values are finite and non-negative, and an index appears at most once
per vector. An empty vector is valid (it matches nothing). Rows come out with their indices
sorted.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import DataNotMatchException
from .dense import pick, split_by
from .layout import MAX_SPARSE_INDEX, SPARSE_ARROW_TYPE

_INDEX_TYPES = (int, np.integer)
_VALUE_TYPES = (float, np.floating)


def is_scipy_sparse(value: Any) -> bool:
    """Duck-typed: a scipy.sparse matrix or array (scipy itself is not imported)."""
    return type(value).__module__.startswith("scipy.sparse") and hasattr(value, "tocsr")


class _Parser:
    """Collects (row, index, value) entries from groups of same-form vectors."""

    def __init__(self, field_name: str, what: str) -> None:
        self.name = field_name
        self.what = what
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def fail(self, position: Any, message: str) -> DataNotMatchException:
        return DataNotMatchException(f"sparse_float_vector field '{self.name}': {message} "
                                     f"({self.what} {int(position)})")

    def add(self, positions: np.ndarray, counts: np.ndarray, keys: Any, values: Any) -> None:
        """Entries of a group: ``counts[i]`` entries for row ``positions[i]``."""
        rows = np.repeat(positions, counts)
        if not isinstance(keys, np.ndarray):
            keys = self.python_indices(keys, rows)
        if not isinstance(values, np.ndarray):
            values = self.python_weights(values, rows)
        self.parts.append((rows, keys, values))

    def add_dicts(self, group: list, positions: np.ndarray) -> None:
        counts = np.fromiter(map(len, group), np.int64, len(group))
        keys = list(chain.from_iterable(map(dict.keys, group)))
        values = list(chain.from_iterable(map(dict.values, group)))
        self.add(positions, counts, keys, values)

    def add_pairs(self, group: list, positions: np.ndarray) -> None:
        counts = np.fromiter(map(len, group), np.int64, len(group))
        pairs = list(chain.from_iterable(group))
        try:
            sizes = np.fromiter(map(len, pairs), np.int64, len(pairs))
        except TypeError:
            sizes = None
        if sizes is None or (sizes != 2).any():
            bad = next(i for i, p in enumerate(pairs) if not _is_pair(p))
            raise self.fail(np.repeat(positions, counts)[bad], f"expects (index, value) "
                            f"pairs, got {pairs[bad]!r:.60}")
        self.add(positions, counts, list(map(itemgetter(0), pairs)),
                 list(map(itemgetter(1), pairs)))

    def add_scipy_rows(self, group: list, positions: np.ndarray) -> None:
        shapes = list(map(attrgetter("shape"), group))
        bad = next((i for i, shape in enumerate(shapes) if shape[0] != 1), None)
        if bad is not None:
            raise self.fail(positions[bad], f"a scipy.sparse vector must have 1 row, got "
                            f"shape {shapes[bad]}")
        rows = [row.tocsr() for row in group]
        counts = np.fromiter(map(attrgetter("nnz"), rows), np.int64, len(rows))
        keys = np.concatenate([row.indices for row in rows]).astype(np.int64)
        self.add(positions, counts, keys, np.concatenate([row.data for row in rows]))

    def add_scipy_matrix(self, matrix: Any) -> None:
        csr = matrix.tocsr()
        counts = np.diff(np.asarray(csr.indptr, dtype=np.int64))
        self.add(np.arange(csr.shape[0]), counts, np.asarray(csr.indices, np.int64),
                 np.asarray(csr.data))

    def finish(self, num_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            self.parts.append((np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
        rows = np.concatenate([part[0] for part in self.parts])
        keys = np.concatenate([part[1] for part in self.parts])
        values = self.checked_weights(np.concatenate([part[2] for part in self.parts]), rows)
        bad = np.flatnonzero((keys < 0) | (keys >= MAX_SPARSE_INDEX))
        if len(bad):
            raise self.fail(rows[bad[0]], f"index {int(keys[bad[0]])} is out of range: "
                            "indices must be non-negative and less than 2^32-1")
        order = np.lexsort((keys, rows))
        rows, keys, values = rows[order], keys[order], values[order]
        repeated = np.flatnonzero((rows[1:] == rows[:-1]) & (keys[1:] == keys[:-1]))
        if len(repeated):
            raise self.fail(rows[repeated[0]], f"index {int(keys[repeated[0]])} appears more "
                            "than once")
        indptr = np.zeros(num_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
        return indptr, keys.astype(np.uint32), values

    def checked_weights(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            weights = values.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(weights))
        if len(bad):
            raise self.fail(rows[bad[0]], f"value {float(values[bad[0]])!r} is not finite "
                            "(NaN, infinity or beyond float32)")
        bad = np.flatnonzero(weights < 0)
        if len(bad):
            raise self.fail(rows[bad[0]], f"value {float(values[bad[0]])!r} is negative: "
                            "sparse vector values must be non-negative")
        return weights

    def python_indices(self, keys: list, rows: np.ndarray) -> np.ndarray:
        kinds = set(map(type, keys))
        if any(issubclass(k, bool) or not issubclass(k, (*_INDEX_TYPES, str)) for k in kinds):
            bad = next(i for i, k in enumerate(keys) if not _is_index(k))
            raise self.fail(rows[bad], f"index {keys[bad]!r:.40} "
                            f"({type(keys[bad]).__name__}) is not an integer")
        try:
            numbers = list(map(int, keys)) if str in kinds else keys
            return np.fromiter(numbers, np.int64, len(keys))
        except (ValueError, OverflowError):
            bad = next(i for i, k in enumerate(keys) if not _fits_int64(k))
            raise self.fail(rows[bad], f"index {keys[bad]!r:.40} is not an integer in "
                            "[0, 2^32-1)") from None

    def python_weights(self, values: list, rows: np.ndarray) -> np.ndarray:
        kinds = set(map(type, values))
        try:
            if any(not issubclass(k, (*_VALUE_TYPES, str)) for k in kinds):
                raise ValueError
            return np.fromiter(map(float, values), np.float64, len(values))
        except ValueError:
            bad = next(i for i, v in enumerate(values) if not _is_weight(v))
            raise self.fail(rows[bad], f"value {values[bad]!r:.40} "
                            f"({type(values[bad]).__name__}) is not a float") from None


def _is_pair(value: Any) -> bool:
    return hasattr(value, "__len__") and len(value) == 2


def _is_index(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, _INDEX_TYPES):
        return True
    return isinstance(value, str) and _parses(value, int)


def _is_weight(value: Any) -> bool:
    if isinstance(value, _VALUE_TYPES):
        return True
    return isinstance(value, str) and _parses(value, float)


def _parses(text: str, kind: type) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _fits_int64(value: Any) -> bool:
    try:
        return -(2**63) <= int(value) < 2**63
    except ValueError:
        return False


def sparse_csr(values: Any, field_name: str,
               what: str = "row") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse sparse vectors into a CSR triple ``(indptr int64, indices uint32, values
    float32)`` with indices sorted within each row."""
    parser = _Parser(field_name, what)
    if is_scipy_sparse(values):
        parser.add_scipy_matrix(values)
        return parser.finish(values.shape[0])
    values = list(values)
    for kind, positions in split_by(list(map(type, values))):
        group = values if len(positions) == len(values) else pick(values, positions)
        if issubclass(kind, dict):
            parser.add_dicts(group, positions)
        elif issubclass(kind, list):
            parser.add_pairs(group, positions)
        elif is_scipy_sparse(group[0]):
            parser.add_scipy_rows(group, positions)
        else:
            raise parser.fail(positions[0], f"expects a dict {{index: value}}, a list of "
                              f"(index, value) pairs or a scipy.sparse row, got a "
                              f"{kind.__name__}")
    return parser.finish(len(values))


def csr_from_entries(counts: np.ndarray, indices: np.ndarray, values: np.ndarray,
                     field_name: str, what: str = "row") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A checked CSR triple from flat entries: ``counts[i]`` (index, value) entries per row,
    in any order within a row (sorted here; duplicates, negative or non-finite values and
    out-of-range indices raise, as for every other input form)."""
    parser = _Parser(field_name, what)
    parser.add(np.arange(len(counts)), np.asarray(counts, np.int64),
               np.asarray(indices, np.int64), np.asarray(values))
    return parser.finish(len(counts))


def csr_to_arrow(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> pa.Array:
    """A ``map<uint32, float32>`` column from a CSR triple."""
    if len(indices) >= 2**31:
        raise DataNotMatchException(f"a batch holds {len(indices)} sparse entries, more "
                                    "than 2^31-1: insert it in smaller batches")
    return pa.MapArray.from_arrays(pa.array(indptr.astype(np.int32)),
                                   pa.array(indices, pa.uint32()),
                                   pa.array(values, pa.float32()), type=SPARSE_ARROW_TYPE)
