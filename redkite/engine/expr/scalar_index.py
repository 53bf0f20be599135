"""Filter predicates answered from a scalar index instead of a scan.

A column source may offer scalar indexes (``source.scalar_indexes``: field name -> index
type; sealed segments do, see :class:`~redkite.engine.storage.segments.SegmentView`).
For an indexed INT8..INT64, FLOAT, DOUBLE or VARCHAR field, :class:`SortedColumn` holds
the row ids of the field's values in ascending order (nulls and NaNs left out) and the
values in that order. It is built on first use and memoized in ``source.cache``, which
lives as long as the (immutable) sealed segment. Every index type is served by it:
STL_SORT and INVERTED are sorted arrays in Milvus too, a BITMAP's value -> rows
dictionary is a run of equal values here, and a TRIE's prefix walk is a range of the
sorted strings.

:class:`IndexedPredicates` answers these shapes with binary searches, then marks the
selected row ids (or the unselected ones, whichever are fewer) in a mask:

* ``field op literal`` and ``literal op field`` for ``== != < <= > >=``;
* a conjunction of ranges on one field (``lo < x <= hi``, ``x >= a and x < b``): one
  interval;
* ``field in [...]``: one interval per value;
* ``field like "prefix%..."`` on VARCHAR: the range of strings starting with the prefix,
  then Arrow's LIKE on those strings only when more of the pattern follows.

Results equal the scan's (:mod:`.operands`): numbers compare by exact value (an int64
against a float literal without rounding), NaN never compares (``!=`` selects it), and
null rows are unknown (``known`` is the field's validity). Numeric predicates selecting
many rows go back to the scan (a vectorized comparison then costs less than marking
rows one by one); string predicates always use the index.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import plan
from .constants import SWAPPED
from .operands import Truth
from .plan import ValueKind

CACHE_KEY = "redkite.scalar-index"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ORDERING = frozenset({"<", "<=", ">", ">="})
INDEXED_KINDS = frozenset({ValueKind.INT, ValueKind.FLOAT, ValueKind.STRING})
# A numeric predicate uses the index when it marks at most size / NUMERIC_MARK_RATIO rows.
NUMERIC_MARK_RATIO = 8


class _ArrowSequence:
    """A sorted Arrow string array as a sequence of Python str, for :mod:`bisect`."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, position: int) -> str:
        return self.array[position].as_py()


@dataclass(frozen=True)
class SortedColumn:
    """One field of one segment sorted by value.

    ``order``: row ids of the rows holding a comparable value (not null, not NaN), by
    ascending value; ``values``: those values in that order (int64 / float64 numpy, or an
    Arrow string array); ``known``: rows not null (None: all); ``ordered``: rows listed in
    ``order`` (None: all).
    """

    kind: ValueKind
    size: int
    order: np.ndarray
    values: np.ndarray | pa.Array
    known: np.ndarray | None
    ordered: np.ndarray | None

    # -- positions ---------------------------------------------------------------------
    def bounds(self, literal: object) -> tuple[int, int] | None:
        """(# values < literal, # values <= literal), exactly; None for a NaN literal."""
        if self.kind is ValueKind.STRING:
            sequence = _ArrowSequence(self.values)
            return bisect.bisect_left(sequence, literal), bisect.bisect_right(sequence, literal)
        if isinstance(literal, float) and math.isnan(literal):
            return None
        if self.kind is ValueKind.INT:
            return _int_bounds(self.values, literal)
        return _float_bounds(self.values, literal)

    def interval(self, op: str, literal: object) -> tuple[int, int]:
        """Positions [lo, hi) of ``order`` whose value satisfies ``value op literal``
        (``op`` one of == < <= > >=)."""
        found = self.bounds(literal)
        if found is None:
            return 0, 0
        below, up_to = found
        count = len(self.order)
        return {"==": (below, up_to), "<": (0, below), "<=": (0, up_to),
                ">": (up_to, count), ">=": (below, count)}[op]

    def prefix_interval(self, prefix: str) -> tuple[int, int]:
        """Positions of the strings starting with ``prefix`` (a contiguous run)."""
        sequence = _ArrowSequence(self.values)
        low = bisect.bisect_left(sequence, prefix)
        after = _successor(prefix)
        high = len(sequence) if after is None else bisect.bisect_left(sequence, after, lo=low)
        return low, high

    # -- masks -------------------------------------------------------------------------
    def worth_marking(self, count: int) -> bool:
        return self.kind is ValueKind.STRING or count <= self.size // NUMERIC_MARK_RATIO

    def interval_mask(self, low: int, high: int) -> np.ndarray | None:
        """Rows at positions [low, high) of ``order``; None when a scan is cheaper."""
        inside = max(high - low, 0)
        outside = len(self.order) - inside
        if not self.worth_marking(min(inside, outside)):
            return None
        if inside <= outside:
            return self.rows_mask([self.order[low:high]])
        mask = ~self.rows_mask([self.order[:low], self.order[high:]])
        return mask if self.ordered is None else mask & self.ordered

    def rows_mask(self, pieces: list[np.ndarray]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        for rows in pieces:
            mask[rows] = True
        return mask

    def truth(self, value: np.ndarray) -> Truth:
        return Truth(value, self.known)

    def not_truth(self, value: np.ndarray) -> Truth:
        """The complement of ``value`` among the known rows (``!=``)."""
        return Truth(~value if self.known is None else self.known & ~value, self.known)


def build_sorted(array: pa.Array, kind: ValueKind) -> SortedColumn:
    """Sort one column (nulls and NaNs excluded from ``order``)."""
    size = len(array)
    known = None
    if array.null_count:
        known = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    order = pc.sort_indices(array).to_numpy(zero_copy_only=False)  # nulls, then NaNs last
    ordered = known
    if kind is ValueKind.FLOAT:
        nan = np.asarray(pc.is_nan(array).fill_null(False).to_numpy(zero_copy_only=False))
        if nan.any():
            ordered = ~nan if known is None else known & ~nan
    count = size if ordered is None else int(np.count_nonzero(ordered))
    order = np.ascontiguousarray(order[:count]).astype(
        np.int32 if size < 2**31 else np.int64, copy=False)
    taken = array.take(pa.array(order))
    if kind is ValueKind.STRING:
        values = taken
    else:
        dtype = np.int64 if kind is ValueKind.INT else np.float64
        values = np.asarray(taken.to_numpy(zero_copy_only=False), dtype=dtype)
    return SortedColumn(kind, size, order, values, known, ordered)


def _int_count_below(values: np.ndarray, bound: int) -> int:
    """How many int64 ``values`` are < ``bound`` (a Python int of any size)."""
    if bound > INT64_MAX:
        return len(values)
    if bound <= INT64_MIN:
        return 0
    return int(np.searchsorted(values, np.int64(bound), side="left"))


def _int_bounds(values: np.ndarray, literal: int | float) -> tuple[int, int]:
    if isinstance(literal, float):
        if math.isinf(literal):
            return (0, 0) if literal < 0 else (len(values), len(values))
        # x < 2.5 <=> x < 3 and x <= 2.5 <=> x < 3 for integers x, exactly.
        return (_int_count_below(values, math.ceil(literal)),
                _int_count_below(values, math.floor(literal) + 1))
    return _int_count_below(values, literal), _int_count_below(values, literal + 1)


def _float_bounds(values: np.ndarray, literal: int | float) -> tuple[int, int]:
    if isinstance(literal, int):
        # float(literal) is the float64 nearest to the integer: no float64 lies strictly
        # between them, so only the values equal to it need the exact comparison.
        nearest = float(literal)
        below = np.searchsorted(values, nearest, side="right" if nearest < literal else "left")
        up_to = np.searchsorted(values, nearest, side="right" if nearest <= literal else "left")
        return int(below), int(up_to)
    return (int(np.searchsorted(values, literal, side="left")),
            int(np.searchsorted(values, literal, side="right")))


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:  # surrogates never occur in stored (UTF-8) strings
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def like_prefix(pattern: str) -> tuple[str, str]:
    """(literal prefix, rest): the unescaped text before the first ``%``/``_`` wildcard."""
    prefix: list[str] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char in "%_":
            break
        if char == "\\" and position + 1 < len(pattern):
            position += 1
            char = pattern[position]
        prefix.append(char)
        position += 1
    return "".join(prefix), pattern[position:]


class IndexedPredicates:
    """Answers predicates on the indexed fields of one source; None means "scan"."""

    def __init__(self, source, indexes: dict[str, str]) -> None:
        self.source = source
        self.indexes = indexes
        self.cache = source.cache

    def sorted_column(self, column: plan.Column) -> SortedColumn:
        key = (CACHE_KEY, column.name, column.kind)
        found = self.cache.get(key)
        if found is None:
            array = self.source.column(column.name)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            found = build_sorted(array, column.kind)
            self.cache[key] = found
        return found

    def indexed(self, node: plan.Node) -> plan.Column | None:
        """``node`` if it is an indexed column this module can serve."""
        if isinstance(node, plan.Column) and node.kind in INDEXED_KINDS \
                and node.name in self.indexes:
            return node
        return None

    def column_and_literal(self, node: plan.Compare) -> tuple[plan.Column, str, object] | None:
        """(column, op, literal) of ``column op literal`` or ``literal op column``."""
        column = self.indexed(node.left)
        if column is not None and isinstance(node.right, plan.Const):
            return column, node.op, node.right.value
        column = self.indexed(node.right)
        if column is not None and isinstance(node.left, plan.Const):
            return column, SWAPPED[node.op], node.left.value
        return None

    # -- predicates ---------------------------------------------------------------------
    def compare(self, node: plan.Compare) -> Truth | None:
        found = self.column_and_literal(node)
        if found is None:
            return None
        column, op, literal = found
        sorted_column = self.sorted_column(column)
        if op != "!=":
            mask = sorted_column.interval_mask(*sorted_column.interval(op, literal))
            return None if mask is None else sorted_column.truth(mask)
        low, high = sorted_column.interval("==", literal)
        if not sorted_column.worth_marking(high - low):
            return None
        return sorted_column.not_truth(sorted_column.rows_mask([sorted_column.order[low:high]]))

    def ranges(self, nodes: list[plan.Compare]) -> Truth | None:
        """The conjunction of ``nodes`` (ordering or ``==`` comparisons of one indexed
        field with literals) as one interval."""
        found = [self.column_and_literal(node) for node in nodes]
        sorted_column = self.sorted_column(found[0][0])
        low, high = 0, len(sorted_column.order)
        for _, op, literal in found:
            start, stop = sorted_column.interval(op, literal)
            low, high = max(low, start), min(high, stop)
        mask = sorted_column.interval_mask(low, max(low, high))
        return None if mask is None else sorted_column.truth(mask)

    def range_key(self, node: plan.Node) -> str | None:
        """The field name when ``node`` can join an interval (see :meth:`ranges`)."""
        if not isinstance(node, plan.Compare) or node.op == "!=":
            return None
        found = self.column_and_literal(node)
        return None if found is None else found[0].name

    def in_list(self, node: plan.InList) -> Truth | None:
        column = self.indexed(node.operand)
        if column is None:
            return None
        sorted_column = self.sorted_column(column)
        intervals = {sorted_column.interval("==", value) for value in node.values}
        if not sorted_column.worth_marking(sum(high - low for low, high in intervals)):
            return None
        pieces = [sorted_column.order[low:high] for low, high in intervals if high > low]
        return sorted_column.truth(sorted_column.rows_mask(pieces))

    def like(self, node: plan.Like) -> Truth | None:
        column = self.indexed(node.operand)
        if column is None or column.kind is not ValueKind.STRING:
            return None
        prefix, rest = like_prefix(node.pattern)
        sorted_column = self.sorted_column(column)
        if not rest:
            low, high = sorted_column.interval("==", prefix)
        elif prefix:
            low, high = sorted_column.prefix_interval(prefix)
        else:
            return None  # no literal prefix: the scan is as good
        positions = np.arange(low, high)
        if rest.strip("%"):  # more than "prefix%": test the candidates only
            candidates = sorted_column.values.slice(low, high - low)
            matched = pc.match_like(candidates, node.pattern).to_numpy(zero_copy_only=False)
            positions = positions[np.asarray(matched, dtype=bool)]
        return sorted_column.truth(sorted_column.rows_mask([sorted_column.order[positions]]))
