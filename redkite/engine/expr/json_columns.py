"""JSON columns: decode once, extract paths once, then hand typed arrays to the operators.

A JSON column (or the dynamic field ``$meta``) is stored as JSON text per row.
Decoding needs one ``json.loads`` per row; it is done once per column source and
memoized in ``source.cache``, as is every path extracted from it (``meta["a"]["b"]``)
and its split into typed arrays (:func:`build_operand`). Sealed segments are
immutable, so later filters on the same source reuse these and run vectorized.

JSON ``null`` is treated like a missing key: it is not a value (``is null`` is true,
``exists`` is false, comparisons are unknown). Integers beyond int64 are kept as
floats. An integer index selects a list element, a string key an object member;
anything else (index into an object, key into a list, out of range) is missing.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .operands import BOOL, FLOAT, INT, OTHER, STR, Operand, Part

try:  # a pymilvus dependency, several times faster than json; optional
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover
    _fast_loads = json.loads

MISSING = -1
_KIND_BY_TYPE = {bool: BOOL, int: INT, float: FLOAT, str: STR, list: OTHER, dict: OTHER,
                 type(None): MISSING}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
CACHE_PREFIX = "redkite.engine.expr"


@dataclass(slots=True)
class FlatLists:
    """Every list of a column laid end to end, for array_contains and array_length.

    ``elements`` holds the list elements (one operand row per element) and ``parent``
    the row each element belongs to. ``is_list`` marks rows holding a list and
    ``known`` rows holding any value (a non-list value contains nothing).
    """
    parent: np.ndarray
    elements: Operand
    lengths: np.ndarray
    is_list: np.ndarray | None
    known: np.ndarray | None


@contextlib.contextmanager
def gc_paused():
    """Building millions of containers triggers the cyclic GC over and over (5x slower)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode_one(text):
    if text is None:
        return None
    try:
        return _fast_loads(text)
    except (ValueError, TypeError, RecursionError):
        pass
    try:  # json also reads integers beyond 64 bits, NaN and Infinity
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):  # unreadable rows hold no value
        return None


def decode_column(array: pa.Array | pa.ChunkedArray) -> list:
    """Python values of a column of JSON text (None for null rows)."""
    texts = array.to_pylist()
    with gc_paused():
        return list(map(_decode_one, texts))


def extract(values: list, key: str | int) -> list:
    """The values one path step below ``values`` (None where missing)."""
    if isinstance(key, str):
        return [value.get(key) if type(value) is dict else None for value in values]
    return [value[key] if type(value) is list and key < len(value) else None for value in values]


def _kinds(values: list) -> np.ndarray:
    kinds = map(_KIND_BY_TYPE.get, map(type, values), itertools.repeat(OTHER))
    return np.fromiter(kinds, dtype=np.int8, count=len(values))


def _gather(values: list, rows: np.ndarray) -> list:
    return values if len(rows) == len(values) else [values[row] for row in rows.tolist()]


def _demote_big_integers(values: list, kinds: np.ndarray) -> list:
    """Integers outside int64 become floats (kind and value); returns the new values."""
    values = list(values)
    for row in np.flatnonzero(kinds == INT).tolist():
        value = values[row]
        if not _INT64_MIN <= value <= _INT64_MAX:
            kinds[row] = FLOAT
            values[row] = float(value) if abs(value) < 2**1023 else float("inf") * (1 if value > 0 else -1)
    return values


def _string_array(values: list) -> pa.Array:
    strings = [value if type(value) is str else None for value in values]
    try:
        return pa.array(strings, type=pa.string())
    except (UnicodeEncodeError, pa.ArrowException):  # lone surrogates from \ud800 escapes
        return pa.array([None if s is None else s.encode("utf-8", "surrogatepass").decode(
            "utf-8", "replace") for s in strings], type=pa.string())


def _typed_column(values: list, rows: np.ndarray, kind: int):
    """Full-length array for the rows of one kind (other rows hold filler)."""
    size = len(values)
    if kind == STR:
        return _string_array(values)
    gathered = _gather(values, rows)
    if kind == OTHER:
        column = np.empty(size, dtype=object)
        for row, value in zip(rows.tolist(), gathered):
            column[row] = value
        return column
    dense = np.array(gathered, dtype={INT: np.int64, FLOAT: np.float64, BOOL: bool}[kind])
    if len(rows) == size:
        return dense
    column = np.zeros(size, dtype=dense.dtype)
    column[rows] = dense
    return column


def build_operand(values: list) -> Operand:
    """Split Python JSON values into typed parts."""
    size = len(values)
    kinds = _kinds(values)
    int_rows = np.flatnonzero(kinds == INT)
    if len(int_rows):
        try:
            np.array(_gather(values, int_rows), dtype=np.int64)
        except OverflowError:
            values = _demote_big_integers(values, kinds)
    parts = []
    for kind in (INT, FLOAT, STR, BOOL, OTHER):
        rows_mask = kinds == kind
        rows = np.flatnonzero(rows_mask)
        if len(rows):
            all_rows = len(rows) == size
            parts.append(Part(kind, None if all_rows else rows_mask, _typed_column(values, rows, kind)))
    present = kinds != MISSING
    return Operand(tuple(parts), None if present.all() else present)


def build_flat_lists(values: list, present: np.ndarray | None) -> FlatLists:
    lengths = np.array([len(value) if type(value) is list else -1 for value in values],
                       dtype=np.int64)
    is_list = lengths >= 0
    np.maximum(lengths, 0, out=lengths)
    parent = np.repeat(np.arange(len(values), dtype=np.int64), lengths)
    elements = list(itertools.chain.from_iterable(itertools.compress(values, is_list.tolist())))
    return FlatLists(parent, build_operand(elements), lengths, is_list, present)


class JsonColumns:
    """Memoized decoding and path extraction for one column source."""

    def __init__(self, source) -> None:
        self.source = source
        self.cache = source.cache

    def _memo(self, key: tuple, compute):
        key = (CACHE_PREFIX,) + key
        found = self.cache.get(key)
        if found is None:
            with gc_paused():
                found = compute()
            self.cache[key] = found
        return found

    def values(self, column: str, path: tuple) -> list:
        if not path:
            return self._memo(("json", column), lambda: decode_column(self.source.column(column)))
        parent = self.values(column, path[:-1])
        return self._memo(("json-values", column, path), lambda: extract(parent, path[-1]))

    def operand(self, column: str, path: tuple) -> Operand:
        return self._memo(("json-operand", column, path),
                          lambda: build_operand(self.values(column, path)))

    def flat_lists(self, column: str, path: tuple) -> FlatLists:
        return self._memo(("json-lists", column, path), lambda: build_flat_lists(
            self.values(column, path), self.operand(column, path).present))
