"""Scalar semantics shared by constant folding and the evaluator's rare per-value paths.

These functions define, on single Python values, what the vectorized evaluator does on
columns: numbers compare by exact value (``1 == 1.0``, and no float rounding of large
int64 values), booleans are not numbers (``true != 1``), ``/`` is true division, ``%``
truncates toward zero like C (``-7 % 3 == -1``), and ``**`` is computed in float64.
"""

from __future__ import annotations

import math
import operator

import numpy as np

COMPARATORS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
SWAPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(left: object, right: object) -> bool:
    """Deep equality of JSON-like values where booleans never equal numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return False


def fold_comparison(op: str, left: object, right: object) -> bool:
    """``left op right`` for two literals (already type-checked by the binder)."""
    if op in ("==", "!="):
        return json_equal(left, right) == (op == "==")
    return bool(COMPARATORS[op](left, right))


def literal_in(value: object, values: tuple) -> bool:
    return any(json_equal(value, candidate) for candidate in values)


def _c_int_remainder(left: int, right: int) -> int:
    remainder = abs(left) % abs(right)
    return -remainder if left < 0 else remainder


def fold_arithmetic(op: str, left: int | float, right: int | float) -> int | float:
    """``left op right`` for two numeric literals; raises ArithmeticError on / or % by 0."""
    both_int = isinstance(left, int) and isinstance(right, int)
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "**":
        with np.errstate(all="ignore"):
            return float(np.power(np.float64(left), np.float64(right)))
    if right == 0:
        raise ZeroDivisionError("division by zero")
    if op == "/":
        return left / right
    if both_int:
        return _c_int_remainder(left, right)
    return math.fmod(left, right)
