"""Syntax tree of a filter expression, as produced by the parser.

Nodes are frozen dataclasses; every node carries ``position``, the character offset
in the filter text used to point a caret at it in error messages. For operators the
position is the operator's; for calls, the function name's. The tree is untyped: names
are not resolved and nothing is checked against a schema (that is the binder's job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Literal:
    """An int, float, str or bool literal."""
    position: int
    value: object


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """``[a, b, ...]``: only valid after ``in`` and as a function argument."""
    position: int
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Placeholder:
    """``{name}`` in a filter template, replaced by a parameter value when binding."""
    position: int
    name: str


@dataclass(frozen=True, slots=True)
class Name:
    """A bare identifier: a field, a dynamic-field key, or ``$meta``."""
    position: int
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``target[key]``: a JSON key / list index, or an ARRAY element."""
    position: int
    target: "Expr"
    key: "Expr"


@dataclass(frozen=True, slots=True)
class Call:
    """``name(args...)``; ``name`` is lower-cased."""
    position: int
    name: str
    args: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary ``-`` or ``+``."""
    position: int
    op: str
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Not:
    position: int
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``left op right`` with op one of ``+ - * / % **``."""
    position: int
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``a op1 b [op2 c ...]``: one comparison, or a chained range like ``1 < x <= 5``.

    ``operands`` has one more element than ``ops``; ``op_positions[i]`` is where
    ``ops[i]`` is written.
    """
    position: int
    ops: tuple[str, ...]
    operands: tuple["Expr", ...]
    op_positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Logical:
    """``and`` / ``or`` over two or more operands (chains are flattened)."""
    position: int
    op: str
    operands: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class In:
    """``operand [not] in values``."""
    position: int
    operand: "Expr"
    values: "Expr"
    negated: bool


@dataclass(frozen=True, slots=True)
class Like:
    """``operand [not] like pattern``."""
    position: int
    operand: "Expr"
    pattern: "Expr"
    negated: bool


@dataclass(frozen=True, slots=True)
class IsNull:
    """``operand is [not] null``."""
    position: int
    operand: "Expr"
    negated: bool


@dataclass(frozen=True, slots=True)
class Exists:
    """``exists path``."""
    position: int
    operand: "Expr"


Expr = Union[Literal, ListLiteral, Placeholder, Name, Index, Call, Unary, Not, Arithmetic,
             Comparison, Logical, In, Like, IsNull, Exists]

CHILD_FIELDS = {
    Literal: (), ListLiteral: ("items",), Placeholder: (), Name: (), Index: ("target", "key"),
    Call: ("args",), Unary: ("operand",), Not: ("operand",), Arithmetic: ("left", "right"),
    Comparison: ("operands",), Logical: ("operands",), In: ("operand", "values"),
    Like: ("operand", "pattern"), IsNull: ("operand",), Exists: ("operand",),
}


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``node``."""
    found: list[Expr] = []
    for field_name in CHILD_FIELDS[type(node)]:
        value = getattr(node, field_name)
        if isinstance(value, tuple):
            found.extend(value)
        else:
            found.append(value)
    return tuple(found)


def depth(node: Expr) -> int:
    """Height of the tree under ``node`` (a leaf has depth 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def start(node: Expr) -> int:
    """Offset of the leftmost character of ``node`` (its operator position for prefixes)."""
    while True:
        if isinstance(node, Index):
            node = node.target
        elif isinstance(node, Arithmetic):
            node = node.left
        elif isinstance(node, (Comparison, Logical)):
            node = node.operands[0]
        elif isinstance(node, (In, Like, IsNull)):
            node = node.operand
        else:
            return node.position
