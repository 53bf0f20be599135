"""Bound, type-checked filter plans: what the binder produces and the evaluator runs.

Every node has a static ``kind`` (:class:`ValueKind`). Predicates (comparisons,
``in``, ``like``, ``is null``, ``exists``, array functions, ``text_match`` /
``phrase_match``, ``and``/``or``/``not``)
have kind BOOL; so do BOOL columns and boolean constants, which may also be used as
predicates. JSON values (JSON fields, dynamic-field keys) have kind JSON: their type
is only known per row at evaluation time.

Literal values inside a plan are plain Python ``int``, ``float``, ``str``, ``bool``
and, for list literals, tuples of those (nested tuples for JSON list values).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Union

from redkite.types import DataType


class ValueKind(Enum):
    INT = "integer"
    FLOAT = "float"
    STRING = "string"
    BOOL = "boolean"
    JSON = "JSON"
    ARRAY = "ARRAY"


NUMERIC_KINDS = frozenset({ValueKind.INT, ValueKind.FLOAT})

KIND_OF_DTYPE = {
    DataType.BOOL: ValueKind.BOOL,
    DataType.INT8: ValueKind.INT, DataType.INT16: ValueKind.INT,
    DataType.INT32: ValueKind.INT, DataType.INT64: ValueKind.INT,
    DataType.FLOAT: ValueKind.FLOAT, DataType.DOUBLE: ValueKind.FLOAT,
    DataType.VARCHAR: ValueKind.STRING, DataType.STRING: ValueKind.STRING,
    DataType.JSON: ValueKind.JSON, DataType.ARRAY: ValueKind.ARRAY,
}


def kind_of_value(value: object) -> ValueKind:
    """Static kind of a literal value."""
    if isinstance(value, bool):
        return ValueKind.BOOL
    if isinstance(value, int):
        return ValueKind.INT
    if isinstance(value, float):
        return ValueKind.FLOAT
    if isinstance(value, str):
        return ValueKind.STRING
    return ValueKind.ARRAY  # a tuple (list literal)


# -- values ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Const:
    value: object

    @property
    def kind(self) -> ValueKind:
        return kind_of_value(self.value)


@dataclass(frozen=True, slots=True)
class Column:
    """A typed scalar or ARRAY field (JSON fields are :class:`JsonPath` with no keys)."""
    name: str
    dtype: DataType
    kind: ValueKind
    element_kind: ValueKind | None = None   # for ARRAY
    float32: bool = False                   # FLOAT field, or ARRAY of FLOAT


@dataclass(frozen=True, slots=True)
class JsonPath:
    """``column[key][key]...``; an empty path is the whole JSON value of the row."""
    column: str
    path: tuple[str | int, ...]
    kind: ClassVar[ValueKind] = ValueKind.JSON


@dataclass(frozen=True, slots=True)
class ArrayElement:
    """``arr[index]`` of an ARRAY field: missing when the array is null or too short."""
    array: Column
    index: int

    @property
    def kind(self) -> ValueKind:
        return self.array.element_kind  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: str          # + - * / % **
    left: "Value"
    right: "Value"
    kind: ValueKind  # INT, FLOAT, or JSON when a JSON operand decides per row


@dataclass(frozen=True, slots=True)
class Negate:
    operand: "Value"
    kind: ValueKind


@dataclass(frozen=True, slots=True)
class ArrayLength:
    """``array_length(container)``: missing for null arrays and non-list JSON values."""
    container: "Value"
    kind: ClassVar[ValueKind] = ValueKind.INT


# -- predicates --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Compare:
    op: str          # == != < <= > >=
    left: "Node"
    right: "Node"
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class InList:
    operand: "Node"
    values: tuple
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class Like:
    operand: "Value"
    pattern: str     # SQL LIKE pattern: % any run, _ one character, \ escapes
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class IsNull:
    operand: "Node"
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class Exists:
    path: JsonPath
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class Contains:
    """array_contains / json_contains (``mode`` "one"), ``_all`` ("all"), ``_any`` ("any")."""
    mode: str
    container: "Value"
    values: tuple
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class TextMatch:
    """``text_match(field, query)``: rows holding any analyzed token of ``query``."""
    column: str
    query: str
    analyzer: str    # canonical JSON analyzer_params of the field
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """``phrase_match(field, query, slop)``: the query's tokens in order within ``slop``."""
    column: str
    query: str
    slop: int
    analyzer: str
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple["Node", ...]
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple["Node", ...]
    kind: ClassVar[ValueKind] = ValueKind.BOOL


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Node"
    kind: ClassVar[ValueKind] = ValueKind.BOOL


Value = Union[Const, Column, JsonPath, ArrayElement, Arithmetic, Negate, ArrayLength]
Predicate = Union[Compare, InList, Like, IsNull, Exists, Contains, TextMatch, PhraseMatch, And,
                  Or, Not]
Node = Union[Value, Predicate]
PREDICATE_TYPES = (Compare, InList, Like, IsNull, Exists, Contains, TextMatch, PhraseMatch, And,
                   Or, Not)
