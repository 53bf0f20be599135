"""``/v2/vectordb/collections/*``: collection DDL and state (spec §4.1, §9).

Each handler reads its body, converts it and calls the engine; errors keep the engine's
Milvus code. ``create`` has Milvus's two modes: quick setup (``dimension``: an ``id`` key, a
``vector`` field, an AUTOINDEX index named after the vector field, loaded) and a custom
``schema`` (loaded when ``indexParams`` are given).
"""

from __future__ import annotations

from typing import Any

from ....errors import CollectionNotExistException, ParamError
from ....schema import CollectionSchema, FieldSchema
from ....types import DataType, LoadState
from ..framework import (
    BOOL, INT, OBJ, STR, STRS, Body, Reply, RestCall, Route, obj,
)
from ..schema_json import (
    LOAD_STATES, consistency_level, describe_collection, field_from_json, function_from_json,
    index_spec, missing_field,
)

P = "/v2/vectordb/collections/"
NAME = {"collectionName": STR}
# collections/create ``params`` keys that become collection properties
_PROPERTY_PARAMS = {"ttlSeconds": "collection.ttl.seconds",
                    "partitionKeyIsolation": "partitionkey.isolation",
                    "mmap.enabled": "mmap.enabled", "warmup.scalarField": "warmup.scalarField",
                    "warmup.scalarIndex": "warmup.scalarIndex",
                    "warmup.vectorField": "warmup.vectorField",
                    "warmup.vectorIndex": "warmup.vectorIndex"}
_CREATE_PARAMS = {"shardsNum", "consistencyLevel", "partitionsNum", "enableDynamicField",
                  "max_length", *_PROPERTY_PARAMS}


def collection(call: RestCall) -> str:
    """The body's required ``collectionName``."""
    return call.body.str_("collectionName", required=True)


# ---- reads -----------------------------------------------------------------------------------
def list_collections(call: RestCall) -> list[str]:
    return call.db.list_collections(call.db_name)


def has(call: RestCall) -> dict:
    return {"has": call.db.has_collection(call.db_name, collection(call))}


def describe(call: RestCall) -> Reply:
    name = collection(call)
    info = call.db.describe_collection(call.db_name, name)
    state = call.db.get_load_state(call.db_name, name)["state"]
    vectors = [f["name"] for f in info["fields"] if DataType(f["type"]) in _VECTOR_TYPES]
    indexes = []
    if vectors:
        for index_name in call.db.list_indexes(call.db_name, name, field_name=vectors[0]):
            index = call.db.describe_index(call.db_name, name, index_name) or {}
            indexes.append({"fieldName": vectors[0], "indexName": index_name,
                            "metricType": index.get("metric_type") or ""})
    return Reply(describe_collection(info, state, indexes), {"message": ""})


def get_stats(call: RestCall) -> dict:
    stats = call.db.get_collection_stats(call.db_name, collection(call))
    return {"rowCount": int(stats["row_count"])}


def get_load_state(call: RestCall) -> Reply:
    name = collection(call)
    partitions = call.body.str_list("partitionNames", []) or [""]
    states = [call.db.get_load_state(call.db_name, name, p)["state"] for p in partitions]
    if LoadState.NotExist in states:
        raise CollectionNotExistException(
            f"can't find collection[database={call.db_name}][collection={name}]")
    state = min(states)  # NotLoad < Loading < Loaded: the least loaded partition
    data: dict[str, Any] = {"loadState": LOAD_STATES[state]}
    if state != LoadState.NotLoad:
        data["loadProgress"] = 100 if state == LoadState.Loaded else 0
    return Reply(data, {"message": ""})


# ---- create ----------------------------------------------------------------------------------
def create(call: RestCall) -> None:
    body = call.body
    name = collection(call)
    schema_body = body.sub("schema")
    params = body.dict_("params", {})
    unknown = sorted(set(params) - _CREATE_PARAMS)
    if unknown:
        raise ParamError(f"collections/create: unknown params key(s) {unknown}; expected "
                         f"some of {sorted(_CREATE_PARAMS)}")
    if schema_body.list_("fields"):
        schema, specs = _custom_schema(body, schema_body)
    else:
        schema, specs = _quick_schema(body, schema_body, params)
    call.db.create_collection(
        call.db_name, name, schema, index_params=specs, load=bool(specs),
        consistency_level=consistency_level(params.get("consistencyLevel")),
        num_shards=_int_param(params, "shardsNum", 1),
        properties={key: params[p] for p, key in _PROPERTY_PARAMS.items() if p in params},
        num_partitions=_int_param(params, "partitionsNum", None)
        if any(f.is_partition_key for f in schema.fields) else None)


def _custom_schema(body: Body, schema_body: Body) -> tuple[CollectionSchema, list[dict]]:
    auto_id = schema_body.bool_("autoID", False)
    fields = [field_from_json(Body(_object(f, "schema.fields")), auto_id)
              for f in schema_body.list_("fields")]
    schema = CollectionSchema(fields, description=body.str_("description", ""),
                              auto_id=auto_id, enable_dynamic_field=schema_body.bool_("enableDynamicField",
                                                                     False))
    for function in schema_body.list_("functions", []):
        schema.add_function(function_from_json(Body(_object(function, "schema.functions"))))
    names = {f.name for f in fields}
    specs = []
    for entry in body.list_("indexParams", []):
        spec = index_spec(Body(_object(entry, "indexParams")))
        if spec["field_name"] not in names:
            raise missing_field(spec["field_name"])
        specs.append(spec)
    return schema, specs


def _quick_schema(body: Body, schema_body: Body,
                  params: dict) -> tuple[CollectionSchema, list[dict]]:
    if schema_body.list_("functions"):
        raise ParamError("functions are not supported for quickly create collection")
    dimension = body.int_("dimension", 0)
    if dimension <= 0:
        raise ParamError("dimension is required for quickly create collection(default metric "
                         "type: COSINE): invalid parameter[expected=collectionName & "
                         "dimension][actual=collectionName]")
    pk_name = body.str_("primaryFieldName", "") or "id"
    vector_name = body.str_("vectorFieldName", "") or "vector"
    id_type = body.str_("idType", "")
    if id_type in ("", "Int64", "int64"):
        pk = FieldSchema(pk_name, DataType.INT64, is_primary=True,
                         auto_id=body.bool_("autoID", False))
    elif id_type in ("VarChar", "Varchar"):
        if "max_length" not in params:
            raise ParamError("a VarChar primary key needs params.max_length")
        pk = FieldSchema(pk_name, DataType.VARCHAR, is_primary=True,
                         auto_id=body.bool_("autoID", False), max_length=params["max_length"])
    else:
        raise ParamError(f"idType can only be [Int64, VarChar], default: Int64, "
                         f"err:parameter:'{id_type}' is incorrect: invalid parameter")
    dynamic = params.get("enableDynamicField", True)
    if isinstance(dynamic, str) and dynamic.lower() in ("true", "false"):
        dynamic = dynamic.lower() == "true"
    if not isinstance(dynamic, bool):
        raise ParamError(f"params.enableDynamicField must be a bool, got {dynamic!r}")
    schema = CollectionSchema([pk, FieldSchema(vector_name, DataType.FLOAT_VECTOR,
                                               dim=dimension)],
                              enable_dynamic_field=dynamic)
    spec = {"field_name": vector_name, "index_name": vector_name, "index_type": "AUTOINDEX",
            "metric_type": body.str_("metricType", "") or "COSINE", "params": {}}
    return schema, [spec]


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ParamError(f"every entry of {where} must be a JSON object, got {value!r}")
    return value


def _int_param(params: dict, key: str, default: Any) -> Any:
    """An integer ``params`` value (a number or a numeric string, as Milvus accepts)."""
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"params.{key} must be an integer, got {value!r}")
    return value


# ---- changes ---------------------------------------------------------------------------------
def drop(call: RestCall) -> None:
    call.db.drop_collection(call.db_name, collection(call))


def truncate(call: RestCall) -> None:
    call.db.truncate_collection(call.db_name, collection(call))


def rename(call: RestCall) -> None:
    call.db.rename_collection(call.db_name, collection(call),
                              call.body.str_("newCollectionName", required=True),
                              call.body.str_("newDbName", "") or None)


def load(call: RestCall) -> None:
    call.db.load_collection(call.db_name, collection(call))


def refresh_load(call: RestCall) -> None:
    name = collection(call)
    state = call.db.get_load_state(call.db_name, name)["state"]
    if state == LoadState.NotExist:
        raise CollectionNotExistException(
            f"can't find collection[database={call.db_name}][collection={name}]")
    if state != LoadState.Loaded:
        raise ParamError(f"refresh_load: collection {name!r} is not loaded")
    call.db.load_collection(call.db_name, name)


def release(call: RestCall) -> None:
    call.db.release_collection(call.db_name, collection(call))


def alter_properties(call: RestCall) -> None:
    call.db.alter_collection_properties(call.db_name, collection(call),
                                        dict(call.body.dict_("properties", required=True)))


def drop_properties(call: RestCall) -> None:
    call.db.drop_collection_properties(call.db_name, collection(call),
                                       call.body.str_list("propertyKeys", required=True))


def compact(call: RestCall) -> dict:
    if call.body.bool_("isClustering", False):
        raise ParamError("compact: clustering compaction does not apply to redkite (it "
                         "merges segments and drops deleted rows)")
    return {"compactionID": call.db.compact(call.db_name, collection(call))}


def get_compaction_state(call: RestCall) -> dict:
    job = call.body.int_("jobID", required=True)
    state = call.db.get_compaction_state(job)
    return {"compactionID": job, "state": state, "executingPlanNumber": int(
        state == "Executing"), "timeoutPlanNumber": 0,
        "completedPlanNumber": int(state == "Completed")}


def flush(call: RestCall) -> None:
    call.db.flush(call.db_name, collection(call))


def add_function(call: RestCall) -> None:
    function = function_from_json(call.body.sub("function", required=True))
    call.db.add_collection_function(call.db_name, collection(call), function)


def alter_function(call: RestCall) -> None:
    function = function_from_json(call.body.sub("function", required=True))
    call.db.alter_collection_function(call.db_name, collection(call),
                                      call.body.str_("functionName", required=True), function)


def drop_function(call: RestCall) -> None:
    call.db.drop_collection_function(call.db_name, collection(call),
                                     call.body.str_("functionName", required=True))


def alter_field_properties(call: RestCall) -> None:
    call.db.alter_collection_field(call.db_name, collection(call),
                                   call.body.str_("fieldName", required=True),
                                   dict(call.body.dict_("fieldParams", required=True)))


def add_field(call: RestCall) -> None:
    field = field_from_json(call.body.sub("schema", required=True))
    call.db.add_collection_field(call.db_name, collection(call), field)


_VECTOR_TYPES = {DataType.FLOAT_VECTOR, DataType.BINARY_VECTOR, DataType.FLOAT16_VECTOR,
                 DataType.BFLOAT16_VECTOR, DataType.SPARSE_FLOAT_VECTOR,
                 DataType.INT8_VECTOR}
FIELD_SCHEMA = {"type": "object", "required": ["fieldName", "dataType"], "properties": {
    "fieldName": STR, "dataType": STR, "elementDataType": STR, "isPrimary": BOOL,
    "isPartitionKey": BOOL, "isClusteringKey": BOOL, "elementTypeParams": OBJ,
    "nullable": BOOL, "defaultValue": {}, "description": STR}}
FUNCTION_SCHEMA = {"type": "object",
                   "required": ["name", "type", "inputFieldNames", "outputFieldNames"],
                   "properties": {"name": STR, "type": STR, "inputFieldNames": STRS,
                                  "outputFieldNames": STRS, "params": OBJ,
                                  "description": STR}}
INDEX_SCHEMA = {"type": "object", "required": ["fieldName"], "properties": {
    "fieldName": STR, "indexName": STR, "metricType": STR, "indexType": STR, "params": OBJ}}
CREATE = obj(("collectionName",), **NAME, dimension=INT, idType=STR, autoID=BOOL,
             metricType=STR, primaryFieldName=STR, vectorFieldName=STR, description=STR,
             params=OBJ, indexParams={"type": "array", "items": INDEX_SCHEMA},
             schema={"type": "object", "properties": {
                 "autoID": BOOL, "enableDynamicField": BOOL,
                 "fields": {"type": "array", "items": FIELD_SCHEMA},
                 "functions": {"type": "array", "items": FUNCTION_SCHEMA}}})
ONE = obj(("collectionName",), **NAME)

ROUTES = [
    Route(P + "list", list_collections, obj(), "", "names of the database's collections"),
    Route(P + "has", has, ONE, "", "whether the collection exists"),
    Route(P + "describe", describe, ONE, "DescribeCollection", "schema and state"),
    Route(P + "get_stats", get_stats, ONE, "GetCollectionStatistics", "row count"),
    Route(P + "get_load_state", get_load_state,
          obj(("collectionName",), **NAME, partitionNames=STRS), "GetLoadState",
          "load state (of the listed partitions)"),
    Route(P + "create", create, CREATE, "CreateCollection",
          "create (quick setup with dimension, or a custom schema)"),
    Route(P + "drop", drop, ONE, "DropCollection", "drop (an unknown name is a success)"),
    Route(P + "truncate", truncate, ONE, "TruncateCollection", "delete every row"),
    Route(P + "rename", rename, obj(("collectionName", "newCollectionName"), **NAME,
                                    newCollectionName=STR, newDbName=STR),
          "RenameCollection", "rename, or move to another database"),
    Route(P + "load", load, ONE, "LoadCollection", "load for search and query"),
    Route(P + "refresh_load", refresh_load, ONE, "LoadCollection", "reload a loaded collection"),
    Route(P + "release", release, ONE, "ReleaseCollection", "release"),
    Route(P + "alter_properties", alter_properties,
          obj(("collectionName", "properties"), **NAME, properties=OBJ), "AlterCollection",
          "set collection properties"),
    Route(P + "drop_properties", drop_properties,
          obj(("collectionName", "propertyKeys"), **NAME, propertyKeys=STRS),
          "AlterCollection", "remove collection properties"),
    Route(P + "compact", compact, obj(("collectionName",), **NAME, isClustering=BOOL),
          "ManualCompaction", "compact now; the compaction id"),
    Route(P + "get_compaction_state", get_compaction_state, obj(("jobID",), jobID=INT), "",
          "state of a compaction"),
    Route(P + "flush", flush, ONE, "Flush", "persist the collection's rows"),
    Route(P + "add_function", add_function,
          obj(("collectionName", "function"), **NAME, function=FUNCTION_SCHEMA),
          "AddCollectionFunction", "attach a function"),
    Route(P + "alter_function", alter_function,
          obj(("collectionName", "functionName", "function"), **NAME, functionName=STR,
              function=FUNCTION_SCHEMA), "AlterCollectionFunction", "replace a function"),
    Route(P + "drop_function", drop_function,
          obj(("collectionName", "functionName"), **NAME, functionName=STR),
          "DropCollectionFunction", "remove a function"),
    Route(P + "fields/alter_properties", alter_field_properties,
          obj(("collectionName", "fieldName", "fieldParams"), **NAME, fieldName=STR,
              fieldParams=OBJ), "AlterCollectionField", "change a field's parameters"),
    Route(P + "fields/add", add_field, obj(("collectionName", "schema"), **NAME,
                                           schema=FIELD_SCHEMA),
          "AddCollectionField", "add a (nullable or defaulted) field"),
]
