"""Filter predicates answered from a scalar index instead of a scan.

A column source may offer scalar indexes (``source.scalar_indexes``: field name -> index
type, (JSON field, path keys) -> cast type; sealed segments do, see
:class:`~redkite.engine.storage.segments.SegmentView`). For an indexed INT8..INT64,
FLOAT, DOUBLE or VARCHAR field, :class:`SortedColumn` holds the row ids of the field's
values in ascending order (nulls and NaNs left out) and the values in that order. A JSON
path index gets one per JSON type it covers (:class:`SortedField`: int64 and float64
values for cast type DOUBLE, strings for VARCHAR). They are built on first use and
memoized in ``source.cache``, which lives as long as the (immutable) sealed segment.
Every index type is served this way: STL_SORT and INVERTED are sorted arrays in Milvus
too, a BITMAP's value -> rows dictionary is a run of equal values here, and a TRIE's
prefix walk is a range of the sorted strings.

:class:`IndexedPredicates` answers these shapes with binary searches, then marks the
selected row ids (or the unselected ones, whichever are fewer) in a mask:

* ``field op literal`` and ``literal op field`` for ``== != < <= > >=``;
* a conjunction of ranges on one field (``lo < x <= hi``, ``x >= a and x < b``): one
  interval;
* ``field in [...]``: one interval per value;
* ``field like "prefix%..."`` on strings: the range of strings starting with the prefix,
  then Arrow's LIKE on those strings only when more of the pattern follows.

Results equal the scan's (:mod:`.operands`): numbers compare by exact value (an int64
against a float literal without rounding), NaN never compares (``!=`` selects it), null
rows are unknown, and JSON values keep their per-row types (``j["a"] == 1`` is false
and ``!=`` true on a row holding ``"1"``; ordering it is unknown). A literal of a kind
the index does not cover (a string against a DOUBLE path, a boolean) is scanned.
Numeric predicates selecting many rows go back to the scan (a vectorized comparison then
costs less than marking rows one by one); string predicates always use the index.
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
from .json_columns import JsonColumns
from .operands import FLOAT, INT, STR, Operand, Truth
from .plan import ValueKind

CACHE_KEY = "redkite.scalar-index"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
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


def build_sorted(array: pa.Array, kind: ValueKind) -> SortedColumn:
    """Sort one column (nulls and NaNs excluded from ``order``)."""
    size = len(array)
    known = None
    if array.null_count:
        known = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    order = pc.sort_indices(array).to_numpy(zero_copy_only=False)  # NaNs, then nulls last
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


@dataclass(frozen=True)
class SortedField:
    """The sorted values of one field or JSON path: numbers (an int64 and/or a float64
    part) and strings, each a :class:`SortedColumn` over the rows holding that kind.

    ``present``: rows holding any value (None: all). Only the kinds a field is indexed
    for are built (a JSON path cast to DOUBLE has no string part): a literal of another
    kind is not covered and its predicate is scanned.
    """

    size: int
    numbers: tuple[SortedColumn, ...]
    strings: SortedColumn | None
    present: np.ndarray | None
    covers_numbers: bool
    covers_strings: bool

    def parts_for(self, literal: object) -> tuple[SortedColumn, ...] | None:
        """The parts a literal compares with; None when the index does not cover it."""
        if isinstance(literal, str):
            if not self.covers_strings:
                return None
            return () if self.strings is None else (self.strings,)
        if isinstance(literal, bool) or not isinstance(literal, (int, float)) \
                or not self.covers_numbers:
            return None
        return self.numbers

    def compared_rows(self, parts: tuple[SortedColumn, ...]) -> np.ndarray | None:
        """Rows an ordering with these parts decides (the others are unknown)."""
        rows = np.zeros(self.size, dtype=bool)
        for part in parts:
            if part.known is None:
                return None
            rows |= part.known
        return rows

    def not_truth(self, value: np.ndarray) -> Truth:
        """The complement of ``value`` among the present rows (``!=``, ``not in``)."""
        return Truth(~value if self.present is None else self.present & ~value, self.present)


def typed_field(array: pa.Array, kind: ValueKind) -> SortedField:
    column = build_sorted(array, kind)
    strings = kind is ValueKind.STRING
    return SortedField(len(array), () if strings else (column,), column if strings else None,
                       column.known, not strings, strings)


def json_field(operand: Operand, size: int, cast_type: str) -> SortedField:
    """The INT / FLOAT parts (cast DOUBLE) or the STR part (cast VARCHAR) of a JSON path."""
    numbers, strings = [], None
    for part in operand.parts:
        if part.kind == STR and cast_type == "VARCHAR":
            strings = build_sorted(part.values, ValueKind.STRING)
        elif part.kind in (INT, FLOAT) and cast_type == "DOUBLE":
            kind = ValueKind.INT if part.kind == INT else ValueKind.FLOAT
            mask = None if part.rows is None else ~part.rows
            numbers.append(build_sorted(pa.array(part.values, mask=mask), kind))
    return SortedField(size, tuple(numbers), strings, operand.present,
                       cast_type == "DOUBLE", cast_type == "VARCHAR")


def forget_structures(cache: dict, indexes: dict) -> None:
    """Drop the structures memoized in ``cache`` for fields and JSON paths that are not
    in ``indexes`` any more (after a drop_index)."""
    for key in list(cache):
        if not (isinstance(key, tuple) and key and key[0] == CACHE_KEY):
            continue
        if len(key) == 4:  # (CACHE_KEY, JSON field, path, cast type)
            kept = indexes.get((key[1], key[2])) == key[3]
        else:  # (CACHE_KEY, field, value kind)
            kept = key[1] in indexes
        if not kept:
            cache.pop(key, None)


def escapes_only_wildcards(pattern: str) -> bool:
    """True when every backslash escapes a ``%`` or ``_``. Arrow's LIKE reads other
    escapes (``\\\\``) differently in its prefix fast path and its regex path, so patterns
    holding them are left to the scan, whose answer they must equal."""
    position = pattern.find("\\")
    while position >= 0:
        if pattern[position + 1: position + 2] not in ("%", "_"):
            return False
        position = pattern.find("\\", position + 2)
    return True


class IndexedPredicates:
    """Answers predicates on the indexed fields of one source; None means "scan".

    ``indexes`` maps field names to index types and (JSON field, path) pairs to the JSON
    index's cast type (DOUBLE or VARCHAR).
    """

    def __init__(self, source, indexes: dict) -> None:
        self.source = source
        self.indexes = indexes
        self.cache = source.cache

    def sorted_field(self, node: plan.Column | plan.JsonPath) -> SortedField:
        if isinstance(node, plan.JsonPath):
            cast_type = self.indexes[(node.column, node.path)]
            key = (CACHE_KEY, node.column, node.path, cast_type)
        else:
            key = (CACHE_KEY, node.name, node.kind)
        found = self.cache.get(key)
        if found is None:
            found = self.build(node)
            self.cache[key] = found
        return found

    def build(self, node: plan.Column | plan.JsonPath) -> SortedField:
        if isinstance(node, plan.JsonPath):
            operand = JsonColumns(self.source).operand(node.column, node.path)
            return json_field(operand, int(self.source.num_rows),
                              self.indexes[(node.column, node.path)])
        array = self.source.column(node.name)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        return typed_field(array, node.kind)

    def indexed(self, node: plan.Node) -> plan.Column | plan.JsonPath | None:
        """``node`` if it is an indexed column or JSON path this module can serve."""
        if isinstance(node, plan.Column):
            served = node.kind in INDEXED_KINDS and node.name in self.indexes
        else:
            served = isinstance(node, plan.JsonPath) and (node.column, node.path) in self.indexes
        return node if served else None

    def field_and_literal(self, node: plan.Compare) -> tuple[plan.Node, str, object] | None:
        """(field, op, literal) of ``field op literal`` or ``literal op field``."""
        field = self.indexed(node.left)
        if field is not None and isinstance(node.right, plan.Const):
            return field, node.op, node.right.value
        field = self.indexed(node.right)
        if field is not None and isinstance(node.left, plan.Const):
            return field, SWAPPED[node.op], node.left.value
        return None

    # -- predicates ---------------------------------------------------------------------
    def compare(self, node: plan.Compare) -> Truth | None:
        found = self.field_and_literal(node)
        if found is None:
            return None
        field, op, literal = found
        sorted_field = self.sorted_field(field)
        parts = sorted_field.parts_for(literal)
        if parts is None:
            return None
        if op == "!=":
            equal = self.equal_mask(sorted_field, parts, (literal,))
            return None if equal is None else sorted_field.not_truth(equal)
        value = _union([part.interval_mask(*part.interval(op, literal)) for part in parts],
                       sorted_field.size)
        if value is None:
            return None
        known = sorted_field.present if op == "==" else sorted_field.compared_rows(parts)
        return Truth(value, known)

    def equal_mask(self, sorted_field: SortedField, parts: tuple[SortedColumn, ...] | None,
                   values: tuple) -> np.ndarray | None:
        """Rows equal to any of ``values`` (each of a kind ``parts`` covers)."""
        pieces, marked = [], 0
        for value in values:
            for part in parts if parts is not None else sorted_field.parts_for(value):
                low, high = part.interval("==", value)
                pieces.append(part.order[low:high])
                marked += high - low
        if any(not part.worth_marking(marked) for part in sorted_field.numbers):
            return None
        mask = np.zeros(sorted_field.size, dtype=bool)
        for rows in pieces:
            mask[rows] = True
        return mask

    def ranges(self, nodes: list[plan.Compare]) -> Truth | None:
        """The conjunction of ``nodes`` (comparisons of one indexed field with literals of
        one kind, see :meth:`range_key`) as one interval per part."""
        found = [self.field_and_literal(node) for node in nodes]
        sorted_field = self.sorted_field(found[0][0])
        parts = sorted_field.parts_for(found[0][2])
        if parts is None:
            return None
        masks = []
        for part in parts:
            low, high = 0, len(part.order)
            for _, op, literal in found:
                start, stop = part.interval(op, literal)
                low, high = max(low, start), min(high, stop)
            masks.append(part.interval_mask(low, max(low, high)))
        value = _union(masks, sorted_field.size)
        return None if value is None else Truth(value, sorted_field.compared_rows(parts))

    def range_key(self, node: plan.Node) -> tuple | None:
        """What ``node`` shares with the comparisons it can join in one interval (see
        :meth:`ranges`): the field, and for a JSON path the literal's kind. A typed
        field joins ``==`` too; a JSON path only orderings (``==`` decides more rows)."""
        if not isinstance(node, plan.Compare) or node.op == "!=":
            return None
        found = self.field_and_literal(node)
        if found is None:
            return None
        field, op, literal = found
        if isinstance(field, plan.Column):
            return (field.name,)
        if op == "==" or isinstance(literal, bool):
            return None
        return field.column, field.path, isinstance(literal, str)

    def in_list(self, node: plan.InList) -> Truth | None:
        field = self.indexed(node.operand)
        if field is None:
            return None
        sorted_field = self.sorted_field(field)
        if any(sorted_field.parts_for(value) is None for value in node.values):
            return None
        mask = self.equal_mask(sorted_field, None, node.values)
        return None if mask is None else Truth(mask, sorted_field.present)

    def like(self, node: plan.Like) -> Truth | None:
        field = self.indexed(node.operand)
        if field is None:
            return None
        sorted_field = self.sorted_field(field)
        if not sorted_field.covers_strings:
            return None
        if not escapes_only_wildcards(node.pattern):
            return None
        prefix, rest = like_prefix(node.pattern)
        if rest and not prefix:
            return None  # no literal prefix: the scan is as good
        value = np.zeros(sorted_field.size, dtype=bool)
        strings = sorted_field.strings
        if strings is not None:
            value[strings.order[like_positions(strings, prefix, rest, node.pattern)]] = True
        return Truth(value, sorted_field.present)


def _union(masks: list[np.ndarray | None], size: int) -> np.ndarray | None:
    """The union of row masks; None if any is None (a part chose the scan)."""
    if any(mask is None for mask in masks):
        return None
    if len(masks) == 1:
        return masks[0]
    value = np.zeros(size, dtype=bool)
    for mask in masks:
        value |= mask
    return value


def like_positions(strings: SortedColumn, prefix: str, rest: str, pattern: str) -> np.ndarray:
    """Positions of ``strings.order`` whose string matches ``pattern`` (split as
    ``prefix`` + ``rest`` by :func:`like_prefix`)."""
    if not rest:
        low, high = strings.interval("==", prefix)
    else:
        low, high = strings.prefix_interval(prefix)
    positions = np.arange(low, high)
    if rest.strip("%"):  # more than "prefix%": test the candidates only
        candidates = strings.values.slice(low, high - low)
        matched = pc.match_like(candidates, pattern).to_numpy(zero_copy_only=False)
        positions = positions[np.asarray(matched, dtype=bool)]
    return positions
