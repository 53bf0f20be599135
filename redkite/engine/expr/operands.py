"""Column-at-a-time values and three-valued truth, and the vectorized operators on them.

An :class:`Operand` is one value per row, split into typed *parts*: a typed column has
one part; a JSON value has up to one part per JSON type found (integers, floats,
strings, booleans, and "other" for nested lists / objects). Each part holds a
full-length array (numpy, or Arrow for strings) that is meaningful only on its
``rows``; ``present`` marks rows holding any value (not null, key not missing).

A :class:`Truth` is the result of a predicate under SQL's three-valued logic: ``value``
(true rows) and ``known`` (rows that are true or false; the rest are unknown because
an operand was null or missing). A filter selects rows whose value is true.

Type rules, per row: numbers compare with numbers by exact value (int64 against float64
without rounding), strings with strings, booleans with booleans (never with numbers).
``==`` between values of different JSON types is false (so ``!=`` is true); ordering
them is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .constants import SWAPPED, json_equal, literal_in

INT, FLOAT, STR, BOOL, OTHER = 0, 1, 2, 3, 4
NUMERIC = (INT, FLOAT)
_NUMPY_OPS = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}
_ARROW_OPS = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal,
              ">": pc.greater, ">=": pc.greater_equal}
_TWO_POW_63 = 9.223372036854775808e18


@dataclass(slots=True)
class Part:
    kind: int
    rows: np.ndarray | None  # rows holding a value of this kind; None: every row
    values: object           # full-length np.ndarray / pa.Array, or a Python scalar


@dataclass(slots=True)
class Operand:
    parts: tuple[Part, ...]
    present: np.ndarray | None  # rows holding a value; None: every row


@dataclass(slots=True)
class Truth:
    value: np.ndarray           # true rows (never true where unknown)
    known: np.ndarray | None    # rows that are true or false; None: every row


# -- masks -------------------------------------------------------------------------------

def mask_and(left, right):
    if left is None:
        return right
    if right is None:
        return left
    return left & right


def restrict(result: np.ndarray, rows) -> np.ndarray:
    return result if rows is None else result & rows


class _Union:
    """Accumulates the union of masks, where None means every row."""

    def __init__(self, size: int) -> None:
        self.mask: np.ndarray | None = np.zeros(size, dtype=bool)

    def add(self, rows) -> None:
        if self.mask is None:
            return
        self.mask = None if rows is None else self.mask | rows


def full_bool(result, size: int) -> np.ndarray:
    """A length-``size`` bool array from a numpy/Arrow result or a scalar."""
    if isinstance(result, (pa.Array, pa.ChunkedArray)):
        if result.null_count:
            result = result.fill_null(False)
        return np.asarray(result.to_numpy(zero_copy_only=False), dtype=bool)
    if isinstance(result, pa.Scalar):
        result = bool(result.as_py())
    if np.ndim(result) == 0:
        return np.full(size, bool(result))
    return np.asarray(result, dtype=bool)


def scalar_kind(value: object) -> int:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    return OTHER


def scalar_operand(value: object) -> Operand:
    return Operand((Part(scalar_kind(value), None, value),), None)


def truth_to_operand(truth: Truth) -> Operand:
    return Operand((Part(BOOL, truth.known, truth.value),), truth.known)


def operand_to_truth(operand: Operand, size: int) -> Truth:
    value = np.zeros(size, dtype=bool)
    known = _Union(size)
    for part in operand.parts:
        if part.kind == BOOL:
            value |= restrict(full_bool(part.values, size), part.rows)
            known.add(part.rows)
    return Truth(value, known.mask)


# -- comparison --------------------------------------------------------------------------

def compare_int_float(op: str, ints, floats) -> np.ndarray:
    """``ints op floats`` exactly: int64 values are not rounded to float64."""
    ints = np.asarray(ints, dtype=np.int64)
    floats = np.asarray(floats, dtype=np.float64)
    as_float = ints.astype(np.float64)
    rough = _NUMPY_OPS[op](as_float, floats)
    tie = as_float == floats  # only here can rounding have changed the answer
    if not np.any(tie):
        return rough
    tied_floats = np.where(tie, floats, 0.0)
    beyond = tied_floats >= _TWO_POW_63  # int64 values are all below 2**63
    exact = _NUMPY_OPS[op](ints, np.where(beyond, 0.0, tied_floats).astype(np.int64))
    exact = np.where(beyond, _NUMPY_OPS[op](0, 1), exact)
    return np.where(tie, exact, rough)


def _arrow_string(values):
    return values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.scalar(values, pa.string())


def _compare_parts(op: str, left: Part, right: Part, size: int) -> np.ndarray | None:
    """``left op right`` where both parts hold values; None if the kinds don't compare."""
    lk, rk = left.kind, right.kind
    if lk in NUMERIC and rk in NUMERIC:
        with np.errstate(invalid="ignore"):
            if lk == rk:
                result = _NUMPY_OPS[op](left.values, right.values)
            elif lk == INT:
                result = compare_int_float(op, left.values, right.values)
            else:
                result = compare_int_float(SWAPPED[op], right.values, left.values)
        return full_bool(result, size)
    if lk == rk == STR:
        return full_bool(_ARROW_OPS[op](_arrow_string(left.values), _arrow_string(right.values)), size)
    if op not in ("==", "!=") or lk != rk:
        return None
    if lk == BOOL:
        return full_bool(np.equal(left.values, right.values), size)
    return _compare_other(left, right, size)


def _value_at(values, row: int):
    return values[row] if isinstance(values, np.ndarray) else values


def _compare_other(left: Part, right: Part, size: int) -> np.ndarray:
    """Deep equality of nested JSON lists / objects: per row, only where both hold one."""
    rows = mask_and(left.rows, right.rows)
    result = np.zeros(size, dtype=bool)
    candidates = range(size) if rows is None else np.flatnonzero(rows)
    for row in candidates:
        result[row] = json_equal(_value_at(left.values, row), _value_at(right.values, row))
    return result


def compare(op: str, left: Operand, right: Operand, size: int) -> Truth:
    """``left op right`` per row, with unknown where either side is missing."""
    equality = op in ("==", "!=")
    value = np.zeros(size, dtype=bool)
    decided = _Union(size)
    for left_part in left.parts:
        for right_part in right.parts:
            rows = mask_and(left_part.rows, right_part.rows)
            result = _compare_parts("==" if equality else op, left_part, right_part, size)
            if result is not None:
                value |= restrict(result, rows)
                decided.add(rows)
    if not equality:  # ordering values of different types is unknown
        return Truth(value, decided.mask)
    known = mask_and(left.present, right.present)
    if op == "==":
        return Truth(value, known)
    return Truth(restrict(~value, known), known)


# -- arithmetic --------------------------------------------------------------------------

def _as_float(values):
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return float(values)


def _defined_rows(zero_divisor, size: int):
    """Rows where the divisor is non-zero (None: all of them)."""
    if np.ndim(zero_divisor) == 0:
        return np.zeros(size, dtype=bool) if zero_divisor else None
    return ~zero_divisor


def _arithmetic_values(op: str, left: Part, right: Part, size: int):
    """(kind, values, rows where defined or None) of ``left op right``."""
    if left.kind == right.kind == INT and op in ("+", "-", "*", "%"):
        lv, rv = left.values, right.values
        if op == "%":
            zero = np.equal(rv, 0)
            return INT, np.fmod(lv, np.where(zero, 1, rv)), _defined_rows(zero, size)
        return INT, {"+": np.add, "-": np.subtract, "*": np.multiply}[op](lv, rv), None
    lv, rv = _as_float(left.values), _as_float(right.values)
    if op in ("/", "%"):
        zero = np.equal(rv, 0.0)
        divisor = np.where(zero, 1.0, rv)
        values = np.true_divide(lv, divisor) if op == "/" else np.fmod(lv, divisor)
        return FLOAT, values, _defined_rows(zero, size)
    function = {"+": np.add, "-": np.subtract, "*": np.multiply, "**": np.power}[op]
    return FLOAT, function(lv, rv), None


def _broadcast(values, size: int, dtype) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=dtype), (size,))


def arithmetic(op: str, left: Operand, right: Operand, size: int) -> Operand:
    """``left op right``; rows with a non-numeric side or a zero divisor are missing."""
    merged: dict[int, Part] = {}
    with np.errstate(all="ignore"):
        for left_part in left.parts:
            for right_part in right.parts:
                if left_part.kind not in NUMERIC or right_part.kind not in NUMERIC:
                    continue
                kind, values, defined = _arithmetic_values(op, left_part, right_part, size)
                rows = mask_and(mask_and(left_part.rows, right_part.rows), defined)
                dtype = np.int64 if kind == INT else np.float64
                values = _broadcast(values, size, dtype)
                _merge_part(merged, Part(kind, rows, values))
    return _operand_from_parts(tuple(merged.values()), size)


def _merge_part(merged: dict[int, Part], part: Part) -> None:
    existing = merged.get(part.kind)
    if existing is None:
        merged[part.kind] = part
        return
    # two pairs of source kinds gave the same result kind on disjoint rows
    rows = part.rows if part.rows is not None else np.ones(len(part.values), dtype=bool)
    values = np.where(rows, part.values, existing.values)
    union = None if existing.rows is None else existing.rows | rows
    merged[part.kind] = Part(part.kind, union, values)


def _operand_from_parts(parts: tuple[Part, ...], size: int) -> Operand:
    present = _Union(size)
    for part in parts:
        present.add(part.rows)
    return Operand(parts, present.mask)


def negate(operand: Operand, size: int) -> Operand:
    parts = []
    with np.errstate(all="ignore"):
        for part in operand.parts:
            if part.kind in NUMERIC:
                parts.append(Part(part.kind, part.rows, np.negative(part.values)))
    return _operand_from_parts(tuple(parts), size)


# -- in / like / null --------------------------------------------------------------------

def _split_literals(values: tuple) -> dict[int, list]:
    groups: dict[int, list] = {INT: [], FLOAT: [], STR: [], BOOL: [], OTHER: []}
    for value in values:
        groups[scalar_kind(value)].append(value)
    return groups


def _part_in(part: Part, groups: dict[int, list], size: int) -> np.ndarray | None:
    kind, values = part.kind, part.values
    if kind == INT:
        candidates = groups[INT] + [int(f) for f in groups[FLOAT]
                                    if f.is_integer() and -_TWO_POW_63 <= f < _TWO_POW_63]
        return np.isin(values, np.array(candidates, dtype=np.int64)) if candidates else None
    if kind == FLOAT:
        candidates = groups[FLOAT] + [i for i in groups[INT] if float(i) == i]
        return np.isin(values, np.array(candidates, dtype=np.float64)) if candidates else None
    if kind == STR:
        if not groups[STR]:
            return None
        value_set = pa.array(groups[STR], type=values.type)
        return full_bool(pc.is_in(values, value_set=value_set), size)
    if kind == BOOL:
        return np.isin(values, np.array(groups[BOOL], dtype=bool)) if groups[BOOL] else None
    if not groups[OTHER]:
        return None
    result = np.zeros(size, dtype=bool)
    for row in (range(size) if part.rows is None else np.flatnonzero(part.rows)):
        result[row] = literal_in(_value_at(values, row), tuple(groups[OTHER]))
    return result


def in_list(operand: Operand, values: tuple, size: int) -> Truth:
    """``operand in values`` per row (unknown where operand is missing)."""
    groups = _split_literals(values)
    hit = np.zeros(size, dtype=bool)
    for part in operand.parts:
        result = _part_in(part, groups, size)
        if result is not None:
            hit |= restrict(result, part.rows)
    return Truth(hit, operand.present)


def like(operand: Operand, pattern: str, size: int) -> Truth:
    """SQL LIKE on string values; other JSON types do not match."""
    hit = np.zeros(size, dtype=bool)
    for part in operand.parts:
        if part.kind == STR:
            hit |= restrict(full_bool(pc.match_like(part.values, pattern), size), part.rows)
    return Truth(hit, operand.present)


def is_null(operand: Operand, size: int) -> Truth:
    if operand.present is None:
        return Truth(np.zeros(size, dtype=bool), None)
    return Truth(~operand.present, None)


# -- logic -------------------------------------------------------------------------------

def _known_false(truth: Truth) -> np.ndarray:
    return restrict(~truth.value, truth.known)


def kleene_and(truths: list[Truth]) -> Truth:
    value = truths[0].value.copy()
    for truth in truths[1:]:
        value &= truth.value
    if all(truth.known is None for truth in truths):
        return Truth(value, None)
    false_somewhere = _known_false(truths[0])
    for truth in truths[1:]:
        false_somewhere = false_somewhere | _known_false(truth)
    return Truth(value, value | false_somewhere)


def kleene_or(truths: list[Truth]) -> Truth:
    value = truths[0].value.copy()
    for truth in truths[1:]:
        value |= truth.value
    if all(truth.known is None for truth in truths):
        return Truth(value, None)
    false_everywhere = _known_false(truths[0])
    for truth in truths[1:]:
        false_everywhere = false_everywhere & _known_false(truth)
    return Truth(value, value | false_everywhere)


def kleene_not(truth: Truth) -> Truth:
    return Truth(_known_false(truth), truth.known)
