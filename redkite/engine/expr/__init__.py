"""Milvus boolean filter expressions: parse, bind to a schema, evaluate column-at-a-time.

Usage::

    compiled = compile_filter('age > {a} and name like "x%"', fields, "$meta", {"a": 3})
    mask = compiled.evaluate(source)       # numpy bool array, one entry per row
    compiled.referenced_fields             # frozenset of field names used

Pipeline: :mod:`.tokens` -> :mod:`.parser` (Pratt parser, memoized per text) ->
:mod:`.ast` -> :mod:`.binder` (names, types, templates, constant folding) -> :mod:`.plan`
-> :mod:`.evaluate` (numpy / pyarrow.compute over whole columns; JSON decoding and
path extraction memoized in ``source.cache``). Every error is a
:class:`redkite.errors.FilterSyntaxError` with a caret under the culprit.

Semantics (checked against milvus-lite 3.2.2 through pymilvus; see the notes below):

* Three-valued logic as in SQL. A comparison, arithmetic, ``in``, ``like`` or array
  function whose operand is null (a null field, a missing JSON key, a JSON ``null``,
  an ARRAY index past the end) is *unknown*; ``not unknown`` is unknown;
  ``unknown and false`` is false, ``unknown or true`` is true; unknown rows are not
  selected. So ``age != 30``, ``not (age > 20)``, ``age not in [..]`` and
  ``not array_contains(arr, 1)`` all exclude rows where ``age`` / ``arr`` is null.
  milvus-lite agrees for comparisons, ``like``, ``!=``, ``not (..)`` of comparisons and
  Kleene ``and``/``or`` (``not (age > 20 and id == 3)`` keeps the null row); it differs
  for ``not in``, ``not array_contains``/``not json_contains`` (lite keeps null rows
  and rows whose JSON key is missing, as its membership tests return false rather
  than unknown) and ``array_length(arr) == 0`` (lite counts a null array as length 0).
  We keep one rule for every operator, which is also what Milvus's C++ engine does for
  nullable fields (``not`` clears rows whose field is null).
* ``is null`` / ``is not null`` are always true or false: true for a null field, a
  missing key or a JSON ``null`` (lite: ``meta["b"] is null`` true for ``"b": null``).
  ``exists meta["k"]`` is ``meta["k"] is not null``. Field names are case-sensitive;
  keywords and function names are not.
* JSON values are typed per row. ``==`` between different types is false and ``!=``
  true (lite: ``meta["a"] != 1`` selects a row holding ``"1"``); ordering different
  types is unknown (lite: ``not (meta["a"] < 2)`` drops the ``"1"`` row); ``like`` on a
  non-string is false. Booleans are not numbers: ``meta["a"] == 1`` does not select
  ``true`` (lite does, a Python ``True == 1`` artefact we do not copy).
* Numbers compare exactly: int64 against float64 without rounding
  (``age == 9007199254740993`` is exact, as in lite); literals compared with FLOAT
  (float32) fields are first rounded to float32, as Milvus casts them. ``/`` is true
  division, ``%`` truncates like C, ``**`` is float64; division or ``%`` by zero
  makes the row unknown; int64 arithmetic wraps.
* ``text_match(field, 'words')`` selects rows holding ANY analyzed token of the query
  and ``phrase_match(field, 'words', slop)`` rows holding them in order, each within
  ``slop`` (default 0) extra positions of the previous one; the field must be a VARCHAR
  with ``enable_match=True`` and is analyzed with its ``analyzer_params``
  (:mod:`redkite.engine.text`). Null rows are unknown. lite supports ``text_match`` only,
  always with its own ``\\w+`` analyzer (so ``foo_bar`` is one token there, two here
  as in Milvus), and has no ``phrase_match``.
* Supported beyond lite: ``%``, ``**``, chained ranges ``1 < x <= 5``, ``in`` on JSON
  values, ``json_contains(x, [1, 2])`` (a nested list as the element looked for).
  Like lite, list literals are only allowed after ``in`` and as function arguments,
  negative indexes and ``exists`` on a whole JSON field are errors, and a bare JSON
  value is not a boolean filter (compare it: ``meta["ok"] == true``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from redkite.errors import FilterSyntaxError, MilvusException
from redkite.types import DataType

from ..text import params_key
from . import plan
from .binder import Binder
from .evaluate import ColumnSource, Evaluator, TableSource
from .parser import parse
from .templates import UnhashableParams, freeze_params

__all__ = ["compile_filter", "CompiledFilter", "FieldInfo", "ColumnSource", "TableSource"]

_COMPILED_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """The schema facts the filter compiler needs about one field."""
    name: str
    dtype: DataType
    element_type: DataType | None = None
    nullable: bool = False
    is_primary: bool = False
    enable_match: bool = False        # VARCHAR with a text index: text_match / phrase_match
    analyzer_params: str | None = None  # canonical JSON (text.params_key); None: standard


@dataclass(frozen=True, eq=False)
class CompiledFilter:
    """A parsed, bound and type-checked filter, ready to evaluate on any column source."""
    text: str
    plan: plan.Node
    referenced_fields: frozenset[str]

    @property
    def constant(self) -> bool | None:
        """True / False when the filter selects every / no row regardless of data."""
        return bool(self.plan.value) if isinstance(self.plan, plan.Const) else None

    def evaluate(self, source: ColumnSource) -> np.ndarray:
        """Bool mask of the rows of ``source`` that satisfy the filter."""
        size = int(source.num_rows)
        if isinstance(self.plan, plan.Const):
            return np.full(size, bool(self.plan.value))
        try:
            return Evaluator(source).mask(self.plan)
        except MilvusException:
            raise
        except Exception as exc:  # a bug: report it as a Milvus error, never a raw one
            raise MilvusException(message=f"internal error evaluating filter "
                                          f"{self.text!r}: {exc!r}") from exc


def _dtype(value) -> DataType | None:
    if value is None:
        return None
    try:
        return DataType(value)
    except ValueError:
        return DataType.UNKNOWN


def _flag(value) -> bool:
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def _text_options(field) -> tuple[bool, str | None]:
    """(enable_match, analyzer key) of a FieldInfo or of a schema field's params."""
    params = getattr(field, "params", None)
    if isinstance(params, Mapping):
        enable_match = _flag(params.get("enable_match", False))
        analyzer = params.get("analyzer_params")
    else:
        enable_match = _flag(getattr(field, "enable_match", False))
        analyzer = getattr(field, "analyzer_params", None)
    if not enable_match:
        return False, None
    return True, params_key(analyzer)


def _schema_key(fields) -> tuple:
    """A hashable snapshot of the schema: (lookup name, FieldInfo) pairs."""
    items = fields.items() if isinstance(fields, Mapping) else ((f.name, f) for f in fields)
    return tuple(
        (str(key), FieldInfo(str(field.name), _dtype(field.dtype),
                             _dtype(getattr(field, "element_type", None)),
                             bool(getattr(field, "nullable", False)),
                             bool(getattr(field, "is_primary", False)),
                             *_text_options(field)))
        for key, field in items)


_compiled_cache: OrderedDict = OrderedDict()
_compiled_cache_lock = threading.Lock()


def _compile(text: str, schema: tuple, dynamic_field: str | None, params) -> CompiledFilter:
    tree = parse(text)
    binder = Binder(text, dict(schema), dynamic_field, params)
    bound = binder.bind_filter(tree)
    return CompiledFilter(text, bound, frozenset(binder.referenced))


def compile_filter(text: str, fields: Mapping[str, object], dynamic_field: str | None = None,
                   params: Mapping | None = None) -> CompiledFilter:
    """Parse and bind ``text`` against ``fields``; raises FilterSyntaxError.

    ``fields`` maps field names to objects with ``name``, ``dtype``, ``element_type``,
    ``nullable`` and ``is_primary``, and either ``params`` (a schema field's dict, read
    for ``enable_match`` / ``analyzer_params``) or those two as attributes. ``dynamic_field`` names the hidden JSON column of
    dynamic fields (``"$meta"``) or is None. ``params`` fills ``{name}`` placeholders.
    Results are cached by (text, schema, dynamic field, params).
    """
    if not isinstance(text, str):
        raise FilterSyntaxError(f"invalid filter: expected a string, got {type(text).__name__}")
    if params is not None and not isinstance(params, Mapping):
        raise FilterSyntaxError(f"invalid filter: template parameters must be a mapping of names "
                                f"to values, got {type(params).__name__}")
    schema = _schema_key(fields)
    try:
        key = (text, schema, dynamic_field, freeze_params(params))
    except UnhashableParams:
        key = None
    if key is not None:
        with _compiled_cache_lock:
            cached = _compiled_cache.get(key)
            if cached is not None:
                _compiled_cache.move_to_end(key)
                return cached
    try:
        compiled = _compile(text, schema, dynamic_field, params)
    except MilvusException:
        raise
    except Exception as exc:  # a bug: never let a raw exception reach the user
        raise FilterSyntaxError(f"invalid filter: internal error while compiling "
                                f"{text!r}: {exc!r}") from exc
    if key is not None:
        with _compiled_cache_lock:
            _compiled_cache[key] = compiled
            while len(_compiled_cache) > _COMPILED_CACHE_SIZE:
                _compiled_cache.popitem(last=False)
    return compiled
