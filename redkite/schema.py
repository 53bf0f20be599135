"""Collection schemas: :class:`FieldSchema`, :class:`CollectionSchema`, :class:`Function`.

The classes mirror pymilvus's (same constructor arguments, ``add_field`` chaining,
``to_dict``/``construct_from_dict``) and carry Milvus's validation rules, applied by
:meth:`CollectionSchema.verify` before a collection is created:

* exactly one primary key, of type INT64 or VARCHAR; ``auto_id`` only on the primary key
  and only for INT64; the primary key is neither nullable nor defaulted;
* names start with a letter or ``_`` and hold letters, digits and ``_`` (at most 255);
* dense vectors need ``dim`` (a multiple of 8 for BINARY_VECTOR); SPARSE_FLOAT_VECTOR takes
  none; VARCHAR needs ``max_length`` in 1..65535; ARRAY needs an
  ``element_type`` and ``max_capacity`` in 1..4096;
* ``default_value`` matches the field's type and is not given for JSON, ARRAY or vectors;
* at least one vector field; at most 64 fields;
* ``enable_analyzer`` / ``enable_match`` / ``analyzer_params`` only on VARCHAR fields,
  ``enable_match`` and ``analyzer_params`` only with ``enable_analyzer=True``;
* functions: BM25 only, one VARCHAR input with ``enable_analyzer=True`` and one
  SPARSE_FLOAT_VECTOR output that is not a key field and not the output of another
  function; output fields are marked ``is_function_output`` (values computed, never
  inserted). The analyzer itself is checked by
  :func:`redkite.engine.text.validate_schema_analyzers`.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ParamError, PrimaryKeyException, AutoIDException
from .types import (
    ARRAY_ELEMENT_TYPES, FLOATING_TYPES, INT_RANGES, INTEGER_TYPES, STORABLE_SCALAR_TYPES,
    STORABLE_VECTOR_TYPES, VECTOR_TYPES, DataType, FunctionType,
)

DYNAMIC_FIELD = "$meta"
MAX_NAME_LENGTH = 255
MAX_VARCHAR_LENGTH = 65535
MAX_ARRAY_CAPACITY = 4096
MAX_DIM = 32768
MAX_BINARY_DIM = MAX_DIM * 8
MAX_FIELDS = 64
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE_PARAM_KEYS = ("dim", "max_length", "max_capacity")
_TEXT_PARAM_KEYS = ("enable_analyzer", "enable_match", "analyzer_params", "multi_analyzer_params")


def validate_name(name: Any, what: str = "collection") -> str:
    """Return ``name`` if it follows Milvus's naming rules, else raise ParamError."""
    if not isinstance(name, str) or not name:
        raise ParamError(f"the {what} name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise ParamError(f"the length of a {what} name must be at most {MAX_NAME_LENGTH} "
                         f"characters, got {len(name)}: {name[:40]!r}...")
    if not _NAME_RE.match(name):
        raise ParamError(f"invalid {what} name {name!r}: the first character must be a letter "
                         "or an underscore, and the name may only contain letters, digits "
                         "and underscores")
    return name


def _coerce_dtype(dtype: Any, what: str) -> DataType:
    try:
        return DataType(int(dtype))
    except (TypeError, ValueError):
        raise ParamError(f"{what}: unknown data type {dtype!r}") from None


class FieldSchema:
    """One field of a collection schema."""

    def __init__(self, name: str, dtype: DataType, description: str = "", **kwargs: Any) -> None:
        self.name = name
        self.dtype = _coerce_dtype(dtype, f"field {name!r}")
        self.description = description
        self.is_primary = bool(kwargs.pop("is_primary", False))
        self.auto_id = bool(kwargs.pop("auto_id", False))
        self.nullable = bool(kwargs.pop("nullable", False))
        self.is_partition_key = bool(kwargs.pop("is_partition_key", False))
        self.is_clustering_key = bool(kwargs.pop("is_clustering_key", False))
        self.is_dynamic = bool(kwargs.pop("is_dynamic", False))
        self.is_function_output = bool(kwargs.pop("is_function_output", False))
        element_type = kwargs.pop("element_type", None)
        self.element_type = (None if element_type is None
                             else _coerce_dtype(element_type, f"field {name!r} element_type"))
        self._has_default = "default_value" in kwargs
        self.default_value = kwargs.pop("default_value", None)
        self.field_id = int(kwargs.pop("field_id", 0))
        self.params: dict[str, Any] = {}
        for key in _TYPE_PARAM_KEYS:
            if key in kwargs:
                self.params[key] = kwargs.pop(key)
        extra_params = kwargs.pop("params", None) or {}
        if not isinstance(extra_params, dict):
            raise ParamError(f"field {name!r}: params must be a dict, got {extra_params!r}")
        self.params.update(extra_params)
        for key in ("enable_analyzer", "enable_match", "analyzer_params", "multi_analyzer_params",
                    "mmap_enabled"):
            if key in kwargs:
                self.params[key] = kwargs.pop(key)
        if kwargs:
            raise ParamError(f"field {name!r}: unknown argument(s) {sorted(kwargs)}")

    # Type parameters read like attributes, as in pymilvus.
    @property
    def dim(self) -> int | None:
        return self.params.get("dim")

    @property
    def max_length(self) -> int | None:
        return self.params.get("max_length")

    @property
    def max_capacity(self) -> int | None:
        return self.params.get("max_capacity")

    @property
    def has_default(self) -> bool:
        return self._has_default and self.default_value is not None

    @property
    def is_vector(self) -> bool:
        return self.dtype in VECTOR_TYPES

    def to_dict(self) -> dict[str, Any]:
        """The field as ``describe_collection`` shows it (pymilvus's layout)."""
        out: dict[str, Any] = {"field_id": self.field_id, "name": self.name,
                               "description": self.description, "type": self.dtype,
                               "params": dict(self.params)}
        if self.has_default:
            out["default_value"] = self.default_value
        if self.element_type is not None:
            out["element_type"] = self.element_type
        for flag in ("is_partition_key", "is_dynamic", "auto_id", "nullable", "is_primary",
                     "is_clustering_key", "is_function_output"):
            if getattr(self, flag):
                out[flag] = True
        return out

    @classmethod
    def construct_from_dict(cls, raw: dict[str, Any]) -> FieldSchema:
        kwargs = {k: v for k, v in raw.items()
                  if k not in ("name", "type", "description", "params")}
        dtype = raw.get("type", raw.get("dtype"))
        return cls(raw["name"], dtype, raw.get("description", ""),
                   params=dict(raw.get("params") or {}), **kwargs)

    def verify(self) -> None:
        """Check this field on its own (name, type parameters, flags, default)."""
        validate_name(self.name, "field")
        self._verify_text_params()
        if self.dtype not in STORABLE_SCALAR_TYPES and self.dtype not in STORABLE_VECTOR_TYPES:
            raise ParamError(f"field {self.name!r}: data type {self.dtype.name} is not "
                             "supported by this version of redkite")
        if self.auto_id and not self.is_primary:
            raise AutoIDException(f"field {self.name!r}: auto_id can only be set on the "
                                  "primary key field")
        if self.is_vector:
            self._verify_vector()
        elif self.dtype == DataType.VARCHAR:
            self.params["max_length"] = _int_param(self, "max_length", 1, MAX_VARCHAR_LENGTH)
        elif self.dtype == DataType.ARRAY:
            self._verify_array()
        if self.has_default:
            self.default_value = _check_default(self)

    def _verify_text_params(self) -> None:
        """enable_analyzer / enable_match / analyzer_params: VARCHAR only, normalized to
        bools and a dict (the analyzer itself is checked by the engine's text module)."""
        present = [key for key in _TEXT_PARAM_KEYS if key in self.params]
        if not present:
            return
        if self.dtype != DataType.VARCHAR:
            raise ParamError(f"field {self.name!r}: {present[0]} is only supported on VARCHAR "
                             f"fields, not {self.dtype.name}")
        if "multi_analyzer_params" in self.params:
            raise ParamError(f"field {self.name!r}: multi_analyzer_params is not supported by "
                             "this version of redkite")
        for key in ("enable_analyzer", "enable_match"):
            if key in self.params:
                self.params[key] = _bool_param(self, key)
        if "analyzer_params" in self.params:
            self.params["analyzer_params"] = _analyzer_params(self)
            if not self.params.get("enable_analyzer"):
                raise ParamError(f"field {self.name!r}: analyzer_params needs enable_analyzer=True")
        if self.params.get("enable_match") and not self.params.get("enable_analyzer"):
            raise ParamError(f"field {self.name!r}: enable_match=True needs enable_analyzer=True")

    def _verify_vector(self) -> None:
        if self.dtype == DataType.SPARSE_FLOAT_VECTOR:
            if "dim" in self.params:
                raise ParamError(f"field {self.name!r}: dim should not be specified for a "
                                 "SPARSE_FLOAT_VECTOR field")
        elif self.dtype == DataType.BINARY_VECTOR:
            self.params["dim"] = _int_param(self, "dim", 8, MAX_BINARY_DIM)
            if self.params["dim"] % 8:
                raise ParamError(f"field {self.name!r}: the dim of a BINARY_VECTOR field must "
                                 f"be a multiple of 8, got {self.params['dim']}")
        else:
            self.params["dim"] = _int_param(self, "dim", 1, MAX_DIM)
        if self.nullable:
            raise ParamError(f"field {self.name!r}: nullable vector fields are not supported")
        if self.has_default:
            raise ParamError(f"field {self.name!r}: vector fields cannot have a default value")

    def _verify_array(self) -> None:
        if self.element_type is None:
            raise ParamError(f"field {self.name!r}: an ARRAY field needs element_type")
        if self.element_type not in ARRAY_ELEMENT_TYPES:
            raise ParamError(f"field {self.name!r}: element_type {self.element_type.name} is "
                             "not supported in an ARRAY (use BOOL, INT8..INT64, FLOAT, DOUBLE "
                             "or VARCHAR)")
        self.params["max_capacity"] = _int_param(self, "max_capacity", 1, MAX_ARRAY_CAPACITY)
        if self.element_type == DataType.VARCHAR:
            self.params["max_length"] = _int_param(self, "max_length", 1, MAX_VARCHAR_LENGTH)

    def __repr__(self) -> str:
        return f"FieldSchema({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSchema) and self.to_dict() == other.to_dict()


def _int_param(fs: FieldSchema, key: str, low: int, high: int) -> int:
    value = fs.params.get(key)
    if value is None:
        raise ParamError(f"field {fs.name!r} of type {fs.dtype.name} needs the type "
                         f"parameter {key!r}")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise ParamError(f"field {fs.name!r}: {key} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ParamError(f"field {fs.name!r}: {key} must be in [{low}, {high}], got {value!r}")
    return number


def _bool_param(fs: FieldSchema, key: str) -> bool:
    value = fs.params[key]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ParamError(f"field {fs.name!r}: {key} must be True or False, got {value!r}")
    return value


def _analyzer_params(fs: FieldSchema) -> dict:
    value = fs.params["analyzer_params"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ParamError(f"field {fs.name!r}: analyzer_params is not valid JSON: "
                             f"{value[:80]!r}") from None
    if not isinstance(value, dict):
        raise ParamError(f"field {fs.name!r}: analyzer_params must be a dict, got {value!r}")
    return value


def _check_default(fs: FieldSchema) -> Any:
    value = fs.default_value
    if fs.is_primary:
        raise ParamError(f"field {fs.name!r}: the primary key cannot have a default value")
    if fs.dtype in (DataType.JSON, DataType.ARRAY):
        raise ParamError(f"field {fs.name!r}: {fs.dtype.name} fields cannot have a default value")
    bad = ParamError(f"field {fs.name!r}: default value {value!r} does not match type "
                     f"{fs.dtype.name}")
    if fs.dtype == DataType.BOOL:
        if not isinstance(value, bool):
            raise bad
    elif fs.dtype in INTEGER_TYPES:
        low, high = INT_RANGES[fs.dtype]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad
    elif fs.dtype in FLOATING_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
    elif fs.dtype == DataType.VARCHAR:
        if not isinstance(value, str) or len(value.encode()) > fs.params["max_length"]:
            raise bad
    return value


@dataclass
class Function:
    """A schema function: a BM25 function fills a SPARSE_FLOAT_VECTOR output field from a
    VARCHAR input field's analyzed text (see :meth:`CollectionSchema.verify`)."""

    name: str
    function_type: FunctionType
    input_field_names: list[str] | str = field(default_factory=list)
    output_field_names: list[str] | str | None = None
    description: str = ""
    params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ParamError(f"the name of a function must be a string, got {self.name!r}")
        if not isinstance(self.description, str):
            raise ParamError(f"function {self.name!r}: description must be a string")
        try:
            self.function_type = FunctionType(int(self.function_type))
        except (TypeError, ValueError):
            raise ParamError(f"function {self.name!r}: unknown function type "
                             f"{self.function_type!r}") from None
        self.input_field_names = _name_list(self, self.input_field_names, "input")
        self.output_field_names = _name_list(self, self.output_field_names or [], "output")
        if set(self.input_field_names) & set(self.output_field_names):
            raise ParamError(f"function {self.name!r}: input and output field names must be "
                             "different")
        if self.params is not None and not isinstance(self.params, dict):
            raise ParamError(f"function {self.name!r}: params must be a dict, got {self.params!r}")
        self.params = dict(self.params or {})

    @property
    def type(self) -> FunctionType:
        return self.function_type

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "type": self.function_type,
                "input_field_names": list(self.input_field_names),
                "output_field_names": list(self.output_field_names), "params": dict(self.params)}


def _name_list(function: Function, names: Any, role: str) -> list[str]:
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ParamError(f"function {function.name!r}: {role} field names must be a string or "
                         f"a list of strings, got {names!r}")
    if len(set(names)) != len(names):
        raise ParamError(f"function {function.name!r}: duplicate {role} field names {list(names)}")
    return list(names)


def _verify_bm25(function: Function, fields: dict[str, FieldSchema]) -> None:
    """Milvus's rules for a BM25 function (names already resolved to fields)."""
    where = f"BM25 function {function.name!r}"
    if len(function.input_field_names) != 1 or len(function.output_field_names) != 1:
        raise ParamError(f"{where} must have exactly 1 input and 1 output field")
    if function.params:
        raise ParamError(f"{where}: unknown params {sorted(function.params)} (a BM25 function "
                         "takes none; set analyzer_params on the input field)")
    source = fields[function.input_field_names[0]]
    target = fields[function.output_field_names[0]]
    if source.dtype != DataType.VARCHAR:
        raise ParamError(f"{where}: input field {source.name!r} must be VARCHAR, "
                         f"not {source.dtype.name}")
    if source.params.get("enable_analyzer") is not True:
        raise ParamError(f"{where}: input field {source.name!r} needs enable_analyzer=True")
    if target.dtype != DataType.SPARSE_FLOAT_VECTOR:
        raise ParamError(f"{where}: output field {target.name!r} must be SPARSE_FLOAT_VECTOR, "
                         f"not {target.dtype.name}")


class CollectionSchema:
    """The fields of a collection plus collection-level flags."""

    def __init__(self, fields: list[FieldSchema] | None = None, description: str = "",
                 functions: list[Function] | None = None, **kwargs: Any) -> None:
        self.description = description
        self.auto_id = bool(kwargs.pop("auto_id", False))
        self.enable_dynamic_field = bool(kwargs.pop("enable_dynamic_field", False))
        self._primary_field_name = kwargs.pop("primary_field", None)
        self._partition_key_field_name = kwargs.pop("partition_key_field", None)
        kwargs.pop("check_fields", None)
        kwargs.pop("enable_namespace", None)
        if kwargs:
            raise ParamError(f"create_schema: unknown argument(s) {sorted(kwargs)}")
        self._fields: list[FieldSchema] = []
        self._functions: list[Function] = list(functions or [])
        for fs in fields or []:
            if not isinstance(fs, FieldSchema):
                raise ParamError(f"schema fields must be FieldSchema objects, got {fs!r}")
            self._fields.append(fs)

    @property
    def fields(self) -> list[FieldSchema]:
        return self._fields

    @property
    def functions(self) -> list[Function]:
        return self._functions

    @property
    def primary_field(self) -> FieldSchema | None:
        return next((f for f in self._fields if f.is_primary), None)

    def add_field(self, field_name: str, datatype: DataType, **kwargs: Any) -> CollectionSchema:
        fs = FieldSchema(field_name, datatype, **kwargs)
        if fs.is_primary and self.auto_id and "auto_id" not in kwargs:
            fs.auto_id = True
        self._fields.append(fs)
        return self

    def add_function(self, function: Function) -> CollectionSchema:
        if not isinstance(function, Function):
            raise ParamError(f"add_function expects a Function, got {function!r}")
        self._functions.append(function)
        return self

    def field(self, name: str) -> FieldSchema | None:
        return next((f for f in self._fields if f.name == name), None)

    def verify(self) -> None:
        """Apply Milvus's schema rules; raise ParamError naming the first violation."""
        if not self._fields:
            raise ParamError("the schema has no fields")
        if len(self._fields) > MAX_FIELDS:
            raise ParamError(f"a collection has at most {MAX_FIELDS} fields, "
                             f"got {len(self._fields)}")
        if self._primary_field_name is not None:
            for fs in self._fields:
                fs.is_primary = fs.name == self._primary_field_name
        names: set[str] = set()
        for fs in self._fields:
            if fs.name in names:
                raise ParamError(f"duplicate field name {fs.name!r} in the schema")
            names.add(fs.name)
            if fs.is_dynamic:
                raise ParamError(f"field {fs.name!r}: is_dynamic is set by "
                                 "enable_dynamic_field, not per field")
            fs.verify()
        self._verify_primary()
        if not any(f.is_vector for f in self._fields):
            raise ParamError("the schema needs at least one vector field")
        self._verify_functions()
        for index, fs in enumerate(self._fields):
            fs.field_id = 100 + index

    def _verify_functions(self) -> None:
        """Function names, fields and types; marks output fields ``is_function_output``."""
        fields = {f.name: f for f in self._fields}
        seen_names: set[str] = set()
        outputs: set[str] = set()
        for function in self._functions:
            validate_name(function.name, "function")
            if function.name in seen_names:
                raise ParamError(f"duplicate function name {function.name!r} in the schema")
            seen_names.add(function.name)
            if function.function_type != FunctionType.BM25:
                raise ParamError(f"function {function.name!r}: function type "
                                 f"{function.function_type.name} is not supported by this "
                                 "version of redkite (only BM25)")
            for name in function.input_field_names + function.output_field_names:
                if name not in fields:
                    role = "input" if name in function.input_field_names else "output"
                    raise ParamError(f"function {function.name!r}: {role} field {name!r} is not "
                                     "in the schema")
            for name in function.output_field_names:
                target = fields[name]
                if target.is_primary or target.is_partition_key or target.is_clustering_key:
                    raise ParamError(f"function {function.name!r}: output field {name!r} must not "
                                     "be the primary key, a partition key or a clustering key")
                if name in outputs:
                    raise ParamError(f"field {name!r} is the output of more than one function")
                outputs.add(name)
            _verify_bm25(function, fields)
        for fs in self._fields:
            fs.is_function_output = fs.name in outputs

    def describe_functions(self) -> list[dict[str, Any]]:
        """Functions as Milvus's describe_collection shows them (with ids; call after
        :meth:`verify` has numbered the fields)."""
        ids = {f.name: f.field_id for f in self._fields}
        return [{"name": fn.name, "id": 100 + index, "description": fn.description,
                 "type": fn.function_type, "params": dict(fn.params),
                 "input_field_names": list(fn.input_field_names),
                 "input_field_ids": [ids[n] for n in fn.input_field_names if n in ids],
                 "output_field_names": list(fn.output_field_names),
                 "output_field_ids": [ids[n] for n in fn.output_field_names if n in ids]}
                for index, fn in enumerate(self._functions)]

    def _verify_primary(self) -> None:
        primaries = [f for f in self._fields if f.is_primary]
        if len(primaries) != 1:
            raise PrimaryKeyException(
                f"a schema needs exactly one primary key field, got {len(primaries)}"
                + (f": {[f.name for f in primaries]}" if primaries else ""))
        pk = primaries[0]
        if pk.dtype not in (DataType.INT64, DataType.VARCHAR):
            raise PrimaryKeyException(f"primary key field {pk.name!r} must be INT64 or VARCHAR, "
                                      f"got {pk.dtype.name}")
        if pk.nullable:
            raise PrimaryKeyException(f"primary key field {pk.name!r} cannot be nullable")
        if self.auto_id:
            pk.auto_id = True
        if pk.auto_id and pk.dtype != DataType.INT64:
            raise AutoIDException(f"auto_id is only supported for an INT64 primary key, "
                                  f"field {pk.name!r} is {pk.dtype.name}")
        self.auto_id = pk.auto_id

    def to_dict(self) -> dict[str, Any]:
        return {"auto_id": self.auto_id, "description": self.description,
                "fields": [f.to_dict() for f in self._fields],
                "functions": [f.to_dict() for f in self._functions],
                "enable_dynamic_field": self.enable_dynamic_field}

    @classmethod
    def construct_from_dict(cls, raw: dict[str, Any]) -> CollectionSchema:
        fields = [FieldSchema.construct_from_dict(f) for f in raw.get("fields", [])]
        functions = [Function(f["name"], f["type"], f.get("input_field_names", []),
                              f.get("output_field_names"), f.get("description", ""),
                              f.get("params")) for f in raw.get("functions", [])]
        return cls(fields, raw.get("description", ""), functions,
                   auto_id=raw.get("auto_id", False),
                   enable_dynamic_field=raw.get("enable_dynamic_field", False))

    def copy(self) -> CollectionSchema:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return f"CollectionSchema({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CollectionSchema) and self.to_dict() == other.to_dict()


__all__ = ["FieldSchema", "CollectionSchema", "Function", "validate_name", "DYNAMIC_FIELD"]
