"""Data RPCs of the MilvusService servicer: Insert, Upsert, Delete, Query, Search,
HybridSearch. Columns stay columnar from the request's FieldData to the engine and from
the engine's Arrow results back to FieldData (:mod:`redkite.protocol.columns`)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ParamError, SchemaMismatchRetryableException
from ..protocol import common_pb2, milvus_pb2, schema_pb2
from ..protocol.columns import (
    column_batch, field_data_from_arrow, ids_proto, sparse_entries,
)
from ..protocol.schema_codec import hybrid_ts
from ..protocol.values import kv_dict, template_values
from ..schema import DYNAMIC_FIELD
from .rpc import rpc

COUNT_STAR = "count(*)"
# search_params keys redkite honours, plus the ones pymilvus's search iterator sends to
# probe for server-side iterators (answered as a plain search: it then iterates itself)
_SEARCH_KEYS = {"anns_field", "topk", "metric_type", "params", "round_decimal", "offset",
                "ignore_growing", "group_by_field", "group_size", "strict_group_size",
                "iterator", "search_iter_v2", "search_iter_batch_size", "collection_id"}
_QUERY_KEYS = {"limit", "offset", "ignore_growing", "reduce_stop_for_best", "iterator",
               "collection_id"}
_GROUPING_KEYS = ("group_by_field", "group_size", "strict_group_size")
# keys pymilvus copies from search_params' top level into its "params" JSON as well
_PARAMS_ALSO_TOP_LEVEL = {"metric_type", "offset", "round_decimal", "ignore_growing",
                          *_GROUPING_KEYS, "iterator", "search_iter_v2",
                          "search_iter_batch_size"}
_BYTE_PLACEHOLDERS = {common_pb2.BinaryVector, common_pb2.Float16Vector,
                      common_pb2.BFloat16Vector, common_pb2.Int8Vector}


class DataRpcs:
    """Mixed into :class:`~redkite.server.grpc_service.MilvusServicer` (which provides
    ``call``)."""

    # ---- writes ----------------------------------------------------------------------------
    def _check_stamp(self, request, context, sent: int) -> None:
        """A request built with an older schema (``sent``: the describe's
        update_timestamp it carries) is answered with a schema mismatch."""
        if not sent:
            return
        info = self.call("describe_collection", request, context, name=request.collection_name)
        if sent < hybrid_ts(info["update_timestamp"]):
            raise SchemaMismatchRetryableException(
                f"collection {request.collection_name!r} changed after the schema the request "
                "was built with: describe it again")

    def _check_base_stamp(self, request, context) -> None:
        """Reads and deletes by id carry the stamp in ``base.properties``."""
        text = request.base.properties.get("schema_timestamp", "")
        self._check_stamp(request, context, int(text) if text.isdigit() else 0)

    def _rows(self, request, context):
        self._check_stamp(request, context, request.schema_timestamp)
        schema, _ = self.call("schema_of", request, context, name=request.collection_name)
        return column_batch(request.fields_data, schema, request.num_rows)

    def _write(self, operation: str, request, context) -> dict:
        """Insert or upsert the request's columns; the MutationResult fields."""
        raw = self.call(operation, request, context, collection_name=request.collection_name,
                        rows=self._rows(request, context),
                        partition_name=request.partition_name)
        return {"IDs": ids_proto(raw["ids"]), f"{operation}_cnt": raw[f"{operation}_count"],
                "timestamp": _now()}

    @rpc(milvus_pb2.MutationResult)
    def Insert(self, request, context):
        return self._write("insert", request, context)

    @rpc(milvus_pb2.MutationResult)
    def Upsert(self, request, context):
        if request.partial_update:
            raise ParamError("partial_update upserts are not supported by redkite")
        return self._write("upsert", request, context)

    @rpc(milvus_pb2.MutationResult)
    def Delete(self, request, context):
        self._check_base_stamp(request, context)
        raw = self.call("delete", request, context, collection_name=request.collection_name,
                        filter=request.expr, partition_name=request.partition_name,
                        filter_params=template_values(request.expr_template_values) or None)
        return {"delete_cnt": raw["delete_count"], "timestamp": _now()}

    # ---- reads -----------------------------------------------------------------------------
    @rpc(milvus_pb2.QueryResults)
    def Query(self, request, context):
        self._check_base_stamp(request, context)
        options = _known(kv_dict(request.query_params), _QUERY_KEYS, "query_params")
        _check_ignore_growing(options)
        result = self.call(
            "query", request, context, collection_name=request.collection_name,
            filter=request.expr, output_fields=list(request.output_fields) or None,
            limit=_int_option(options, "limit"), offset=_int_option(options, "offset") or 0,
            partition_names=list(request.partition_names) or None,
            filter_params=template_values(request.expr_template_values) or None,
            columnar=True)
        schema, _ = self.call("schema_of", request, context, name=request.collection_name)
        if isinstance(result, list):  # count(*): the engine answers [{"count(*)": n}]
            count = int(result[0][COUNT_STAR])
            fd = schema_pb2.FieldData(type=int(schema_pb2.Int64), field_name=COUNT_STAR)
            fd.scalars.long_data.data.append(count)
            return {"fields_data": [fd], "output_fields": [COUNT_STAR],
                    "collection_name": request.collection_name}
        return {"fields_data": _fields_data(result.table, schema),
                "output_fields": _output_names(result.table, result.plan),
                "collection_name": request.collection_name,
                "primary_field_name": schema.primary_field.name}

    @rpc(milvus_pb2.SearchResults)
    def Search(self, request, context):
        if request.sub_reqs or request.HasField("function_score"):
            raise ParamError("search with sub-requests or a ranker function is not supported "
                             "by redkite (use HybridSearch)")
        if request.WhichOneof("search_input") != "placeholder_group":
            raise ParamError("search by primary keys is not supported by redkite: send query "
                             "vectors")
        schema, _ = self.call("schema_of", request, context, name=request.collection_name)
        options = _search_options(request.search_params)
        grouping = {key: options.pop(key) for key in _GROUPING_KEYS if key in options}
        raw = self.call(
            "search", request, context, collection_name=request.collection_name,
            data=placeholder_vectors(request.placeholder_group, request.nq),
            filter=request.dsl, output_fields=list(request.output_fields) or None,
            partition_names=list(request.partition_names) or None,
            filter_params=template_values(request.expr_template_values) or None,
            columnar=True, **options, **grouping)
        return {"results": _search_result_data(raw, schema, options["limit"]),
                "collection_name": request.collection_name}

    @rpc(milvus_pb2.SearchResults)
    def HybridSearch(self, request, context):
        schema, _ = self.call("schema_of", request, context, name=request.collection_name)
        rank = _rank_options(request)
        legs = [_hybrid_leg(sub, rank) for sub in request.requests]
        raw = self.call(
            "hybrid_search", request, context, collection_name=request.collection_name,
            requests=legs, ranker=rank.pop("ranker"),
            output_fields=list(request.output_fields) or None,
            partition_names=list(request.partition_names) or None, columnar=True, **rank)
        return {"results": _search_result_data(raw, schema, rank["limit"]),
                "collection_name": request.collection_name}


# ---- request options ---------------------------------------------------------------------
def _now() -> int:
    return hybrid_ts(int(time.time() * 1000))


def _known(options: dict[str, str], allowed: set[str], what: str) -> dict[str, str]:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ParamError(f"{what}: {unknown} are not supported by redkite")
    return options


def _json_option(options: dict[str, str], key: str, default: Any = None) -> Any:
    text = options.get(key)
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except ValueError:
        if text in ("True", "False"):  # pymilvus sends str(bool) for some flags
            return text == "True"
        return text


def _int_option(options: dict[str, str], key: str) -> int | None:
    value = _json_option(options, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"`{key}` value {value!r} is illegal: expected an int")
    return value


def _check_ignore_growing(options: dict[str, str]) -> None:
    if _json_option(options, "ignore_growing", False) is True:
        raise ParamError("ignore_growing=True is not supported by redkite (it searches "
                         "every row)")


def _search_options(pairs: Any) -> dict:
    """The engine's search keyword arguments from a request's ``search_params``."""
    options = _known(kv_dict(pairs), _SEARCH_KEYS, "search_params")
    _check_ignore_growing(options)
    params = _json_option(options, "params", {})
    if not isinstance(params, dict):
        raise ParamError(f"search params must be a JSON object, got {params!r}")
    metric = _json_option(options, "metric_type")
    for key in _PARAMS_ALSO_TOP_LEVEL & set(params):  # pymilvus repeats them in params
        value = params.pop(key)
        if key == "metric_type" and metric is None:
            metric = value
    out = {"anns_field": options.get("anns_field") or None,
           "limit": _int_option(options, "topk"),
           "offset": _int_option(options, "offset") or 0,
           "round_decimal": _json_option(options, "round_decimal", -1),
           "metric_type": metric, "params": params}
    if out["limit"] is None:
        raise ParamError("search_params lacks `topk` (the search limit)")
    for key in _GROUPING_KEYS:
        if key in options:
            out[key] = _json_option(options, key)
    return out


def _hybrid_leg(sub: Any, rank: dict) -> dict:
    """One AnnSearchRequest of a HybridSearch as the engine's request dict. pymilvus copies
    the hybrid search's offset and round_decimal into every request: they must match."""
    if sub.sub_reqs or sub.HasField("function_score") or sub.output_fields:
        raise ParamError("a hybrid_search request takes vectors, a filter and search params "
                         "only")
    options = _search_options(sub.search_params)
    grouping = sorted(k for k in _GROUPING_KEYS if k in options)
    if grouping:
        raise ParamError(f"hybrid_search: {grouping} are not supported by redkite (group a "
                         "single-vector search instead)")
    for key, unset in (("offset", 0), ("round_decimal", -1)):
        if options[key] not in (unset, rank[key]):
            raise ParamError(f"hybrid_search: {key} applies to the whole hybrid search, not "
                             "to one request")
    return {"data": placeholder_vectors(sub.placeholder_group, sub.nq),
            "anns_field": options["anns_field"], "limit": options["limit"],
            "filter": sub.dsl, "filter_params": template_values(sub.expr_template_values) or None,
            "metric_type": options["metric_type"], "params": options["params"]}


def _rank_options(request: Any) -> dict:
    options = kv_dict(request.rank_params)
    allowed = {"strategy", "params", "limit", "round_decimal", "offset"}
    _known(options, allowed, "rank_params")
    if request.HasField("function_score"):
        ranker = _function_ranker(request.function_score)
    else:
        ranker = {"strategy": _json_option(options, "strategy", "rrf"),
                  "params": _json_option(options, "params", {})}
    return {"ranker": ranker, "limit": _int_option(options, "limit") or 10,
            "offset": _int_option(options, "offset") or 0,
            "round_decimal": _json_option(options, "round_decimal", -1)}


def _function_ranker(score: Any) -> dict:
    if len(score.functions) != 1 or score.params:
        raise ParamError("hybrid_search takes exactly one ranker function")
    function = score.functions[0]
    if function.input_field_names:
        raise ParamError(f"ranker function {function.name!r}: the rrf and weighted rerankers "
                         f"take no input fields, got {list(function.input_field_names)}")
    params = {k: _json_option({k: v}, k) for k, v in kv_dict(function.params).items()}
    kind = params.pop("reranker", None)
    if kind == "weighted":
        params.setdefault("norm_score", False)  # Milvus's default for the Function form
    elif kind != "rrf":
        raise ParamError(f"ranker function {function.name!r}: reranker {kind!r} is not "
                         "supported by redkite (supported: 'rrf', 'weighted')")
    return {"strategy": kind, "params": params}


def placeholder_vectors(raw: bytes, nq: int) -> Any:
    """Query vectors of a ``PlaceholderGroup`` in a form the engine's search takes: a
    float32 matrix, per-query bytes (binary / float16 / bfloat16 / int8) or sparse dicts."""
    group = common_pb2.PlaceholderGroup.FromString(raw)
    if len(group.placeholders) != 1:
        raise ParamError(f"a search takes one placeholder, got {len(group.placeholders)}")
    holder = group.placeholders[0]
    values = list(holder.values)
    if nq and nq != len(values):
        raise ParamError(f"nq={nq} but the request carries {len(values)} query vectors")
    if holder.type == common_pb2.FloatVector:
        sizes = {len(v) for v in values}
        if len(sizes) > 1 or any(size % 4 for size in sizes):
            raise ParamError("query vectors must all have the same dimension")
        return np.frombuffer(b"".join(values), dtype="<f4").reshape(len(values), -1)
    if holder.type in _BYTE_PLACEHOLDERS:
        return values
    if holder.type == common_pb2.SparseFloatVector:
        counts, entries = sparse_entries(values, "query", what="query")
        bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
        return [dict(zip(entries["index"][a:b].tolist(), entries["value"][a:b].tolist()))
                for a, b in zip(bounds[:-1], bounds[1:])]
    if holder.type == common_pb2.VarChar:
        return [value.decode("utf-8") for value in values]
    raise ParamError(f"placeholder type {common_pb2.PlaceholderType.Name(holder.type)} is "
                     "not supported by redkite")


# ---- results -----------------------------------------------------------------------------
def _fields_data(table: pa.Table, schema: Any) -> list:
    return [field_data_from_arrow(name, table.column(name),
                                  None if name == DYNAMIC_FIELD else schema.field(name))
            for name in table.column_names]


def _output_names(table: pa.Table, plan: Any) -> list[str]:
    """``output_fields`` of a result: its columns, and the dynamic keys asked for (all of
    ``$meta`` when every key was)."""
    names = [n for n in table.column_names if n != DYNAMIC_FIELD]
    if plan.dynamic_keys is True:
        names.append(DYNAMIC_FIELD)
    elif plan.dynamic_keys:
        names.extend(sorted(plan.dynamic_keys))
    return names


def _search_result_data(raw: dict, schema: Any, limit: int) -> "schema_pb2.SearchResultData":
    hits = raw["hits"]
    tables = [h.entities.table for h in hits]
    plan = hits[0].entities.plan
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    pks = pa.chunked_array([h.ids for h in hits], type=hits[0].ids.type)
    scores = np.concatenate([np.asarray(h.distances, dtype=np.float32) for h in hits])
    result = schema_pb2.SearchResultData(
        num_queries=len(hits), top_k=limit, fields_data=_fields_data(table, schema),
        ids=ids_proto(pks), topks=[len(h.ids) for h in hits],
        output_fields=_output_names(table, plan), primary_field_name=raw["pk_name"])
    result.scores.extend(scores.tolist())
    return result
