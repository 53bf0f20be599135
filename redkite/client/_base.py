"""Everything the clients do without I/O: argument checks, request building, decoding.

Client methods are *prepare -> call the transport -> decode*; the first and last steps
live here, so ``AsyncMilvusClient`` (``_async/``) and the ``MilvusClient`` generated from
it (``_sync/``) share every rule. A ``*_arguments`` function validates a method's
parameters and returns the keyword arguments of the transport operation.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import FieldNotExistException, ParamError, PrimaryKeyException
from ..index_params import IndexParams
from ..results import AnalyzeResult, ExtraList, Hits, OmitZeroDict, SearchResult
from ..schema import CollectionSchema, FieldSchema, Function
from ..types import ConsistencyLevel, DataType, FunctionType
from .search_requests import AnnSearchRequest, BaseRanker

VERSION = "redkite-0.1.0"
CONSISTENCY_NAMES = {level.name for level in ConsistencyLevel}
GROUPING_KEYS = ("group_by_field", "group_size", "strict_group_size")
SEARCH_OPTION_KEYS = ("offset", "round_decimal", *GROUPING_KEYS)
# keyword arguments each method accepts beyond its named parameters
QUERY_KWARGS = ("limit", "offset", "filter_params", "consistency_level")
SEARCH_KWARGS = ("offset", "round_decimal", "filter_params", "consistency_level",
                 *GROUPING_KEYS)
HYBRID_KWARGS = ("offset", "round_decimal", "consistency_level")


def reject_unknown(method: str, kwargs: dict, allowed: Iterable[str] = ()) -> dict:
    """Return the allowed kwargs; raise ParamError naming any argument that does not apply."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ParamError(f"{method}() got argument(s) that do not apply: {unknown}")
    return kwargs


def check_name(value: Any, what: str = "collection_name") -> str:
    if not isinstance(value, str) or not value:
        raise ParamError(f"`{what}` value {value!r} is illegal: expected a non-empty string")
    return value


def name_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, str) and v for v in value):
        raise ParamError(f"`{what}` value {value!r} is illegal: expected a name or a list of "
                         "names")
    return list(value)


def check_consistency(level: Any) -> None:
    """Accept Milvus's consistency levels (the embedded engine is always strong)."""
    if level is None:
        return
    if isinstance(level, str) and level in CONSISTENCY_NAMES:
        return
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 4:
        return
    raise ParamError(f"invalid consistency_level {level!r}: use one of "
                     f"{sorted(CONSISTENCY_NAMES)}")


# ---- collections ---------------------------------------------------------------------------
QUICK_SETUP_KWARGS = ("enable_dynamic_field", "consistency_level", "num_shards", "shards_num",
                      "properties", "max_length", "description", "num_partitions")
SCHEMA_KWARGS = ("consistency_level", "num_shards", "shards_num", "properties",
                 "num_partitions")


def quick_setup_schema(dimension: Any, primary_field_name: str, id_type: Any,
                       vector_field_name: str, auto_id: bool, kwargs: dict) -> CollectionSchema:
    if isinstance(dimension, bool) or not isinstance(dimension, int):
        raise ParamError(f"`dimension` value {dimension!r} is illegal: pass an int "
                         "(missing required argument: [dimension])")
    id_kind = {"int": DataType.INT64, DataType.INT64: DataType.INT64, "string": DataType.VARCHAR,
               "str": DataType.VARCHAR, DataType.VARCHAR: DataType.VARCHAR}.get(id_type)
    if id_kind is None:
        raise PrimaryKeyException(f"Param primary_field must be int or str type, got "
                                  f"id_type={id_type!r}")
    schema = CollectionSchema(auto_id=auto_id,
                              enable_dynamic_field=kwargs.get("enable_dynamic_field", True),
                              description=kwargs.get("description", ""))
    pk_params: dict[str, Any] = {}
    if id_kind == DataType.VARCHAR:
        pk_params["max_length"] = kwargs.get("max_length", 65535)
    elif "max_length" in kwargs:
        raise ParamError("max_length applies to a string primary key (id_type='string')")
    schema.add_field(primary_field_name, id_kind, is_primary=True, auto_id=auto_id, **pk_params)
    schema.add_field(vector_field_name, DataType.FLOAT_VECTOR, dim=dimension)
    return schema


def reject_quick_args_with_schema(dimension, primary_field_name, id_type, vector_field_name,
                                  metric_type, auto_id) -> None:
    given = {"dimension": dimension is not None, "primary_field_name": primary_field_name != "id",
             "id_type": id_type != "int", "vector_field_name": vector_field_name != "vector",
             "metric_type": metric_type != "COSINE", "auto_id": auto_id is not False}
    clashing = sorted(name for name, set_ in given.items() if set_)
    if clashing:
        raise ParamError(f"create_collection: {clashing} only apply to the quick setup; with "
                         "a schema, set them on the schema and index_params instead")


def index_specs(index_params: Any) -> list[dict]:
    if not isinstance(index_params, IndexParams):
        raise ParamError(f"index_params must come from prepare_index_params(), got "
                         f"{type(index_params).__name__}")
    return [dict(param) for param in index_params]


def collection_options(kwargs: dict) -> dict:
    check_consistency(kwargs.get("consistency_level"))
    return {"consistency_level": kwargs.get("consistency_level"),
            "num_shards": kwargs.get("num_shards", kwargs.get("shards_num", 1)),
            "properties": kwargs.get("properties")}


def create_collection_arguments(collection_name: str, dimension: Any,
                                primary_field_name: str, id_type: Any, vector_field_name: str,
                                metric_type: str, auto_id: bool, schema: Any, index_params: Any,
                                kwargs: dict) -> dict:
    """The engine's ``create_collection`` arguments. The quick setup (``dimension``) builds
    its own schema and AUTOINDEX index and loads; a custom ``schema`` is loaded only when
    ``index_params`` are given."""
    check_name(collection_name)
    if schema is None:
        reject_unknown("create_collection", kwargs, QUICK_SETUP_KWARGS)
        if index_params is not None:
            raise ParamError("create_collection: index_params needs a schema; the quick "
                             "setup (dimension=...) builds its own index")
        schema = quick_setup_schema(dimension, primary_field_name, id_type, vector_field_name,
                                    auto_id, kwargs)
        index_params = IndexParams(vector_field_name, index_type="AUTOINDEX",
                                   metric_type=metric_type)
    else:
        reject_unknown("create_collection", kwargs, SCHEMA_KWARGS)
        reject_quick_args_with_schema(dimension, primary_field_name, id_type,
                                      vector_field_name, metric_type, auto_id)
        if not isinstance(schema, CollectionSchema):
            raise ParamError(f"schema must be a CollectionSchema, got {type(schema).__name__}")
        index_params = index_params if index_params else None
    specs = index_specs(index_params) if index_params is not None else []
    return {"name": collection_name, "schema": schema, "index_params": specs,
            "load": bool(specs), **collection_options(kwargs)}


def check_loaded(collection_name: str, load_state: dict) -> None:
    """refresh_load's precondition, from ``get_load_state``'s answer."""
    if load_state["state"].name != "Loaded":
        raise ParamError(f"refresh_load: collection {collection_name!r} is not loaded")


def compact_arguments(collection_name: str, is_clustering: Any, is_l0: Any,
                      target_size: Any, kwargs: dict) -> dict:
    reject_unknown("compact", kwargs)
    if is_clustering or is_l0 or target_size is not None:
        raise ParamError("compact: clustering, L0 and target-size compaction do not apply "
                         "to the embedded engine (it merges segments and drops deleted rows)")
    return {"name": check_name(collection_name)}


def server_version(detail: bool) -> str | dict:
    return {"version": VERSION, "deploy_mode": "embedded"} if detail else VERSION


def indexes_to_create(index_params: Any) -> list[dict]:
    """create_index's specs: one engine call each, in order."""
    specs = index_specs(index_params)
    if not specs:
        raise ParamError("create_index: index_params is empty")
    return specs


def evaluate_recall_arguments(collection_name: str, anns_field: str | None, sample_size: int,
                              limit: int, search_params: dict | None, filter: str,
                              partition_names: list[str] | None, seed: int,
                              kwargs: dict) -> dict:
    reject_unknown("evaluate_recall", kwargs, ("filter_params",))
    search_params = dict(search_params or {})
    params = dict(search_params.pop("params", None) or {})
    metric_type = search_params.pop("metric_type", None)
    if search_params:
        raise ParamError(f"evaluate_recall: unknown search_params keys {sorted(search_params)} "
                         "(use 'params' and 'metric_type')")
    return {"collection_name": check_name(collection_name), "anns_field": anns_field,
            "sample_size": sample_size, "limit": limit, "params": params,
            "metric_type": metric_type, "filter": filter or "",
            "filter_params": kwargs.get("filter_params"), "partition_names": partition_names,
            "seed": seed}


# ---- data ----------------------------------------------------------------------------------
def as_rows(data: Any) -> list[dict]:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, (list, tuple)):
        return list(data)
    raise ParamError(f"wrong type of argument 'data', expected 'Dict' or list of 'Dict', got "
                     f"'{type(data).__name__}'")


def as_ids(ids: Any) -> list:
    if isinstance(ids, np.ndarray):
        return ids.tolist()
    if isinstance(ids, (list, tuple)):
        return list(ids)
    if isinstance(ids, (int, str, np.integer)) and not isinstance(ids, bool):
        return [ids]
    raise ParamError(f"ids must be an int, a str or a list of them, got {type(ids).__name__}")


def delete_arguments(collection_name: str, ids: Any, filter: str | None,
                     partition_name: str | None, kwargs: dict) -> dict:
    """The engine's ``delete`` arguments: ``ids`` (or pymilvus's ``pks``) or a filter."""
    reject_unknown("delete", kwargs, ("filter_params", "pks"))
    if "pks" in kwargs:
        if ids is not None:
            raise ParamError("delete: pass ids or pks, not both")
        ids = kwargs["pks"]
    if ids is not None and filter:
        raise ParamError("Ambiguous filter parameter, only one deletion condition can be "
                         "specified.")
    return {"collection_name": check_name(collection_name),
            "ids": None if ids is None else as_ids(ids), "filter": filter or "",
            "partition_name": partition_name or "",
            "filter_params": kwargs.get("filter_params")}


def get_arguments(collection_name: str, ids: Any, output_fields: list[str] | None,
                  partition_names: list[str] | None, kwargs: dict) -> dict | None:
    """The engine's ``query`` arguments for ``get``; None when ``ids`` is empty (no call,
    no rows)."""
    reject_unknown("get", kwargs, ("consistency_level",))
    check_consistency(kwargs.get("consistency_level"))
    id_list = as_ids(ids)
    if not id_list:
        return None
    return {"collection_name": check_name(collection_name), "ids": id_list,
            "output_fields": output_fields, "partition_names": partition_names}


def query_arguments(collection_name: str, filter: str, output_fields: list[str] | None,
                    ids: Any, partition_names: list[str] | None, kwargs: dict) -> dict:
    """The engine's ``query`` arguments: a filter or ids, not both."""
    reject_unknown("query", kwargs, QUERY_KWARGS)
    check_consistency(kwargs.get("consistency_level"))
    if filter and ids is not None:
        raise ParamError("Ambiguous parameter, either ids or filter should be specified, "
                         "cannot support both.")
    return {"collection_name": check_name(collection_name), "filter": filter or "",
            "output_fields": output_fields, "limit": kwargs.get("limit"),
            "offset": kwargs.get("offset", 0), "partition_names": partition_names,
            "filter_params": kwargs.get("filter_params"),
            "ids": None if ids is None else as_ids(ids)}


def search_vectors(data: Any) -> Any:
    """Validate the shape of search data: a list of vectors, a 2-D array or a scipy.sparse
    matrix (one sparse query per row)."""
    if type(data).__module__.startswith("scipy.sparse"):
        return data
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ParamError(f"`search_data` value is illegal: expected a 2-D array of query "
                             f"vectors, got shape {data.shape}")
        return data
    if not isinstance(data, (list, tuple)) or not data:
        raise ParamError(f"`search_data` value {data!r:.80} is illegal: pass a list of vectors")
    if all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in data):
        raise ParamError(f"`search_data` value {list(data)!r:.80} is illegal: a single vector "
                         "must be wrapped in a list ([vector])")
    return data


def split_search_params(search_params: dict | None) -> tuple[str | None, dict, dict]:
    """(metric_type, index params, other keys) from pymilvus-style search_params."""
    if search_params is None:
        return None, {}, {}
    if not isinstance(search_params, dict):
        raise ParamError(f"search_params must be a dict, got {type(search_params).__name__}")
    params = dict(search_params.get("params") or {})
    metric = search_params.get("metric_type") or params.pop("metric_type", None)
    others = {k: v for k, v in search_params.items() if k not in ("params", "metric_type")}
    extra = {k: others.pop(k) for k in SEARCH_OPTION_KEYS if k in others}
    for key, value in others.items():
        if key in params and params[key] != value:
            raise ParamError(f"ambiguous search parameter {key!r}: given twice with different "
                             "values")
        params[key] = value
    return metric, params, extra


def search_arguments(collection_name: str, data: Any, filter: str, limit: int,
                     output_fields: list[str] | None, search_params: dict | None,
                     partition_names: list[str] | None, anns_field: str | None,
                     kwargs: dict) -> dict:
    """The engine's ``search`` arguments from MilvusClient.search's.

    ``offset``, ``round_decimal`` and the grouping options may be keyword arguments or
    top-level keys of ``search_params`` (as pymilvus allows), not both.
    """
    reject_unknown("search", kwargs, SEARCH_KWARGS)
    check_consistency(kwargs.get("consistency_level"))
    metric, params, extra = split_search_params(search_params)
    options = {}
    for key in SEARCH_OPTION_KEYS:
        if key in kwargs and key in extra:
            raise ParamError(f"Provide {key} both in kwargs and param, expect just one")
        options[key] = kwargs.get(key, extra.get(key))
    return {"collection_name": check_name(collection_name), "data": search_vectors(data),
            "anns_field": anns_field, "limit": limit, "offset": options["offset"] or 0,
            "filter": filter or "", "filter_params": kwargs.get("filter_params"),
            "output_fields": output_fields, "metric_type": metric, "params": params,
            "partition_names": partition_names,
            "round_decimal": -1 if options["round_decimal"] is None else options["round_decimal"],
            **{key: options[key] for key in GROUPING_KEYS}}


def hybrid_arguments(collection_name: str, reqs: Any, ranker: Any, limit: int,
                     output_fields: list[str] | None, partition_names: list[str] | None,
                     kwargs: dict) -> dict:
    """The engine's ``hybrid_search`` arguments from MilvusClient.hybrid_search's."""
    grouping = sorted(set(kwargs) & set(GROUPING_KEYS))
    if grouping:
        raise ParamError(f"hybrid_search: {grouping} are not supported by redkite "
                         "(group a single-vector search with search(group_by_field=...))")
    reject_unknown("hybrid_search", kwargs, HYBRID_KWARGS)
    check_consistency(kwargs.get("consistency_level"))
    if not isinstance(reqs, (list, tuple)) or not all(
            isinstance(req, AnnSearchRequest) for req in reqs):
        raise ParamError("hybrid_search: reqs must be a list of AnnSearchRequest (from "
                         "redkite import AnnSearchRequest)")
    round_decimal = kwargs.get("round_decimal", -1)
    return {"collection_name": check_name(collection_name),
            "requests": [ann_request(req) for req in reqs],
            "ranker": ranker_description(ranker), "limit": limit,
            "offset": kwargs.get("offset", 0) or 0, "output_fields": output_fields,
            "partition_names": partition_names,
            "round_decimal": -1 if round_decimal is None else round_decimal}


def ann_request(req: AnnSearchRequest) -> dict:
    metric, params, extra = split_search_params(req.param)
    if extra:
        raise ParamError(f"AnnSearchRequest param: {sorted(extra)} apply to the whole "
                         "hybrid_search (pass them to hybrid_search), not to one request")
    return {"data": search_vectors(req.data), "anns_field": req.anns_field,
            "limit": req.limit, "filter": req.expr or "", "filter_params": req.expr_params,
            "metric_type": metric, "params": params}


def ranker_description(ranker: Any) -> dict:
    """``{'strategy', 'params'}`` of an RRFRanker / WeightedRanker / RERANK Function."""
    if isinstance(ranker, BaseRanker):
        return ranker.dict()
    if isinstance(ranker, Function):
        return _function_ranker(ranker)
    raise ParamError(f"The hybrid search rerank must be a Function or a Ranker "
                     f"(RRFRanker, WeightedRanker), got {type(ranker).__name__}")


def _function_ranker(function: Function) -> dict:
    if function.function_type != FunctionType.RERANK:
        raise ParamError(f"ranker Function {function.name!r} must have function_type "
                         f"FunctionType.RERANK, got {function.function_type.name}")
    if function.input_field_names:
        raise ParamError(f"ranker Function {function.name!r}: the rrf and weighted rerankers "
                         f"take no input fields, got {function.input_field_names}")
    params = dict(function.params or {})
    kind = params.pop("reranker", None)
    if kind == "rrf":
        return {"strategy": "rrf", "params": params}
    if kind == "weighted":
        params.setdefault("norm_score", False)  # Milvus's default for the Function form
        return {"strategy": "weighted", "params": params}
    raise ParamError(f"ranker Function {function.name!r}: reranker {kind!r} is not supported "
                     "by redkite (supported: 'rrf', 'weighted')")


def decode_search(raw: dict) -> SearchResult:
    pk_name = raw["pk_name"]
    return SearchResult(Hits(pk_name, h.ids, h.distances, h.entities) for h in raw["hits"])


def insert_result(raw: dict) -> OmitZeroDict:
    return OmitZeroDict(insert_count=raw["insert_count"], ids=raw["ids"], cost=0)


def upsert_result(raw: dict) -> OmitZeroDict:
    return OmitZeroDict(upsert_count=raw["upsert_count"], cost=0, ids=raw["ids"])


def delete_result(raw: dict) -> OmitZeroDict:
    return OmitZeroDict(delete_count=raw["delete_count"], cost=0)


def analyze_results(raw: list, single: bool) -> AnalyzeResult | list[AnalyzeResult]:
    """run_analyzer's engine answer (tokens per text) as pymilvus returns it."""
    results = [AnalyzeResult(tokens) for tokens in raw]
    return results[0] if single else results


def rows_result(rows: list) -> ExtraList:
    return ExtraList(rows)


# ---- schema and property changes -----------------------------------------------------------
def new_field_schema(field_name: Any, data_type: Any, desc: str, kwargs: dict) -> FieldSchema:
    """add_collection_field's field: pymilvus's keyword arguments become its parameters
    (``nullable``, ``default_value``, ``max_length``, ``element_type``, ...)."""
    check_name(field_name, "field_name")
    if not isinstance(desc, str):
        raise ParamError(f"`desc` value {desc!r} is illegal: expected a string")
    field = FieldSchema(field_name, data_type, desc, **kwargs)
    if field.is_vector and not field.nullable:
        raise ParamError("Adding vector field to existing collection requires nullable=True")
    return field


def check_properties(properties: Any, what: str = "properties") -> dict:
    if not isinstance(properties, dict):
        raise ParamError(f"`{what}` value {properties!r} is illegal: expected a dict")
    return properties


def key_list(keys: Any) -> list[str]:
    """``property_keys``: a non-empty list of names."""
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)) or not keys or not all(
            isinstance(k, str) and k for k in keys):
        raise ParamError(f"`property_keys` value {keys!r} is illegal: expected a non-empty "
                         "list of names")
    return list(keys)


def check_function(function: Any) -> Function:
    if not isinstance(function, Function):
        raise ParamError(f"`function` value {function!r} is illegal: expected a Function")
    return function


def field_to_drop(field_name: Any, field_id: Any, described: dict | None) -> str:
    """drop_collection_field's target: ``field_name``, or the name of ``field_id`` in the
    ``described`` collection; exactly one of the two (pymilvus's rule)."""
    by_name = isinstance(field_name, str) and field_name != ""
    by_id = isinstance(field_id, int) and not isinstance(field_id, bool) and field_id > 0
    if by_name == by_id:
        raise ParamError("Must specify exactly one valid Drop identifier (drop_field_name/"
                         f"drop_field_id/drop_function_name): got field_name={field_name!r}, "
                         f"field_id={field_id!r}")
    if by_name:
        return field_name
    found = next((f["name"] for f in (described or {}).get("fields", [])
                  if f.get("field_id") == field_id), None)
    if found is None:
        raise FieldNotExistException(f"field not found[field_id={field_id}]")
    return found
