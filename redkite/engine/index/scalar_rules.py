"""The rules of scalar indexes: which index type fits which field, and its parameters.

Milvus 2.6 builds four scalar index types; each accepts the field types below
(:data:`SCALAR_RULES`, from Milvus's ``indexparamcheck`` checkers and index pages):

=========  ==================================================  ============================
type       fields                                              not on
=========  ==================================================  ============================
INVERTED   BOOL, INT8..INT64, FLOAT, DOUBLE, VARCHAR, ARRAY    vectors
           (any element type), JSON (with ``json_path`` and
           ``json_cast_type``)
STL_SORT   INT8..INT64, FLOAT, DOUBLE, VARCHAR                 BOOL, ARRAY, JSON, vectors
BITMAP     BOOL, INT8..INT64, VARCHAR, ARRAY of those          the primary key, FLOAT,
                                                               DOUBLE, JSON, vectors
TRIE       VARCHAR                                             everything else
AUTOINDEX  every scalar field (JSON with ``json_path`` and     vectors take the vector
           ``json_cast_type``)                                 AUTOINDEX
=========  ==================================================  ============================

An empty index type on a scalar field means AUTOINDEX, as in Milvus. A scalar index takes
no ``metric_type``. Parameters: ``mmap.enabled`` (a bool, kept) on every type; on JSON
fields ``json_path`` (required: the field itself or a key path such as
``meta["a"]["b"]`` / ``meta["list"][0]``), ``json_cast_type`` (required: BOOL, DOUBLE,
VARCHAR, ARRAY_BOOL, ARRAY_DOUBLE, ARRAY_VARCHAR or JSON, any case) and
``json_cast_function`` (optional: STRING_TO_DOUBLE, with cast type DOUBLE). Anything else
raises :class:`ParamError` naming the field, the index type and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import ParamError
from ...types import ARRAY_ELEMENT_TYPES, FLOATING_TYPES, INTEGER_TYPES, DataType
from .registry import TRUE_STRINGS, merge_key

STRING_TYPES = frozenset({DataType.VARCHAR})
JSON_CAST_TYPES = ("BOOL", "DOUBLE", "VARCHAR", "ARRAY_BOOL", "ARRAY_DOUBLE",
                   "ARRAY_VARCHAR", "JSON")
JSON_CAST_FUNCTIONS = {"STRING_TO_DOUBLE": "DOUBLE"}  # function -> the cast type it needs
JSON_PARAMS = ("json_path", "json_cast_type", "json_cast_function")
PASSTHROUGH = ("mmap.enabled",)


@dataclass(frozen=True)
class ScalarIndexRule:
    """What one scalar index type accepts: field types, ARRAY element types, JSON."""

    name: str
    field_types: frozenset[DataType]
    element_types: frozenset[DataType] = frozenset()  # ARRAY elements; empty: no ARRAY
    json: bool = False
    primary_key: bool = True

    def describe_fields(self) -> str:
        names = [t.name for t in sorted(self.field_types)]
        if self.element_types:
            names.append("ARRAY of " + "/".join(t.name for t in sorted(self.element_types)))
        if self.json:
            names.append("JSON (with json_path and json_cast_type)")
        return ", ".join(names)


_ALL_SCALARS = frozenset({DataType.BOOL, *INTEGER_TYPES, *FLOATING_TYPES, *STRING_TYPES})
SCALAR_RULES: dict[str, ScalarIndexRule] = {rule.name: rule for rule in (
    ScalarIndexRule("INVERTED", _ALL_SCALARS, ARRAY_ELEMENT_TYPES, json=True),
    ScalarIndexRule("STL_SORT", frozenset({*INTEGER_TYPES, *FLOATING_TYPES, *STRING_TYPES})),
    ScalarIndexRule("BITMAP", frozenset({DataType.BOOL, *INTEGER_TYPES, *STRING_TYPES}),
                    frozenset({DataType.BOOL, *INTEGER_TYPES, *STRING_TYPES}),
                    primary_key=False),
    ScalarIndexRule("TRIE", STRING_TYPES),
    ScalarIndexRule("AUTOINDEX", _ALL_SCALARS, ARRAY_ELEMENT_TYPES, json=True),
)}
SCALAR_INDEX_TYPES = frozenset(SCALAR_RULES)

_IDENTIFIER = r"[A-Za-z_$][A-Za-z0-9_$]*"
_KEY = r"\[\s*(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\d+)\s*\]"
_JSON_PATH = re.compile(rf"\s*({_IDENTIFIER})\s*((?:{_KEY}\s*)*)")
_KEY_PART = re.compile(rf"{_KEY}")


def is_scalar_index_type(index_type: str | None) -> bool:
    """True for INVERTED, STL_SORT, BITMAP and TRIE (AUTOINDEX fits both kinds of field)."""
    name = str(index_type or "").upper()
    return name in SCALAR_INDEX_TYPES and name != "AUTOINDEX"


def normalize_scalar_index(field_name: str, dtype: DataType, index_type: str | None,
                           metric_type: str | None, params: Mapping[str, Any] | None, *,
                           element_type: DataType | None = None,
                           is_primary: bool = False) -> tuple[str, dict]:
    """Validate a create_index request on a scalar field; return (INDEX_TYPE, params).

    ``params`` may carry ``index_type``/``metric_type`` as pymilvus sends them (they must
    agree with the arguments). The returned params hold ``mmap.enabled`` (as a bool) and,
    for JSON fields, ``json_path``, ``json_cast_type`` (upper case) and
    ``json_cast_function`` when given. Idempotent: its own output normalizes to itself.
    """
    params = dict(params or {})
    index_type = merge_key("index_type", index_type, params.pop("index_type", None))
    metric_type = merge_key("metric_type", metric_type, params.pop("metric_type", None))
    dtype = DataType(dtype)
    rule = scalar_rule_for(index_type or "AUTOINDEX", field_name, dtype)
    if metric_type:
        raise ParamError(f"metric_type {metric_type!r} does not apply to scalar index "
                         f"{rule.name} on {dtype.name} field {field_name!r}: only vector "
                         "indexes have a metric")
    _check_field_type(rule, field_name, dtype, element_type, is_primary)
    out: dict[str, Any] = {}
    for key in PASSTHROUGH:
        if key in params:
            out[key] = _bool_param(rule, key, params.pop(key))
    if dtype == DataType.JSON:
        out.update(_json_params(rule, field_name, params))
    if params:
        allowed = list(PASSTHROUGH) + (list(JSON_PARAMS) if dtype == DataType.JSON else [])
        raise ParamError(f"index type {rule.name} on {dtype.name} field {field_name!r} does "
                         f"not take parameter(s) {sorted(params)}; parameters: {allowed}")
    return rule.name, out


def scalar_rule_for(index_type: str, field_name: str, dtype: DataType) -> ScalarIndexRule:
    """The rule of ``index_type`` (any case), or ParamError naming the types for ``dtype``."""
    rule = SCALAR_RULES.get(str(index_type).upper())
    if rule is None:
        raise ParamError(f"index type {index_type!r} does not apply to {dtype.name} field "
                         f"{field_name!r}; scalar index types for it: "
                         f"{scalar_index_types_for(dtype)}")
    return rule


def scalar_index_types_for(dtype: DataType, element_type: DataType | None = None,
                           is_primary: bool = False) -> list[str]:
    """The scalar index types a field of ``dtype`` (ARRAY: of ``element_type``) accepts."""
    return [name for name, rule in SCALAR_RULES.items()
            if _fits(rule, DataType(dtype), element_type) and (rule.primary_key or not is_primary)]


def _fits(rule: ScalarIndexRule, dtype: DataType, element_type: DataType | None) -> bool:
    if dtype == DataType.ARRAY:
        return element_type is not None and DataType(element_type) in rule.element_types
    if dtype == DataType.JSON:
        return rule.json
    return dtype in rule.field_types


def _check_field_type(rule: ScalarIndexRule, field_name: str, dtype: DataType,
                      element_type: DataType | None, is_primary: bool) -> None:
    if is_primary and not rule.primary_key:
        raise ParamError(f"index type {rule.name} cannot be built on the primary key field "
                         f"{field_name!r}; index types for it: "
                         f"{scalar_index_types_for(dtype, element_type, is_primary=True)}")
    if _fits(rule, dtype, element_type):
        return
    shown = dtype.name
    if dtype == DataType.ARRAY and element_type is not None:
        shown = f"ARRAY of {DataType(element_type).name}"
    raise ParamError(f"index type {rule.name} does not apply to {shown} field {field_name!r} "
                     f"({rule.name} takes {rule.describe_fields()}); index types for it: "
                     f"{scalar_index_types_for(dtype, element_type, is_primary)}")


def _bool_param(rule: ScalarIndexRule, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE_STRINGS:
        return TRUE_STRINGS[value.lower()]
    raise ParamError(f"invalid value {value!r} for parameter {key!r} of index type "
                     f"{rule.name}: must be true or false")


def _json_params(rule: ScalarIndexRule, field_name: str, params: dict) -> dict:
    """json_path / json_cast_type / json_cast_function of a JSON index, checked."""
    path = params.pop("json_path", None)
    cast = params.pop("json_cast_type", None)
    function = params.pop("json_cast_function", None)
    if path is None or cast is None:
        missing = [k for k, v in (("json_path", path), ("json_cast_type", cast)) if v is None]
        raise ParamError(f"index type {rule.name} on JSON field {field_name!r} requires "
                         f"{' and '.join(missing)} (json_path such as "
                         f"{field_name}[\"key\"], json_cast_type one of {list(JSON_CAST_TYPES)})")
    parse_json_path(field_name, path)
    if not isinstance(cast, str) or cast.upper() not in JSON_CAST_TYPES:
        raise ParamError(f"json_cast_type {cast!r} is not supported for index type {rule.name} "
                         f"on JSON field {field_name!r}: use one of {list(JSON_CAST_TYPES)}")
    out = {"json_path": path, "json_cast_type": cast.upper()}
    if function is not None:
        needed = JSON_CAST_FUNCTIONS.get(str(function).upper()) if isinstance(
            function, str) else None
        if needed is None:
            raise ParamError(f"json_cast_function {function!r} is not supported: use one of "
                             f"{sorted(JSON_CAST_FUNCTIONS)}")
        if out["json_cast_type"] != needed:
            raise ParamError(f"json_cast_function {function.upper()} needs json_cast_type "
                             f"{needed}, got {out['json_cast_type']}")
        out["json_cast_function"] = function.upper()
    return out


def parse_json_path(field_name: str, path: Any) -> tuple[str | int, ...]:
    """The keys of ``path`` (``meta["a"][0]`` -> ("a", 0)); it must start at ``field_name``."""
    match = _JSON_PATH.fullmatch(path) if isinstance(path, str) else None
    if match is None:
        raise ParamError(f"invalid json_path {path!r} for JSON field {field_name!r}: write "
                         f"the field name followed by keys, e.g. {field_name}[\"key\"] or "
                         f"{field_name}[\"list\"][0]")
    if match.group(1) != field_name:
        raise ParamError(f"json_path {path!r} does not refer to the indexed JSON field "
                         f"{field_name!r}")
    keys: list[str | int] = []
    for part in _KEY_PART.findall(match.group(2)):
        text = part[1:-1].strip()
        keys.append(int(text) if text.isdigit() else _unquote(text))
    return tuple(keys)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def served_type(index_type: str, dtype: DataType) -> str:
    """The index type that serves ``index_type`` on ``dtype``: AUTOINDEX picks BITMAP for
    BOOL and INVERTED otherwise (Milvus's scalar auto-index defaults, its internal HYBRID
    being an INVERTED/BITMAP mix); other types serve themselves."""
    if index_type != "AUTOINDEX":
        return index_type
    return "BITMAP" if DataType(dtype) == DataType.BOOL else "INVERTED"
