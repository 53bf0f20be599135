"""Binder: resolves names against the schema, type-checks, and builds the plan.

Input is the syntax tree from :mod:`.parser`; output is a :mod:`.plan` tree. The
binder

* resolves bare names: schema fields first, then (when the collection has a dynamic
  field) ``$meta["name"]``; ``$meta`` itself names the dynamic field;
* replaces template placeholders by literal nodes (see :mod:`.templates`);
* folds constant sub-expressions (``-5``, ``2 ** 10``, ``1 < 2``) and rejects
  integer literals outside int64;
* rejects ill-typed filters with a caret under the culprit: comparing a VARCHAR
  field with a number, ``like`` on an INT field, ordering booleans, array functions
  on non-arrays, unknown fields when the dynamic field is off, vector fields, ...;
* rounds numeric literals compared with FLOAT (float32) fields to float32, as
  Milvus casts the literal to the field type;
* accepts ``text_match`` / ``phrase_match`` only on VARCHAR fields with
  ``enable_match=True``, with a string query and a slop in [0, 2**32 - 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from redkite.types import DataType, INT_RANGES

from . import ast, plan
from .constants import fold_arithmetic, fold_comparison, literal_in
from .diagnostics import filter_error
from .plan import NUMERIC_KINDS, ValueKind
from .templates import substitute

INT64_MIN, INT64_MAX = INT_RANGES[DataType.INT64]
UINT32_MAX = 2**32 - 1
_ORDERING = frozenset({"<", "<=", ">", ">="})
_CONTAINS_MODES = {
    "array_contains": "one", "json_contains": "one",
    "array_contains_all": "all", "json_contains_all": "all",
    "array_contains_any": "any", "json_contains_any": "any",
}


class Binder:
    def __init__(self, text: str, fields: Mapping[str, object], dynamic_field: str | None,
                 params: Mapping | None) -> None:
        self.text = text
        self.fields = fields
        self.dynamic_field = dynamic_field
        self.params = params
        self.referenced: set[str] = set()
        self.handlers = {
            ast.Literal: self.bind_literal, ast.ListLiteral: self.bind_list_literal,
            ast.Placeholder: self.bind_placeholder, ast.Name: self.bind_name,
            ast.Index: self.bind_index, ast.Call: self.bind_call, ast.Unary: self.bind_unary,
            ast.Not: self.bind_not, ast.Arithmetic: self.bind_arithmetic,
            ast.Comparison: self.bind_comparison, ast.Logical: self.bind_logical,
            ast.In: self.bind_in, ast.Like: self.bind_like, ast.IsNull: self.bind_is_null,
            ast.Exists: self.bind_exists,
        }

    def error(self, node_or_position, problem: str):
        position = node_or_position if isinstance(node_or_position, int) else ast.start(node_or_position)
        return filter_error(self.text, position, problem)

    def bind_filter(self, node: ast.Expr) -> plan.Node:
        bound = self.bind(node)
        self.require_bool(bound, node, "the filter")
        return bound

    def bind(self, node: ast.Expr) -> plan.Node:
        return self.handlers[type(node)](node)

    def require_bool(self, bound: plan.Node, node: ast.Expr, role: str) -> None:
        if bound.kind is ValueKind.BOOL:
            return
        hint = " (compare it, e.g. == true)" if bound.kind is ValueKind.JSON else ""
        raise self.error(node, f"{role} must be a boolean expression, got {describe(bound)}{hint}")

    # -- leaves -------------------------------------------------------------------------
    def bind_literal(self, node: ast.Literal) -> plan.Const:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise self.error(node, f"integer literal {value} is out of the int64 range")
        if isinstance(value, str) and not _is_encodable(value):
            raise self.error(node, "string literal is not valid unicode (lone surrogate)")
        return plan.Const(value)

    def bind_list_literal(self, node: ast.ListLiteral) -> plan.Node:
        raise self.error(node, "a list literal is only allowed after 'in' or as a function argument")

    def bind_placeholder(self, node: ast.Placeholder) -> plan.Node:
        return self.bind(substitute(self.text, node, self.params))

    def bind_name(self, node: ast.Name) -> plan.Node:
        field = self.fields.get(node.name)
        if field is not None:
            return self.field_reference(field, node)
        dynamic = self.dynamic_field
        if dynamic is not None and node.name == dynamic:
            self.referenced.add(dynamic)
            return plan.JsonPath(dynamic, ())
        if dynamic is not None and not node.name.startswith("$"):
            self.referenced.add(dynamic)
            return plan.JsonPath(dynamic, (node.name,))
        if node.name.startswith("$") and dynamic is None:
            raise self.error(node, f"{node.name!r} is not available: the collection has no dynamic field")
        raise self.error(node, f"field {node.name!r} does not exist")

    def field_reference(self, field, node: ast.Name) -> plan.Node:
        dtype = DataType(field.dtype)
        kind = plan.KIND_OF_DTYPE.get(dtype)
        if kind is None:
            raise self.error(node, f"field {node.name!r} of type {dtype.name} cannot be used in a filter")
        self.referenced.add(field.name)
        if kind is ValueKind.JSON:
            return plan.JsonPath(field.name, ())
        if kind is ValueKind.ARRAY:
            element = DataType(field.element_type) if field.element_type is not None else None
            element_kind = plan.KIND_OF_DTYPE.get(element) if element is not None else None
            if element_kind is None or element_kind in (ValueKind.ARRAY, ValueKind.JSON):
                raise self.error(node, f"ARRAY field {node.name!r} has an unsupported element type")
            return plan.Column(field.name, dtype, kind, element_kind, element is DataType.FLOAT)
        return plan.Column(field.name, dtype, kind, None, dtype is DataType.FLOAT)

    # -- paths ------------------------------------------------------------------------
    def bind_index(self, node: ast.Index) -> plan.Node:
        target = self.bind(node.target)
        key = self.index_key(node.key)
        if isinstance(target, plan.JsonPath):
            return plan.JsonPath(target.column, target.path + (key,))
        if isinstance(target, plan.Column) and target.kind is ValueKind.ARRAY:
            if not isinstance(key, int):
                raise self.error(node.key, f"ARRAY field {target.name!r} must be indexed by an integer")
            return plan.ArrayElement(target, key)
        raise self.error(node.position, f"cannot index into {describe(target)}")

    def index_key(self, node: ast.Expr) -> str | int:
        if isinstance(node, ast.Placeholder):
            node = substitute(self.text, node, self.params)
        bound = self.bind(node) if not isinstance(node, ast.ListLiteral) else None
        value = bound.value if isinstance(bound, plan.Const) else None
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise self.error(node, "index must not be negative")
            return value
        if isinstance(value, str):
            return value
        raise self.error(node, "index must be a string key or a non-negative integer literal")

    # -- arithmetic -------------------------------------------------------------------
    def bind_unary(self, node: ast.Unary) -> plan.Node:
        operand_node = node.operand
        if isinstance(operand_node, ast.Literal) and type(operand_node.value) in (int, float):
            value = operand_node.value if node.op == "+" else -operand_node.value
            return self.bind_literal(ast.Literal(node.position, value))
        operand = self.bind(operand_node)
        self.require_number(operand, operand_node, f"operand of unary '{node.op}'")
        if isinstance(operand, plan.Const):
            value = operand.value if node.op == "+" else -operand.value
            return self.bind_literal(ast.Literal(node.position, value))
        return operand if node.op == "+" else plan.Negate(operand, operand.kind)

    def require_number(self, bound: plan.Node, node: ast.Expr, role: str) -> None:
        if bound.kind in NUMERIC_KINDS:
            return
        if isinstance(bound, plan.JsonPath) and bound.path:
            return
        raise self.error(node, f"{role} must be numeric, got {describe(bound)}")

    def bind_arithmetic(self, node: ast.Arithmetic) -> plan.Node:
        left, right = self.bind(node.left), self.bind(node.right)
        self.require_number(left, node.left, f"left operand of '{node.op}'")
        self.require_number(right, node.right, f"right operand of '{node.op}'")
        if isinstance(left, plan.Const) and isinstance(right, plan.Const):
            try:
                value = fold_arithmetic(node.op, left.value, right.value)
            except ArithmeticError as exc:
                raise self.error(node, f"cannot compute constant expression: {exc}") from None
            return self.bind_literal(ast.Literal(node.position, value))
        if ValueKind.JSON in (left.kind, right.kind):
            kind = ValueKind.JSON
        elif left.kind is right.kind is ValueKind.INT and node.op in ("+", "-", "*", "%"):
            kind = ValueKind.INT
        else:
            kind = ValueKind.FLOAT
        return plan.Arithmetic(node.op, left, right, kind)

    # -- comparisons ------------------------------------------------------------------
    def bind_comparison(self, node: ast.Comparison) -> plan.Node:
        operands = [self.bind(operand) for operand in node.operands]
        comparisons = []
        for index, op in enumerate(node.ops):
            comparisons.append(self.comparison(
                op, operands[index], operands[index + 1], node.op_positions[index]))
        return comparisons[0] if len(comparisons) == 1 else self.conjunction(comparisons)

    def comparison(self, op: str, left: plan.Node, right: plan.Node, position: int) -> plan.Node:
        self.check_comparable(op, left, right, position)
        left, right = round_for_float32(left, right), round_for_float32(right, left)
        if isinstance(left, plan.Const) and isinstance(right, plan.Const):
            return plan.Const(fold_comparison(op, left.value, right.value))
        return plan.Compare(op, left, right)

    def check_comparable(self, op: str, left: plan.Node, right: plan.Node, position: int) -> None:
        for side in (left, right):
            self.require_scalar(side, position, f"'{op}'")
        kinds = {left.kind, right.kind}
        if ValueKind.JSON in kinds:
            if op in _ORDERING and ValueKind.BOOL in kinds:
                raise self.error(position, f"cannot order booleans with '{op}'")
            return
        if kinds <= NUMERIC_KINDS or kinds == {ValueKind.STRING}:
            return
        if kinds == {ValueKind.BOOL}:
            if op in _ORDERING:
                raise self.error(position, f"cannot order booleans with '{op}'; use == or !=")
            return
        raise self.error(position, f"cannot compare {describe(left)} with {describe(right)}")

    def require_scalar(self, bound: plan.Node, position: int, role: str) -> None:
        if bound.kind is ValueKind.ARRAY:
            raise self.error(position, f"{role} cannot take {describe(bound)}; index it "
                                       "(arr[0]) or use array_contains / array_length")
        if isinstance(bound, plan.JsonPath) and not bound.path:
            raise self.error(position, f"{role} cannot take {describe(bound)} as a whole; "
                                       f"use a key, e.g. {bound.column}[\"key\"]")

    # -- logic ------------------------------------------------------------------------
    def bind_logical(self, node: ast.Logical) -> plan.Node:
        operands = []
        for operand_node in node.operands:
            bound = self.bind(operand_node)
            self.require_bool(bound, operand_node, f"operand of '{node.op}'")
            operands.append(bound)
        return self.conjunction(operands) if node.op == "and" else disjunction(operands)

    @staticmethod
    def conjunction(operands: list[plan.Node]) -> plan.Node:
        if any(isinstance(o, plan.Const) and o.value is False for o in operands):
            return plan.Const(False)
        kept = tuple(o for o in operands if not isinstance(o, plan.Const))
        if not kept:
            return plan.Const(True)
        return kept[0] if len(kept) == 1 else plan.And(kept)

    def bind_not(self, node: ast.Not) -> plan.Node:
        operand = self.bind(node.operand)
        self.require_bool(operand, node.operand, "operand of 'not'")
        if isinstance(operand, plan.Const):
            return plan.Const(not operand.value)
        return plan.Not(operand)

    # -- in / like / null -------------------------------------------------------------
    def bind_in(self, node: ast.In) -> plan.Node:
        operand = self.bind(node.operand)
        self.require_scalar(operand, node.position, "'in'")
        if operand.kind is ValueKind.BOOL and not isinstance(operand, (plan.Column, plan.ArrayElement, plan.Const)):
            raise self.error(node.operand, "the left side of 'in' must be a value, not a condition")
        values = self.list_argument(node.values, "'in'", json=operand.kind is ValueKind.JSON)
        self.check_elements(values, operand.kind, node.values, "'in'")
        if isinstance(operand, plan.Const):
            return plan.Const(literal_in(operand.value, values) != node.negated)
        if getattr(operand, "float32", False) or _is_float32_element(operand):
            values = tuple(float32_round(v) for v in values)
        result = plan.InList(operand, values)
        return plan.Not(result) if node.negated else result

    def bind_like(self, node: ast.Like) -> plan.Node:
        operand = self.bind(node.operand)
        is_json_value = isinstance(operand, plan.JsonPath) and operand.path
        if operand.kind is not ValueKind.STRING or isinstance(operand, plan.Const):
            if not is_json_value:
                raise self.error(node, f"'like' needs a VARCHAR field or a JSON value on its left, "
                                       f"got {describe(operand)}")
        pattern = self.constant(node.pattern, allow_list=False)
        if not isinstance(pattern, str):
            raise self.error(node.pattern, "the pattern of 'like' must be a string literal")
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            raise self.error(node.pattern, "the pattern of 'like' ends with a lone escape '\\'")
        result = plan.Like(operand, pattern)
        return plan.Not(result) if node.negated else result

    def bind_is_null(self, node: ast.IsNull) -> plan.Node:
        operand = self.bind(node.operand)
        if isinstance(operand, plan.Const):
            return plan.Const(node.negated)  # a literal is never null
        result = plan.IsNull(operand)
        return plan.Not(result) if node.negated else result

    def bind_exists(self, node: ast.Exists) -> plan.Node:
        operand = self.bind(node.operand)
        if not isinstance(operand, plan.JsonPath) or not operand.path:
            raise self.error(node.operand, "'exists' needs a JSON key path such as "
                                           "meta[\"key\"] or $meta[\"key\"]")
        return plan.Exists(operand)

    # -- literal arguments ------------------------------------------------------------
    def constant(self, node: ast.Expr, allow_list: bool) -> object:
        """The literal value written at ``node``: scalars, and tuples for list literals."""
        if isinstance(node, ast.Placeholder):
            node = substitute(self.text, node, self.params)
        if isinstance(node, ast.ListLiteral):
            if not allow_list:
                raise self.error(node, "a list is not allowed here")
            return tuple(self.constant(item, allow_list=True) for item in node.items)
        bound = self.bind(node)
        if not isinstance(bound, plan.Const):
            raise self.error(node, f"expected a literal value, got {describe(bound)}")
        return bound.value

    def list_argument(self, node: ast.Expr, role: str, json: bool) -> tuple:
        values = self.constant(node, allow_list=True)
        if not isinstance(values, tuple):
            raise self.error(node, f"{role} expects a list such as [1, 2]")
        if not json and any(isinstance(v, tuple) for v in values):
            raise self.error(node, f"{role} does not accept nested lists here")
        return values

    def check_elements(self, values: tuple, kind: ValueKind, node: ast.Expr, role: str) -> None:
        if kind is ValueKind.JSON:
            return
        items = node.items if isinstance(node, ast.ListLiteral) else None
        for index, value in enumerate(values):
            value_kind = plan.kind_of_value(value)
            if value_kind is kind or (value_kind in NUMERIC_KINDS and kind in NUMERIC_KINDS):
                continue
            culprit = items[index] if items is not None and len(items) == len(values) else node
            raise self.error(culprit, f"{role} cannot match {kind.value} values against "
                                   f"{value_kind.value} literal {format_literal(value)}")

    # -- functions ----------------------------------------------------------------------
    def bind_call(self, node: ast.Call) -> plan.Node:
        if node.name in ("text_match", "phrase_match"):
            return self.bind_text_call(node)
        if node.name == "array_length":
            self.require_arity(node, 1)
            return plan.ArrayLength(self.container(node, node.args[0]))
        mode = _CONTAINS_MODES.get(node.name)
        if mode is None:
            raise self.error(node, f"unknown function {node.name!r}")
        self.require_arity(node, 2)
        container = self.container(node, node.args[0])
        is_json = container.kind is ValueKind.JSON
        if mode == "one":
            values = (self.constant(node.args[1], allow_list=is_json),)
        else:
            values = self.list_argument(node.args[1], f"{node.name}()", json=is_json)
        if not is_json:
            self.check_elements(values, container.element_kind, node.args[1], f"{node.name}()")
            if container.float32:
                values = tuple(float32_round(v) for v in values)
        return plan.Contains(mode, container, values)

    def bind_text_call(self, node: ast.Call) -> plan.Node:
        """``text_match(field, 'words')`` / ``phrase_match(field, 'words'[, slop])``."""
        phrase = node.name == "phrase_match"
        if not (len(node.args) == 2 or (phrase and len(node.args) == 3)):
            expected = "2 or 3 arguments" if phrase else "2 arguments"
            raise self.error(node, f"{node.name}() takes {expected}, got {len(node.args)}")
        field = self.match_field(node)
        query = self.constant(node.args[1], allow_list=False)
        if not isinstance(query, str):
            raise self.error(node.args[1], f"the query of {node.name}() must be a string literal")
        self.referenced.add(field.name)
        analyzer = field.analyzer_params or "{}"
        if not phrase:
            return plan.TextMatch(field.name, query, analyzer)
        slop = self.constant(node.args[2], allow_list=False) if len(node.args) == 3 else 0
        if isinstance(slop, bool) or not isinstance(slop, int) or not 0 <= slop <= UINT32_MAX:
            raise self.error(node.args[2], f"the slop of phrase_match() must be an integer in "
                                           f"[0, {UINT32_MAX}], got {format_literal(slop)}")
        return plan.PhraseMatch(field.name, query, slop, analyzer)

    def match_field(self, node: ast.Call):
        """The VARCHAR field with enable_match=True named by the first argument."""
        target = node.args[0]
        field = self.fields.get(target.name) if isinstance(target, ast.Name) else None
        if field is None:
            raise self.error(target, f"the first argument of {node.name}() must be the name of "
                                     "a VARCHAR field with enable_match=True")
        dtype = DataType(field.dtype)
        if dtype not in (DataType.VARCHAR, DataType.STRING):
            raise self.error(target, f"{node.name}() needs a VARCHAR field, field "
                                     f"{target.name!r} is {dtype.name}")
        if not getattr(field, "enable_match", False):
            raise self.error(target, f"field {target.name!r} does not enable match: "
                                     f"{node.name}() needs a VARCHAR field created with "
                                     "enable_analyzer=True and enable_match=True")
        return field

    def require_arity(self, node: ast.Call, count: int) -> None:
        if len(node.args) != count:
            raise self.error(node, f"{node.name}() takes {count} argument{'s' if count > 1 else ''}, "
                                   f"got {len(node.args)}")

    def container(self, call: ast.Call, node: ast.Expr) -> plan.Node:
        bound = self.bind(node)
        if isinstance(bound, plan.JsonPath) or bound.kind is ValueKind.ARRAY:
            return bound
        raise self.error(node, f"{call.name}() needs an ARRAY field or a JSON value, got {describe(bound)}")


def disjunction(operands: list[plan.Node]) -> plan.Node:
    if any(isinstance(o, plan.Const) and o.value is True for o in operands):
        return plan.Const(True)
    kept = tuple(o for o in operands if not isinstance(o, plan.Const))
    if not kept:
        return plan.Const(False)
    return kept[0] if len(kept) == 1 else plan.Or(kept)


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def float32_round(value: object) -> object:
    """A numeric literal as Milvus sees it when compared with a float32 value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def _is_float32_element(bound: plan.Node) -> bool:
    return isinstance(bound, plan.ArrayElement) and bound.array.float32


def round_for_float32(side: plan.Node, other: plan.Node) -> plan.Node:
    """Round a numeric constant compared with a float32 column or element."""
    if not isinstance(side, plan.Const):
        return side
    if (isinstance(other, plan.Column) and other.float32) or _is_float32_element(other):
        return plan.Const(float32_round(side.value))
    return side


def format_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(format_literal(v) for v in value) + "]"
    return repr(value)


def describe(bound: plan.Node) -> str:
    """A short human description of a bound node, for error messages."""
    if isinstance(bound, plan.Const):
        return f"{plan.kind_of_value(bound.value).value} literal {format_literal(bound.value)}"
    if isinstance(bound, plan.Column):
        return f"{bound.dtype.name} field {bound.name!r}"
    if isinstance(bound, plan.JsonPath):
        if not bound.path:
            return f"JSON field {bound.column!r}"
        return "JSON value " + bound.column + "".join(f"[{format_literal(k)}]" for k in bound.path)
    if isinstance(bound, plan.ArrayElement):
        return f"element of ARRAY field {bound.array.name!r}"
    if isinstance(bound, plan.PREDICATE_TYPES):
        return "a condition"
    return f"{bound.kind.value} expression"
