"""Schema, function and index JSON of the REST API (spec §4.1.1, §8, §9) <-> redkite objects.

Input: a field (``fieldName``, ``dataType`` as the case-sensitive proto enum name,
``elementTypeParams``, ...) becomes a :class:`~redkite.schema.FieldSchema`, a function a
:class:`~redkite.schema.Function`, an index parameter the engine's index spec. Output:
``collections/describe``'s data (proto enum names, ``{key, value}`` lists of strings, the
default value as the raw proto oneof ``{"Data": {"LongData": 5}}``).
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import ParamError
from ...schema import FieldSchema, Function
from ...types import ConsistencyLevel, DataType, FunctionType, LoadState
from .framework import Body, RestError, MISSING_PARAMETER, type_error

DATA_TYPES: dict[str, DataType] = {
    "Bool": DataType.BOOL, "Int8": DataType.INT8, "Int16": DataType.INT16,
    "Int32": DataType.INT32, "Int64": DataType.INT64, "Float": DataType.FLOAT,
    "Double": DataType.DOUBLE, "String": DataType.STRING, "VarChar": DataType.VARCHAR,
    "Array": DataType.ARRAY, "JSON": DataType.JSON, "Geometry": DataType.GEOMETRY,
    "Timestamptz": DataType.TIMESTAMPTZ, "BinaryVector": DataType.BINARY_VECTOR,
    "FloatVector": DataType.FLOAT_VECTOR, "Float16Vector": DataType.FLOAT16_VECTOR,
    "BFloat16Vector": DataType.BFLOAT16_VECTOR,
    "SparseFloatVector": DataType.SPARSE_FLOAT_VECTOR, "Int8Vector": DataType.INT8_VECTOR,
}
TYPE_NAMES = {dtype: name for name, dtype in DATA_TYPES.items()}
FUNCTION_TYPES = {"BM25": FunctionType.BM25, "TextEmbedding": FunctionType.TEXTEMBEDDING,
                  "Rerank": FunctionType.RERANK, "MinHash": FunctionType.MINHASH}
_DEFAULT_ONEOF = {DataType.BOOL: "BoolData", DataType.INT8: "IntData",
                  DataType.INT16: "IntData", DataType.INT32: "IntData",
                  DataType.INT64: "LongData", DataType.FLOAT: "FloatData",
                  DataType.DOUBLE: "DoubleData", DataType.VARCHAR: "StringData",
                  DataType.STRING: "StringData", DataType.TIMESTAMPTZ: "StringData",
                  DataType.GEOMETRY: "StringData", DataType.JSON: "BytesData"}
LOAD_STATES = {LoadState.NotExist: "LoadStateNotExist", LoadState.NotLoad: "LoadStateNotLoad",
               LoadState.Loading: "LoadStateLoading", LoadState.Loaded: "LoadStateLoaded"}


def data_type(name: Any, key: str) -> DataType:
    """A proto enum data-type name as DataType (1100 for an unknown or miscased name)."""
    if not isinstance(name, str):
        raise type_error(key, name, "string")
    if name not in DATA_TYPES:
        raise ParamError(f"invalid parameter, data type {name} is invalid(case sensitive). "
                         f"Expected one of {sorted(DATA_TYPES)}")
    return DATA_TYPES[name]


def field_from_json(field: Body, auto_id: bool = False) -> FieldSchema:
    """One ``schema.fields[]`` entry (or ``fields/add``'s ``schema``) as a FieldSchema;
    ``auto_id`` (the schema-level flag) applies to the primary key."""
    name = field.str_("fieldName", required=True)
    dtype = data_type(field.require("dataType"), "dataType")
    is_primary = field.bool_("isPrimary", False)
    kwargs: dict[str, Any] = {
        "is_primary": is_primary, "auto_id": bool(auto_id and is_primary),
        "nullable": field.bool_("nullable", False),
        "is_partition_key": field.bool_("isPartitionKey", False),
        "is_clustering_key": field.bool_("isClusteringKey", False),
        "params": dict(field.dict_("elementTypeParams", {})),
    }
    if dtype == DataType.ARRAY:
        kwargs["element_type"] = data_type(field.require("elementDataType"), "elementDataType")
    if "defaultValue" in field:
        kwargs["default_value"] = field.get("defaultValue")
    return FieldSchema(name, dtype, field.str_("description", ""), **kwargs)


def function_from_json(function: Body) -> Function:
    """A FunctionSchema object (``name``, ``type``, ``inputFieldNames``, ...) as a Function."""
    kind = function.str_("type", required=True)
    if kind not in FUNCTION_TYPES:
        raise ParamError(f"Unsupported function type: {kind}")
    return Function(function.str_("name", required=True), FUNCTION_TYPES[kind],
                    function.str_list("inputFieldNames", required=True),
                    function.str_list("outputFieldNames", required=True),
                    function.str_("description", ""), dict(function.dict_("params", {})))


def index_spec(index: Body) -> dict:
    """An IndexParam object as the engine's index spec: ``index_type`` from ``indexType``
    or ``params.index_type``, ``metric_type`` from ``metricType`` or ``params.metric_type``,
    the rest of ``params`` as build parameters."""
    params = dict(index.dict_("params", {}))
    index_type = index.str_("indexType", "") or params.pop("index_type", "")
    params.pop("index_type", None)
    metric_type = index.str_("metricType", "") or params.pop("metric_type", None)
    params.pop("metric_type", None)
    if not isinstance(index_type, str):
        raise type_error("params.index_type", index_type, "string")
    return {"field_name": index.str_("fieldName", required=True),
            "index_name": index.str_("indexName", ""), "index_type": index_type,
            "metric_type": metric_type or None, "params": params}


def consistency_level(value: Any) -> ConsistencyLevel | None:
    """A consistency level name (case-sensitive, as Milvus) or None when not given."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value not in ConsistencyLevel.__members__:
        raise ParamError(f"consistencyLevel can only be [Strong, Session, Bounded, Eventually, "
                         f"Customized], default: Bounded, err:parameter:'{value}' is "
                         f"incorrect, please check it: invalid parameter")
    return ConsistencyLevel[value]


def missing_field(name: str) -> RestError:
    return RestError(MISSING_PARAMETER,
                     f"missing required parameters, error: `{name}` hasn't defined in schema")


# ---- output ---------------------------------------------------------------------------------
def param_text(value: Any) -> str:
    """A parameter value as Milvus stores it: strings as-is, other values as JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def key_values(mapping: dict) -> list[dict]:
    """``[{"key": k, "value": "v"}]``; an empty value is omitted (proto ``omitempty``)."""
    pairs = []
    for key, value in mapping.items():
        text = param_text(value)
        pairs.append({"key": key, "value": text} if text else {"key": key})
    return pairs


def describe_field(field: dict) -> dict:
    """One field of ``describe_collection`` (engine layout) in the REST layout."""
    dtype = DataType(field["type"])
    out = {"name": field["name"], "id": field.get("field_id", 0),
           "type": TYPE_NAMES.get(dtype, dtype.name),
           "primaryKey": bool(field.get("is_primary")),
           "partitionKey": bool(field.get("is_partition_key")),
           "clusteringKey": bool(field.get("is_clustering_key")),
           "autoId": bool(field.get("auto_id")), "description": field.get("description", ""),
           "nullable": bool(field.get("nullable"))}
    if field.get("params"):
        out["params"] = key_values(field["params"])
    if field.get("element_type") is not None:
        element = DataType(field["element_type"])
        out["elementType"] = TYPE_NAMES.get(element, element.name)
    if "default_value" in field:
        value = field["default_value"]
        if dtype == DataType.JSON:
            value = json.dumps(value)
        out["defaultValue"] = {"Data": {_DEFAULT_ONEOF.get(dtype, "StringData"): value}}
    if field.get("is_function_output"):
        out["isFunctionOutput"] = True
    return out


def describe_function(function: dict) -> dict:
    return {"name": function["name"], "description": function["description"],
            "type": int(function["type"]), "id": function["id"],
            "inputFieldNames": function["input_field_names"],
            "outputFieldNames": function["output_field_names"],
            "params": key_values(function["params"])}


def describe_collection(info: dict, load_state: Any, indexes: list[dict]) -> dict:
    """``collections/describe`` data from the engine's describe, load state and the
    ``{fieldName, indexName, metricType}`` of the first vector field's indexes."""
    return {
        "collectionName": info["collection_name"], "collectionID": info["collection_id"],
        "description": info["description"], "autoId": bool(info["auto_id"]),
        "fields": [describe_field(f) for f in info["fields"] if not f.get("is_dynamic")],
        "functions": [describe_function(f) for f in info["functions"]],
        "aliases": list(info["aliases"]), "indexes": indexes,
        "load": LOAD_STATES.get(load_state, ""), "shardsNum": info["num_shards"],
        "partitionsNum": info["num_partitions"],
        "consistencyLevel": info["consistency_level_name"],
        "enableDynamicField": bool(info["enable_dynamic_field"]),
        "properties": key_values(info["properties"]),
    }
