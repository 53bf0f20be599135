"""Search and hybrid-search bodies (spec §6, §7) as engine arguments, and their replies.

``searchParams`` is flattened as Milvus does: top-level keys are merged into ``params`` (a
key in both with different values is ambiguous), then ``metricType``/``metric_type`` is
taken out and checked against the index by the engine (Milvus ignores it), ``offset`` and
``ignoreGrowing`` are read, and the rest are the index's search parameters (``nprobe``,
``ef``, ``radius``, ``range_filter``, ...). Search by ``ids`` reads those rows' vectors
first, then searches with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ...errors import ParamError
from .framework import Body, Reply, RestCall, missing_error, type_error
from .rows import ids_in, keys_out, queries_in, rows_out
from .schema_json import consistency_level

DEFAULT_LIMIT = 100
_RERANK_STRATEGIES = ("rrf", "weighted")


def flatten_search_params(search_params: dict, key: str = "searchParams") -> dict:
    """``{"metric_type", "offset", "params"}`` from a ``searchParams`` object."""
    if not isinstance(search_params, dict):
        raise type_error(key, search_params, "object")
    params = search_params.get("params") or {}
    if not isinstance(params, dict):
        raise type_error(f"{key}.params", params, "object")
    params = dict(params)
    for name, value in search_params.items():
        if name == "params":
            continue
        if name in params and params[name] != value:
            raise ParamError(f"ambiguous parameter: {name} is both in {key} ({value!r}) and "
                             f"in {key}.params ({params[name]!r})")
        params[name] = value
    metrics = {params.pop(k) for k in ("metricType", "metric_type") if k in params}
    metrics.discard("")
    if len(metrics) > 1:
        raise ParamError(f"ambiguous parameter: {key} names metric types {sorted(metrics)}")
    for name in ("ignoreGrowing", "ignore_growing"):
        if params.pop(name, False) is True:
            raise ParamError("ignoreGrowing=true is not supported by redkite (it searches "
                             "every row)")
    return {"metric_type": metrics.pop() if metrics else None,
            "offset": params.pop("offset", None), "params": params}


def _vector_field(schema: Any, anns_field: str | None) -> Any:
    """The searched field (the only vector field when ``anns_field`` is empty)."""
    if anns_field:
        field = schema.field(anns_field)
        if field is None or not field.is_vector:
            raise ParamError(f"annsField {anns_field!r} is not a vector field")
        return field
    vectors = [f for f in schema.fields if f.is_vector]
    if len(vectors) != 1:
        raise ParamError(f"search without annsField, but already found multiple vector "
                         f"fields: {[f.name for f in vectors]}")
    return vectors[0]


def _vectors_of_ids(call: RestCall, name: str, schema: Any, field: Any, ids: Any) -> Any:
    """The stored vectors of the rows with primary keys ``ids``, in the order given."""
    keys = ids_in(ids, schema.primary_field.dtype, "ids")
    pk = schema.primary_field.name
    result = call.db.query(call.db_name, name, ids=keys, output_fields=[pk, field.name])
    found = {row[pk]: row[field.name] for row in result}
    absent = [k for k in keys if k not in found]
    if absent:
        raise ParamError(f"search by ids: no row has the primary key(s) {absent[:10]}")
    vectors = [found[k] for k in keys]
    # byte vectors come back wrapped in a one-element list (pymilvus's shape)
    return [v[0] if isinstance(v, list) and len(v) == 1 and isinstance(v[0], bytes) else v
            for v in vectors]


# Milvus caps a search's limit + offset at 16,384; the REST API serves deeper pages (the
# engine's top-k is not bound to that number), up to this many hits per query.
SEARCH_MAX_WINDOW = 1 << 20


def search_arguments(call: RestCall, name: str, schema: Any) -> dict:
    """The engine ``search`` keyword arguments of a search body."""
    body = call.body
    consistency_level(body.get("consistencyLevel"))
    _reject_function_score(body)
    field = _vector_field(schema, body.str_("annsField", ""))
    data, ids = body.raw.get("data"), body.get("ids")
    if data is not None and ids is not None:
        raise ParamError("search takes data or ids, not both")
    if data is None and ids is None:
        raise missing_error("data")
    if ids is not None:
        data = _vectors_of_ids(call, name, schema, field, ids)
    options = flatten_search_params(body.dict_("searchParams", {}))
    offset = body.int_("offset", 0) if options["offset"] is None else options["offset"]
    arguments = dict(
        data=queries_in(field, data), anns_field=field.name,
        limit=body.int_("limit", DEFAULT_LIMIT), offset=offset,
        filter=body.str_("filter", ""), filter_params=body.dict_("exprParams") or None,
        output_fields=body.str_list("outputFields") or None,
        metric_type=options["metric_type"], params=options["params"],
        partition_names=body.str_list("partitionNames") or None, columnar=True,
        max_window=SEARCH_MAX_WINDOW)
    grouping = body.str_("groupingField", "")
    if grouping:
        arguments.update(group_by_field=grouping, group_size=body.int_("groupSize"),
                         strict_group_size=body.bool_("strictGroupSize"))
    return arguments


def hybrid_arguments(call: RestCall, schema: Any) -> dict:
    """The engine ``hybrid_search`` keyword arguments of a hybrid-search body."""
    body = call.body
    consistency_level(body.get("consistencyLevel"))
    _reject_function_score(body)
    if body.str_("groupingField", ""):
        raise ParamError("hybrid_search: groupingField is not supported by redkite (group a "
                         "single-vector search instead)")
    raw_legs = body.raw.get("search")
    if raw_legs is None:
        raw_legs = body.list_("search", required=True)
    if not isinstance(raw_legs, list) or not raw_legs:
        raise missing_error("search")
    requests = [_hybrid_leg(leg, schema, position) for position, leg in enumerate(raw_legs)]
    rerank = body.sub("rerank")
    strategy = rerank.str_("strategy", "")
    if strategy not in _RERANK_STRATEGIES:
        raise ParamError(f"unsupported rank type {strategy!r}: rerank.strategy must be one "
                         f"of {list(_RERANK_STRATEGIES)}")
    return dict(requests=requests,
                ranker={"strategy": strategy, "params": dict(rerank.dict_("params", {}))},
                limit=body.int_("limit", DEFAULT_LIMIT), offset=body.int_("offset", 0),
                output_fields=body.str_list("outputFields") or None,
                partition_names=body.str_list("partitionNames") or None, columnar=True)


def _hybrid_leg(raw: Any, schema: Any, position: int) -> dict:
    where = f"search[{position}]"
    if not isinstance(raw, dict):
        raise type_error(where, raw, "object")
    leg = Body(raw)
    if leg.int_("offset", 0):
        raise ParamError(f"{where}.offset: the offset applies to the whole hybrid search")
    if "data" not in raw or raw["data"] in (None, []):
        raise missing_error(f"{where}.data")
    field = _vector_field(schema, leg.str_("annsField", ""))
    options = flatten_search_params(leg.dict_("params", {}), f"{where}.params")
    metric = leg.str_("metricType", "") or options["metric_type"]
    return {"data": queries_in(field, raw["data"]), "anns_field": field.name,
            "limit": leg.int_("limit", DEFAULT_LIMIT), "filter": leg.str_("filter", ""),
            "filter_params": leg.dict_("exprParams") or None, "metric_type": metric or None,
            "params": options["params"]}


def _reject_function_score(body: Body) -> None:
    score = body.dict_("functionScore")
    if score and (score.get("functions") or score.get("params")):
        raise ParamError("functionScore (server-side rerank functions) is not supported by "
                         "redkite")


def search_reply(result: dict, schema: Any, int64_as_string: bool) -> Reply:
    """Rows of every query concatenated (primary key, ``distance``, output fields) with
    ``topks``; no ``topks`` when there is no hit at all, as Milvus."""
    hits = result["hits"]
    topks = [len(h.ids) for h in hits]
    if not sum(topks):
        return Reply([], {"cost": 0})
    pk = schema.primary_field.name
    plan = hits[0].entities.plan
    table = pa.concat_tables([h.entities.table for h in hits])
    ids = keys_out(pa.chunked_array([h.ids for h in hits], type=hits[0].ids.type),
                   schema.primary_field.dtype, int64_as_string)
    distances = np.concatenate([np.asarray(h.distances, dtype=np.float32)
                                for h in hits]).tolist()
    entities = (rows_out(table, plan, schema, int64_as_string) if table.num_columns
                else [{}] * len(ids))  # no output field: a column-less table has no rows
    rows = [{pk: key, "distance": distance, **entity}
            for key, distance, entity in zip(ids, distances, entities)]
    return Reply(rows, {"cost": 0, "topks": topks})
