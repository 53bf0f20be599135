"""Small Milvus protocol values <-> Python: key/value pairs, filter template values,
default values."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from ..errors import ParamError
from ..types import DataType
from . import common_pb2, schema_pb2


def kv_dict(pairs: Iterable[Any]) -> dict[str, str]:
    """``repeated KeyValuePair`` as a dict (a repeated key: the last one wins, as in Milvus)."""
    return {pair.key: pair.value for pair in pairs}


def kv_pairs(values: Mapping[str, Any]) -> list:
    """A dict as ``KeyValuePair``s; non-string values JSON-encoded."""
    return [common_pb2.KeyValuePair(key=str(k), value=v if isinstance(v, str) else json.dumps(v))
            for k, v in values.items()]


def template_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``map<string, TemplateValue>`` (filter templates) as Python values."""
    return {name: _template_value(value, name) for name, value in values.items()}


def _template_value(value: Any, name: str) -> Any:
    kind = value.WhichOneof("val")
    if kind is None:
        raise ParamError(f"filter template value {name!r} is empty")
    if kind == "array_val":
        return _template_array(value.array_val, name)
    if kind == "bytes_val":
        raise ParamError(f"filter template value {name!r}: bytes values are not supported")
    return getattr(value, kind)


def _template_array(array: Any, name: str) -> list:
    kind = array.WhichOneof("data")
    if kind is None:
        return []
    if kind == "array_data":
        return [_template_array(item, name) for item in array.array_data.data]
    if kind == "json_data":
        return [json.loads(item) for item in array.json_data.data]
    return list(getattr(array, kind).data)


def template_value_proto(value: Any) -> "schema_pb2.TemplateValue":
    """A Python filter-template value as a ``TemplateValue`` (for a client transport)."""
    if isinstance(value, bool):
        return schema_pb2.TemplateValue(bool_val=value)
    if isinstance(value, int):
        return schema_pb2.TemplateValue(int64_val=value)
    if isinstance(value, float):
        return schema_pb2.TemplateValue(float_val=value)
    if isinstance(value, str):
        return schema_pb2.TemplateValue(string_val=value)
    if isinstance(value, (list, tuple)):
        return schema_pb2.TemplateValue(array_val=_template_array_proto(list(value)))
    raise ParamError(f"unsupported filter template value {value!r}")


def _template_array_proto(values: list) -> "schema_pb2.TemplateArrayValue":
    kinds = set(map(type, values))
    if kinds <= {bool} and values:
        return schema_pb2.TemplateArrayValue(bool_data=schema_pb2.BoolArray(data=values))
    if kinds <= {int}:
        return schema_pb2.TemplateArrayValue(long_data=schema_pb2.LongArray(data=values))
    if kinds <= {int, float}:
        return schema_pb2.TemplateArrayValue(double_data=schema_pb2.DoubleArray(data=values))
    if kinds <= {str}:
        return schema_pb2.TemplateArrayValue(string_data=schema_pb2.StringArray(data=values))
    if kinds <= {list, tuple}:
        nested = [_template_array_proto(list(v)) for v in values]
        return schema_pb2.TemplateArrayValue(
            array_data=schema_pb2.TemplateArrayValueArray(data=nested))
    return schema_pb2.TemplateArrayValue(json_data=schema_pb2.JSONArray(
        data=[json.dumps(v).encode() for v in values]))


_DEFAULT_SLOTS = {
    DataType.BOOL: "bool_data", DataType.INT8: "int_data", DataType.INT16: "int_data",
    DataType.INT32: "int_data", DataType.INT64: "long_data", DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data", DataType.VARCHAR: "string_data",
}


def default_value(proto: Any, dtype: DataType, field_name: str) -> tuple[bool, Any]:
    """``(present, value)`` of a ``ValueField`` default for a field of type ``dtype``."""
    kind = proto.WhichOneof("data")
    if kind is None:
        return False, None
    expected = _DEFAULT_SLOTS.get(dtype)
    if kind != expected:
        raise ParamError(f"field {field_name!r}: default value given as {kind}, a "
                         f"{dtype.name} field takes {expected or 'no default value'}")
    return True, getattr(proto, kind)


def default_value_proto(value: Any, dtype: DataType) -> "schema_pb2.ValueField":
    slot = _DEFAULT_SLOTS.get(dtype)
    if slot is None:
        raise ParamError(f"a {dtype.name} field cannot have a default value")
    return schema_pb2.ValueField(**{slot: value})
