"""Engine operations <-> Milvus protobuf messages, for the gRPC transport.

The inverse of :mod:`redkite.server.grpc_service` / ``grpc_data``: rows become FieldData
columns (validated by the same :func:`~redkite.columnar.rows_to_batch` the engine uses),
result FieldData become the row dicts and hits the engine returns. Translation only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..columnar import arrow_type, rows_to_batch, table_to_rows
from ..errors import ParamError
from ..protocol import common_pb2, milvus_pb2, schema_pb2
from ..protocol.columns import _expand_nulls, field_data_from_arrow, field_data_to_arrow, ids_values
from ..protocol.schema_codec import field_from_proto, function_from_proto
from ..protocol.values import kv_dict, kv_pairs, template_value_proto
from ..schema import DYNAMIC_FIELD, CollectionSchema
from ..search_options import round_distances
from ..types import DataType
from ..vectors import layout_of, present_vectors
from ..vectors.sparse import is_scipy_sparse, sparse_csr

COUNT_STAR = "count(*)"
_PLACEHOLDER_TYPES = {
    DataType.BINARY_VECTOR: common_pb2.BinaryVector,
    DataType.FLOAT16_VECTOR: common_pb2.Float16Vector,
    DataType.BFLOAT16_VECTOR: common_pb2.BFloat16Vector,
    DataType.INT8_VECTOR: common_pb2.Int8Vector,
}


@dataclass
class SearchHits:
    """One query's hits in the engine's shape: pks, distances, entity dicts."""

    ids: list
    distances: list
    entities: list


# ---- schemas -----------------------------------------------------------------------------
def describe_dict(reply: Any) -> dict:
    """A DescribeCollectionResponse as the engine's ``describe_collection`` dict."""
    schema = schema_of_reply(reply)
    return {
        "collection_name": reply.collection_name or reply.schema.name,
        "auto_id": schema.auto_id, "num_shards": reply.shards_num,
        "description": reply.schema.description,
        "fields": [f.to_dict() for f in schema.fields],
        "functions": schema.describe_functions(), "aliases": list(reply.aliases),
        "collection_id": reply.collectionID,
        "consistency_level": int(reply.consistency_level),
        "consistency_level_name": common_pb2.ConsistencyLevel.Name(reply.consistency_level),
        "properties": kv_dict(reply.properties), "num_partitions": reply.num_partitions,
        "enable_dynamic_field": reply.schema.enable_dynamic_field,
        "schema_version": reply.schema.version,
        "created_timestamp": reply.created_utc_timestamp or reply.created_timestamp >> 18,
        "update_timestamp": reply.update_timestamp >> 18,
    }


def schema_of_reply(reply: Any) -> CollectionSchema:
    """The :class:`CollectionSchema` of a DescribeCollectionResponse (Milvus's ``$meta``
    field left out: ``enable_dynamic_field`` stands for it; function outputs marked, as
    the server computes them)."""
    functions = [function_from_proto(f) for f in reply.schema.functions]
    outputs = {name for function in functions for name in function.output_field_names}
    fields = []
    for proto in reply.schema.fields:
        if proto.is_dynamic:
            continue
        field = field_from_proto(proto)
        field.field_id = proto.fieldID
        field.is_function_output = proto.is_function_output or field.name in outputs
        fields.append(field)
    return CollectionSchema(fields, reply.schema.description, functions,
                            auto_id=any(f.auto_id for f in fields),
                            enable_dynamic_field=reply.schema.enable_dynamic_field)


# ---- writes ------------------------------------------------------------------------------
def rows_fields_data(schema: CollectionSchema, rows: list[dict]) -> tuple[list, int]:
    """``rows`` (checked like the engine checks them) as request FieldData columns: the
    valid values of nullable columns plus ``valid_data``; auto_id keys and function
    outputs are left to the server."""
    outputs = [f for f in schema.fields if f.is_function_output]
    auto_pk = schema.primary_field.auto_id if schema.primary_field is not None else False
    batch = rows_to_batch(schema, rows, allow_pk=False,
                          pk_values=np.zeros(len(rows), np.int64) if auto_pk else None,
                          function_outputs=lambda _: {
                              f.name: pa.nulls(len(rows), arrow_type(f)) for f in outputs})
    skipped = {f.name for f in outputs} | {f.name for f in schema.fields
                                           if f.is_primary and f.auto_id}
    columns = []
    for name in batch.schema.names:
        if name in skipped:
            continue
        column = batch.column(name)
        field = None if name == DYNAMIC_FIELD else schema.field(name)
        if column.null_count and field is not None and not field.is_vector:
            fd = field_data_from_arrow(name, column.drop_null(), field)
            fd.valid_data.extend(column.is_valid().to_numpy(zero_copy_only=False).tolist())
        else:
            fd = field_data_from_arrow(name, column, field)
        columns.append(fd)
    return columns, batch.num_rows


def pk_filter(schema: CollectionSchema, ids: list) -> str:
    """The filter selecting rows by primary key (JSON quoting for string keys)."""
    pk = schema.primary_field
    return f"{pk.name} in {json.dumps(list(ids))}"


def template_map(values: dict | None) -> dict:
    return {k: template_value_proto(v) for k, v in (values or {}).items()}


# ---- reads -------------------------------------------------------------------------------
def result_rows(fields_data: Any, output_fields: list[str], schema: CollectionSchema,
                wrap_bytes: bool) -> list[dict]:
    """Result FieldData as the engine's row dicts (vectors presented as the engine does)."""
    columns: dict[str, pa.Array] = {}
    num_rows = 0
    for fd in fields_data:
        name = DYNAMIC_FIELD if fd.is_dynamic else fd.field_name
        field = None if fd.is_dynamic else schema.field(name)
        values = field_data_to_arrow(fd, field)
        if len(fd.valid_data):
            values = _expand_nulls(fd, values.filter(pa.array(list(fd.valid_data))),
                                   len(fd.valid_data))
        columns[name] = values
        num_rows = max(num_rows, len(values))
    if not columns:
        return []
    table = pa.table(columns)
    vector_fields = [f for f in schema.fields if f.is_vector and f.name in columns]
    table = present_vectors(table, {f.name: layout_of(f) for f in vector_fields}, wrap_bytes)
    names = set(columns)
    extra = [n for n in output_fields if n not in names and n != DYNAMIC_FIELD]
    dynamic: Any = True if DYNAMIC_FIELD in output_fields else (set(extra) or False)
    json_columns = [f.name for f in schema.fields if f.dtype == DataType.JSON]
    sparse = [f.name for f in vector_fields if f.dtype == DataType.SPARSE_FLOAT_VECTOR]
    return table_to_rows(table, json_columns, dynamic, sparse)


def query_rows(reply: Any, schema: CollectionSchema) -> list[dict]:
    if list(reply.output_fields) == [COUNT_STAR]:
        return [{COUNT_STAR: int(reply.fields_data[0].scalars.long_data.data[0])}]
    return result_rows(reply.fields_data, list(reply.output_fields), schema, wrap_bytes=True)


def search_hits(reply: Any, schema: CollectionSchema, round_decimal: int = -1) -> dict:
    """A SearchResults reply as the engine's ``search`` answer. Scores travel as float32:
    with ``round_decimal`` they are rounded again here (as pymilvus does), so 0.12 reads
    0.12 rather than its nearest float32."""
    data = reply.results
    ids = ids_values(data.ids)
    scores = round_distances(np.array(data.scores, dtype=np.float32), round_decimal).tolist()
    rows = result_rows(data.fields_data, list(data.output_fields), schema, wrap_bytes=False)
    if not rows:
        rows = [{} for _ in ids]
    bounds = np.concatenate([[0], np.cumsum(list(data.topks), dtype=np.int64)]).tolist()
    hits = [SearchHits(ids[a:b], scores[a:b], rows[a:b])
            for a, b in zip(bounds[:-1], bounds[1:])]
    return {"pk_name": data.primary_field_name or schema.primary_field.name, "hits": hits}


def placeholder_group(data: Any, field: Any) -> tuple[bytes, int]:
    """Query vectors for ``field`` (a FieldSchema, or None when unknown) as a serialized
    PlaceholderGroup and their count."""
    field_type = field.dtype if field is not None else None
    is_sparse = field_type == DataType.SPARSE_FLOAT_VECTOR
    if not (is_sparse and is_scipy_sparse(data)):
        data = list(data)
    if is_sparse and isinstance(data, list) and all(isinstance(q, str) for q in data):
        kind, values = common_pb2.VarChar, [q.encode("utf-8") for q in data]
    elif is_sparse:
        kind, values = common_pb2.SparseFloatVector, _sparse_queries(data, field.name)
    elif field_type in _PLACEHOLDER_TYPES:
        kind = _PLACEHOLDER_TYPES[field_type]
        values = [_vector_bytes(q, field_type) for q in data]
    else:
        kind = common_pb2.FloatVector
        values = [np.asarray(q, dtype="<f4").tobytes() for q in data]
    holder = common_pb2.PlaceholderValue(tag="$0", type=kind, values=values)
    return common_pb2.PlaceholderGroup(placeholders=[holder]).SerializeToString(), len(values)


def _sparse_queries(data: Any, field_name: str) -> list[bytes]:
    """Sparse queries in any form the engine takes (dicts, pairs, scipy rows or matrix),
    checked as the engine checks them, as Milvus's (uint32 index, float32 value) bytes."""
    indptr, indices, weights = sparse_csr(data, field_name, "query")
    entries = np.empty(len(indices), dtype=[("index", "<u4"), ("value", "<f4")])
    entries["index"] = indices
    entries["value"] = weights
    raw, size = entries.tobytes(), entries.itemsize
    return [raw[a * size:b * size] for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist())]


def _vector_bytes(query: Any, field_type: DataType) -> bytes:
    if isinstance(query, bytes):
        return query
    if field_type == DataType.INT8_VECTOR:
        return np.asarray(query, dtype=np.int8).tobytes()
    if field_type == DataType.FLOAT16_VECTOR:
        return np.asarray(query, dtype="<f2").tobytes()
    raise ParamError(f"query vectors of a {field_type.name} field must be bytes or arrays")


def search_params(arguments: dict) -> list:
    """The ``search_params`` pairs of a search request."""
    params = dict(arguments.get("params") or {})
    pairs = {"topk": arguments["limit"], "params": params,
             "round_decimal": arguments.get("round_decimal", -1),
             "offset": arguments.get("offset", 0) or 0}
    for key in ("anns_field", "metric_type", "group_by_field", "group_size",
                "strict_group_size"):
        if arguments.get(key) is not None:
            pairs[key] = arguments[key]
    return kv_pairs(pairs)


def index_extra_params(spec: dict) -> list:
    params = {"index_type": spec.get("index_type") or "", "params": spec.get("params") or {}}
    if spec.get("metric_type"):
        params["metric_type"] = spec["metric_type"]
    return kv_pairs(params)


def index_info(description: Any) -> dict:
    """An IndexDescription as the engine's ``describe_index`` dict."""
    info: dict[str, Any] = {}
    for key, text in kv_dict(description.params).items():
        try:
            info[key] = json.loads(text)
        except ValueError:
            info[key] = text
    info.update(field_name=description.field_name, index_name=description.index_name,
                total_rows=description.total_rows, indexed_rows=description.indexed_rows,
                pending_index_rows=description.pending_index_rows,
                state=common_pb2.IndexState.Name(description.state))
    return info


# ---- analyzers (grpcops) ------------------------------------------------------------------
_TOKEN_DETAIL = ("start_offset", "end_offset", "position", "position_length")


def analyzer_tokens(result: Any, with_hash: bool, with_detail: bool) -> list:
    """An AnalyzerResult as the engine's tokens: strings, or dicts holding the details
    and hash asked for (pymilvus's AnalyzeToken keys)."""
    if not with_hash and not with_detail:
        return [token.token for token in result.tokens]
    keys = ("token", *(_TOKEN_DETAIL if with_detail else ()), *(("hash",) if with_hash else ()))
    return [{key: getattr(token, key) for key in keys} for token in result.tokens]


__all__ = ["describe_dict", "schema_of_reply", "rows_fields_data", "pk_filter",
           "query_rows", "search_hits", "placeholder_group", "search_params", "milvus_pb2",
           "schema_pb2", "template_map", "index_extra_params", "index_info",
           "analyzer_tokens"]
