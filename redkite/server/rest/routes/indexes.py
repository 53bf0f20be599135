"""``/v2/vectordb/indexes/*``: index DDL and description (spec §4.4, IndexParam §8.4)."""

from __future__ import annotations

from ....errors import ErrorCode, MilvusException
from ..framework import OBJ, STR, STRS, Body, RestCall, Route, obj, type_error
from .databases import go_properties, go_value

P = "/v2/vectordb/indexes/"
_INDEX_PARAM = {"type": "object", "required": ["fieldName"], "properties": {
    "fieldName": STR, "indexName": STR, "metricType": STR, "indexType": STR, "params": OBJ}}
_NAMED = obj(("collectionName", "indexName"), collectionName=STR, indexName=STR)
# describe keys Milvus reports beside the index parameters ("" when unset)
_LOAD_KEYS = ("mmap.enabled", "indexoffsetcache.enabled", "warmup")
_COUNTERS = ("field_name", "index_name", "index_type", "metric_type", "total_rows",
             "indexed_rows", "pending_index_rows", "state", "fail_reason")


def _collection(call: RestCall) -> str:
    return call.body.str_("collectionName", required=True)


def index_spec(param: Body) -> dict:
    """One IndexParam as the engine's index spec: ``indexType`` (else ``params.index_type``;
    neither: AUTOINDEX), ``metricType``, the remaining ``params`` as build parameters."""
    field_name = param.str_("fieldName", required=True)
    build = dict(param.dict_("params", default={}))
    index_type = param.str_("indexType", default="") or build.pop("index_type", "")
    build.pop("index_type", None)
    return {"field_name": field_name, "index_name": param.str_("indexName", default=""),
            "index_type": index_type, "metric_type": param.str_("metricType") or None,
            "params": build}


def list_indexes(call: RestCall) -> list[str]:
    return call.db.list_indexes(call.db_name, _collection(call))


def describe_index(call: RestCall) -> list[dict]:
    name = _collection(call)
    index_name = call.body.str_("indexName", required=True)
    info = call.db.describe_index(call.db_name, name, index_name)
    if info is None:
        raise MilvusException(ErrorCode.INDEX_NOT_FOUND,
                              f"index not found[collection={name}][index={index_name}]")
    return [describe_entry(info)]


def describe_entry(info: dict) -> dict:
    """An engine index description in the REST shape."""
    params = {k: v for k, v in info.items() if k not in _COUNTERS and k not in _LOAD_KEYS}
    pairs = [{"key": "index_type", "value": info.get("index_type", "")}]
    if info.get("metric_type"):
        pairs.append({"key": "metric_type", "value": info["metric_type"]})
    pairs.extend({"key": k, "value": go_value(v)} for k, v in params.items())
    return {
        "indexName": info["index_name"], "fieldName": info["field_name"],
        "indexType": info.get("index_type", ""), "metricType": info.get("metric_type") or "",
        **{key: go_value(info[key]) if key in info else "" for key in _LOAD_KEYS},
        "totalRows": info.get("total_rows", 0), "pendingRows": info.get("pending_index_rows", 0),
        "indexedRows": info.get("indexed_rows", 0),
        "indexState": info.get("state", "Finished"), "failReason": info.get("fail_reason", ""),
        "minIndexVersion": 0, "maxIndexVersion": 0, "indexParams": pairs,
    }


def create_index(call: RestCall) -> None:
    name = _collection(call)
    params = call.body.list_("indexParams", required=True)
    specs = []
    for position, param in enumerate(params):
        if not isinstance(param, dict):
            raise type_error(f"indexParams[{position}]", param, "IndexParam")
        specs.append(index_spec(Body(param)))
    for spec in specs:  # one CreateIndex per entry; the first error stops the rest
        call.db.create_index(call.db_name, name, spec)


def drop_index(call: RestCall) -> None:
    name = _collection(call)
    call.db.drop_index(call.db_name, name, call.body.str_("indexName", required=True))


def alter_properties(call: RestCall) -> None:
    name = _collection(call)
    index_name = call.body.str_("indexName", required=True)
    properties = call.body.dict_("properties", default={})
    call.db.alter_index_properties(call.db_name, name, index_name, go_properties(properties))


def drop_properties(call: RestCall) -> None:
    name = _collection(call)
    index_name = call.body.str_("indexName", required=True)
    call.db.drop_index_properties(call.db_name, name, index_name,
                                  call.body.str_list("propertyKeys", default=[]))


ROUTES = [
    Route(P + "list", list_indexes, obj(("collectionName",), collectionName=STR),
          "DescribeIndex", "names of the collection's indexes"),
    Route(P + "describe", describe_index, _NAMED, "DescribeIndex",
          "an index's type, metric, parameters and build progress"),
    Route(P + "create", create_index,
          obj(("collectionName", "indexParams"), collectionName=STR,
              indexParams={"type": "array", "items": _INDEX_PARAM}),
          "CreateIndex", "create one index per IndexParam"),
    Route(P + "drop", drop_index, _NAMED, "DropIndex",
          "drop an index (the collection must be released)"),
    Route(P + "alter_properties", alter_properties,
          obj(("collectionName", "indexName"), collectionName=STR, indexName=STR,
              properties=OBJ), "AlterIndex", "set index properties (e.g. mmap.enabled)"),
    Route(P + "drop_properties", drop_properties,
          obj(("collectionName", "indexName"), collectionName=STR, indexName=STR,
              propertyKeys=STRS), "AlterIndex", "remove index properties"),
]
