"""Vectorized evaluation of a bound plan over a column source.

The evaluator walks the plan once per call, fetching whole columns from the source
and combining them with numpy / ``pyarrow.compute`` (see :mod:`.operands`). Typed
columns converted to numpy, ARRAY columns flattened, and JSON columns decoded and
path-extracted, and VARCHAR columns analyzed for ``text_match`` / ``phrase_match``,
are memoized in ``source.cache`` so later filters over the same (immutable) source skip
that work.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..text.analyzers import get_analyzer
from ..text.match import phrase_match_rows, text_match_rows, tokenize_column
from . import plan
from .json_columns import CACHE_PREFIX, FlatLists, JsonColumns
from .operands import (BOOL, FLOAT, INT, STR, Operand, Part, Truth, arithmetic, compare,
                       in_list, is_null, kleene_and, kleene_not, kleene_or, like, mask_and,
                       negate, operand_to_truth, scalar_operand, truth_to_operand)
from .plan import ValueKind
from .scalar_index import IndexedPredicates


class ColumnSource(Protocol):
    """What the evaluator reads: a row count, columns by field name, and a memo dict.

    A source may also offer ``scalar_indexes`` (field name -> index type, and (JSON field,
    path keys) -> cast type): predicates on those fields and paths are then answered from
    sorted structures memoized in ``cache`` (see :mod:`.scalar_index`), so such a source's
    rows must not change while its cache lives.
    """

    @property
    def num_rows(self) -> int: ...

    def column(self, name: str) -> pa.Array | pa.ChunkedArray: ...

    @property
    def cache(self) -> dict: ...


class TableSource:
    """A :class:`ColumnSource` over an in-memory ``pyarrow.Table``."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.cache: dict = {}

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)


_PART_KIND = {ValueKind.INT: INT, ValueKind.FLOAT: FLOAT, ValueKind.STRING: STR,
              ValueKind.BOOL: BOOL}
_NUMPY_DTYPE = {ValueKind.INT: np.int64, ValueKind.FLOAT: np.float64, ValueKind.BOOL: bool}
_FILL_VALUE = {ValueKind.INT: 0, ValueKind.FLOAT: 0.0, ValueKind.BOOL: False}


def single_array(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks()
    return array


def typed_operand(array: pa.Array, kind: ValueKind) -> Operand:
    """A typed Arrow column as a one-part operand (nulls are absent rows)."""
    valid = None
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if kind is ValueKind.STRING:
        values = array
    else:
        if array.null_count:
            array = array.fill_null(_FILL_VALUE[kind])
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=_NUMPY_DTYPE[kind])
    return Operand((Part(_PART_KIND[kind], valid, values),), valid)


def array_flat_lists(array: pa.Array, element_kind: ValueKind) -> FlatLists:
    """An ARRAY column (Arrow list array) laid end to end."""
    valid = None
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)
    parent = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
    elements = typed_operand(array.flatten(), element_kind)
    is_list = valid
    return FlatLists(parent.astype(np.int64, copy=False), elements,
                     lengths.astype(np.int64, copy=False), is_list, valid)


def array_element(array: pa.Array, index: int, element_kind: ValueKind) -> Operand:
    """``array[index]`` per row: missing where the array is null or too short."""
    lengths = pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)
    has_element = lengths > index
    if not has_element.any():
        return Operand((), has_element)
    offsets = array.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    positions = np.where(has_element, offsets[:-1] + index, 0)
    taken = typed_operand(array.values.take(pa.array(positions)), element_kind)
    part = taken.parts[0]
    rows = mask_and(part.rows, has_element)
    return Operand((Part(part.kind, rows, part.values),), rows)


class Evaluator:
    """Evaluates plans against one column source."""

    def __init__(self, source: ColumnSource) -> None:
        self.source = source
        self.size = int(source.num_rows)
        self.cache = source.cache
        self.json = JsonColumns(source)
        indexes = getattr(source, "scalar_indexes", None)
        self.indexed = IndexedPredicates(source, indexes) if indexes else None

    def memo(self, key: tuple, compute):
        key = (CACHE_PREFIX,) + key
        found = self.cache.get(key)
        if found is None:
            found = compute()
            self.cache[key] = found
        return found

    def column(self, name: str) -> pa.Array:
        return single_array(self.source.column(name))

    def mask(self, node: plan.Node) -> np.ndarray:
        """The rows selected by predicate ``node``, as a new bool array the caller owns
        (results may otherwise alias arrays memoized in ``source.cache``)."""
        return np.array(self.truth(node).value, dtype=bool, copy=True)

    # -- values ---------------------------------------------------------------------
    def operand(self, node: plan.Node) -> Operand:
        if isinstance(node, plan.PREDICATE_TYPES):
            return truth_to_operand(self.truth(node))
        return _VALUE_HANDLERS[type(node)](self, node)

    def const_operand(self, node: plan.Const) -> Operand:
        return scalar_operand(node.value)

    def column_operand(self, node: plan.Column) -> Operand:
        if node.kind is ValueKind.ARRAY:
            lists = self.array_lists(node)
            return Operand((), lists.known)
        return self.memo(("column", node.name, node.kind),
                         lambda: typed_operand(self.column(node.name), node.kind))

    def array_lists(self, node: plan.Column) -> FlatLists:
        return self.memo(("array-lists", node.name, node.element_kind),
                         lambda: array_flat_lists(self.column(node.name), node.element_kind))

    def json_operand(self, node: plan.JsonPath) -> Operand:
        return self.json.operand(node.column, node.path)

    def element_operand(self, node: plan.ArrayElement) -> Operand:
        array = node.array
        return self.memo(("array-element", array.name, array.element_kind, node.index),
                         lambda: array_element(self.column(array.name), node.index, array.element_kind))

    def arithmetic_operand(self, node: plan.Arithmetic) -> Operand:
        return arithmetic(node.op, self.operand(node.left), self.operand(node.right), self.size)

    def negate_operand(self, node: plan.Negate) -> Operand:
        return negate(self.operand(node.operand), self.size)

    def flat_lists(self, container: plan.Node) -> FlatLists:
        if isinstance(container, plan.JsonPath):
            return self.json.flat_lists(container.column, container.path)
        return self.array_lists(container)

    def length_operand(self, node: plan.ArrayLength) -> Operand:
        lists = self.flat_lists(node.container)
        return Operand((Part(INT, lists.is_list, lists.lengths),), lists.is_list)

    # -- predicates -------------------------------------------------------------------
    def truth(self, node: plan.Node) -> Truth:
        handler = _TRUTH_HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        return operand_to_truth(self.operand(node), self.size)  # BOOL columns and constants

    def compare_truth(self, node: plan.Compare) -> Truth:
        found = self.indexed.compare(node) if self.indexed else None
        if found is not None:
            return found
        return compare(node.op, self.operand(node.left), self.operand(node.right), self.size)

    def in_truth(self, node: plan.InList) -> Truth:
        found = self.indexed.in_list(node) if self.indexed else None
        if found is not None:
            return found
        return in_list(self.operand(node.operand), node.values, self.size)

    def like_truth(self, node: plan.Like) -> Truth:
        found = self.indexed.like(node) if self.indexed else None
        if found is not None:
            return found
        return like(self.operand(node.operand), node.pattern, self.size)

    def is_null_truth(self, node: plan.IsNull) -> Truth:
        return is_null(self.operand(node.operand), self.size)

    def exists_truth(self, node: plan.Exists) -> Truth:
        present = self.json_operand(node.path).present
        value = np.ones(self.size, dtype=bool) if present is None else present
        return Truth(value, None)

    def contains_truth(self, node: plan.Contains) -> Truth:
        lists = self.flat_lists(node.container)
        if node.mode in ("any", "one"):
            return self.contains_any(lists, node.values)
        value = np.ones(self.size, dtype=bool) if lists.is_list is None else lists.is_list.copy()
        for candidate in node.values:
            value &= self.contains_any(lists, (candidate,)).value
        return Truth(value if lists.known is None else value & lists.known, lists.known)

    def contains_any(self, lists: FlatLists, values: tuple) -> Truth:
        matched = in_list(lists.elements, values, len(lists.parent)).value
        rows = np.zeros(self.size, dtype=bool)
        rows[lists.parent[matched]] = True
        return Truth(rows, lists.known)

    def tokenized(self, column: str, analyzer_key: str):
        """The column analyzed once per source (see :mod:`redkite.engine.text.match`)."""
        analyzer = get_analyzer(analyzer_key)
        return self.memo(("text-tokens", column, analyzer_key),
                         lambda: tokenize_column(self.column(column), analyzer))

    def query_tokens(self, query: str, analyzer_key: str):
        return self.memo(("text-query", query, analyzer_key),
                         lambda: get_analyzer(analyzer_key).analyze([query]))

    def text_match_truth(self, node: plan.TextMatch) -> Truth:
        column = self.tokenized(node.column, node.analyzer)
        rows = text_match_rows(column, self.query_tokens(node.query, node.analyzer))
        return Truth(rows, column.valid)

    def phrase_match_truth(self, node: plan.PhraseMatch) -> Truth:
        column = self.tokenized(node.column, node.analyzer)
        rows = phrase_match_rows(column, self.query_tokens(node.query, node.analyzer), node.slop)
        return Truth(rows, column.valid)

    def and_truth(self, node: plan.And) -> Truth:
        operands = list(node.operands)
        truths = self.indexed_ranges(operands) if self.indexed else []
        return kleene_and(truths + [self.truth(operand) for operand in operands])

    def indexed_ranges(self, operands: list[plan.Node]) -> list[Truth]:
        """Range comparisons on one indexed field (or JSON path), answered as one interval
        each; the operands answered are removed from ``operands``."""
        groups: dict[tuple, list[plan.Node]] = {}
        for operand in operands:
            key = self.indexed.range_key(operand)
            if key is not None:
                groups.setdefault(key, []).append(operand)
        truths = []
        for members in groups.values():
            truth = self.indexed.ranges(members) if len(members) > 1 else None
            if truth is not None:
                truths.append(truth)
                for member in members:
                    operands.remove(member)
        return truths

    def or_truth(self, node: plan.Or) -> Truth:
        return kleene_or([self.truth(operand) for operand in node.operands])

    def not_truth(self, node: plan.Not) -> Truth:
        return kleene_not(self.truth(node.operand))


_VALUE_HANDLERS = {
    plan.Const: Evaluator.const_operand, plan.Column: Evaluator.column_operand,
    plan.JsonPath: Evaluator.json_operand, plan.ArrayElement: Evaluator.element_operand,
    plan.Arithmetic: Evaluator.arithmetic_operand, plan.Negate: Evaluator.negate_operand,
    plan.ArrayLength: Evaluator.length_operand,
}
_TRUTH_HANDLERS = {
    plan.Compare: Evaluator.compare_truth, plan.InList: Evaluator.in_truth,
    plan.Like: Evaluator.like_truth, plan.IsNull: Evaluator.is_null_truth,
    plan.Exists: Evaluator.exists_truth, plan.Contains: Evaluator.contains_truth,
    plan.TextMatch: Evaluator.text_match_truth, plan.PhraseMatch: Evaluator.phrase_match_truth,
    plan.And: Evaluator.and_truth, plan.Or: Evaluator.or_truth, plan.Not: Evaluator.not_truth,
}
