"""Collection schemas: Milvus ``schema.CollectionSchema`` <-> :class:`redkite.schema.
CollectionSchema`, and ``describe_collection`` results <-> ``DescribeCollectionResponse``.

Type parameters travel as strings (``dim: "8"``, ``enable_analyzer: "true"``,
``analyzer_params: "{...}"`` as JSON), ``mmap_enabled`` as ``mmap.enabled``, default values
as ``ValueField``s, as pymilvus sends them.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ParamError
from ..schema import CollectionSchema, FieldSchema, Function
from ..types import ConsistencyLevel, DataType, FunctionType
from . import common_pb2, milvus_pb2, schema_pb2
from .values import default_value, default_value_proto, kv_dict, kv_pairs

_INT_PARAMS = ("dim", "max_length", "max_capacity")
_BOOL_PARAMS = ("enable_analyzer", "enable_match", "mmap_enabled")
_JSON_PARAMS = ("analyzer_params", "multi_analyzer_params")
_MMAP_KEY = "mmap.enabled"
_STORABLE_TYPES = {int(t) for t in DataType}


def hybrid_ts(ms: int) -> int:
    """A Milvus hybrid timestamp (physical milliseconds << 18) for a time in ms."""
    return int(ms) << 18


# ---- proto -> redkite ----------------------------------------------------------------------
def schema_from_proto(proto: Any) -> CollectionSchema:
    """The schema a CreateCollection request carries (``schema`` bytes already parsed)."""
    fields = [field_from_proto(f) for f in proto.fields]
    functions = [function_from_proto(f) for f in proto.functions]
    return CollectionSchema(fields, proto.description, functions,
                            auto_id=any(f.auto_id for f in fields) or proto.autoID,
                            enable_dynamic_field=proto.enable_dynamic_field)


def field_from_proto(proto: Any) -> FieldSchema:
    if proto.data_type not in _STORABLE_TYPES:
        raise ParamError(f"field {proto.name!r}: unknown data type {proto.data_type}")
    dtype = DataType(proto.data_type)
    if proto.is_dynamic:
        raise ParamError(f"field {proto.name!r}: is_dynamic is set by enable_dynamic_field, "
                         "not per field")
    kwargs: dict[str, Any] = {
        "is_primary": proto.is_primary_key, "auto_id": proto.autoID, "nullable": proto.nullable,
        "is_partition_key": proto.is_partition_key,
        "is_clustering_key": proto.is_clustering_key,
        "params": {key: _type_param(proto.name, key, value)
                   for key, value in _renamed_params(kv_dict(proto.type_params)).items()},
    }
    if dtype == DataType.ARRAY:
        kwargs["element_type"] = DataType(proto.element_type)
    present, value = default_value(proto.default_value, dtype, proto.name)
    if present:
        kwargs["default_value"] = value
    return FieldSchema(proto.name, dtype, proto.description, **kwargs)


def _renamed_params(params: dict[str, str]) -> dict[str, str]:
    if _MMAP_KEY in params:
        params["mmap_enabled"] = params.pop(_MMAP_KEY)
    return params


def _type_param(field_name: str, key: str, text: str) -> Any:
    """A type parameter's value from its string form (ints, bools and JSON objects)."""
    if key in _INT_PARAMS:
        try:
            return int(text)
        except ValueError:
            raise ParamError(f"field {field_name!r}: {key} must be an integer, got "
                             f"{text!r}") from None
    if key in _BOOL_PARAMS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if key in _JSON_PARAMS:
        try:
            return json.loads(text)
        except ValueError:
            raise ParamError(f"field {field_name!r}: {key} is not valid JSON: "
                             f"{text[:80]!r}") from None
    return text


def function_from_proto(proto: Any) -> Function:
    return Function(proto.name, FunctionType(proto.type), list(proto.input_field_names),
                    list(proto.output_field_names), proto.description,
                    kv_dict(proto.params) or None)


# ---- redkite -> proto ----------------------------------------------------------------------
def field_to_proto(field: dict) -> "schema_pb2.FieldSchema":
    """A field as ``describe_collection`` shows it (``FieldSchema.to_dict``) in proto form."""
    dtype = DataType(field["type"])
    params = dict(field.get("params") or {})
    proto = schema_pb2.FieldSchema(
        fieldID=field.get("field_id", 0), name=field["name"],
        description=field.get("description", ""), data_type=int(dtype),
        is_primary_key=bool(field.get("is_primary")), autoID=bool(field.get("auto_id")),
        is_partition_key=bool(field.get("is_partition_key")),
        is_clustering_key=bool(field.get("is_clustering_key")),
        nullable=bool(field.get("nullable")), is_dynamic=bool(field.get("is_dynamic")),
        is_function_output=bool(field.get("is_function_output")),
        element_type=int(field.get("element_type") or 0))
    if "mmap_enabled" in params:
        params[_MMAP_KEY] = params.pop("mmap_enabled")
    proto.type_params.extend(common_pb2.KeyValuePair(key=k, value=_param_text(v))
                             for k, v in params.items())
    if field.get("default_value") is not None:
        proto.default_value.CopyFrom(default_value_proto(field["default_value"], dtype))
    return proto


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def schema_to_proto(schema: CollectionSchema, name: str) -> "schema_pb2.CollectionSchema":
    """A schema as a client sends it in CreateCollection (for a client transport)."""
    proto = schema_pb2.CollectionSchema(name=name, description=schema.description,
                                        autoID=schema.auto_id,
                                        enable_dynamic_field=schema.enable_dynamic_field)
    proto.fields.extend(field_to_proto(f.to_dict()) for f in schema.fields)
    proto.functions.extend(function_to_proto(f.to_dict()) for f in schema.functions)
    return proto


def function_to_proto(function: dict) -> "schema_pb2.FunctionSchema":
    proto = schema_pb2.FunctionSchema(
        name=function["name"], id=function.get("id", 0),
        description=function.get("description", ""), type=int(function["type"]),
        input_field_names=function["input_field_names"],
        output_field_names=function["output_field_names"],
        input_field_ids=function.get("input_field_ids", []),
        output_field_ids=function.get("output_field_ids", []))
    proto.params.extend(kv_pairs(function.get("params") or {}))
    return proto


def describe_response(info: dict, db_name: str) -> "milvus_pb2.DescribeCollectionResponse":
    """``DescribeCollectionResponse`` from the engine's ``describe_collection`` result."""
    schema = schema_pb2.CollectionSchema(
        name=info["collection_name"], description=info["description"],
        autoID=info["auto_id"], enable_dynamic_field=info["enable_dynamic_field"],
        version=int(info.get("schema_version", 0)), dbName=db_name)
    schema.fields.extend(field_to_proto(f) for f in info["fields"])
    schema.functions.extend(function_to_proto(f) for f in info.get("functions", []))
    level = info.get("consistency_level", int(ConsistencyLevel.Bounded))
    return milvus_pb2.DescribeCollectionResponse(
        schema=schema, collectionID=info["collection_id"],
        created_timestamp=hybrid_ts(info["created_timestamp"]),
        created_utc_timestamp=info["created_timestamp"], shards_num=info["num_shards"],
        aliases=info.get("aliases", []), consistency_level=int(level),
        collection_name=info["collection_name"], properties=kv_pairs(info["properties"]),
        db_name=db_name, num_partitions=info["num_partitions"],
        update_timestamp=hybrid_ts(info["update_timestamp"]),
        update_timestamp_str=str(info["update_timestamp"]))
