"""``/v2/vectordb/entities/*``: insert, upsert, delete, get, query, search, hybrid_search
(spec §4.2, §5-§7, §10). Row encoding lives in :mod:`..rows`, search-argument conversion in
:mod:`..search_args`.

Better than Milvus: Int64 values beyond 2^53 never lose precision (in and out), ARRAY fields
are plain JSON arrays, ``searchParams.metricType`` is checked against the index, and a query
window beyond ``offset + limit = 16384`` is served (page by page, by primary key).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ....errors import ParamError
from ..framework import (
    ANY_ARRAY, BOOL, INT, OBJ, STR, STRS, Reply, RestCall, Route, missing_error, obj,
)
from ..rows import ids_in, int64_out, keys_out, rows_in, rows_out
from ..schema_json import consistency_level
from ..search_args import hybrid_arguments, search_arguments, search_reply

P = "/v2/vectordb/entities/"
COUNT_STAR = "count(*)"
MAX_WINDOW = 16384  # the engine's largest limit + offset per call
DEFAULT_LIMIT = 100


def _collection(call: RestCall) -> str:
    return call.body.str_("collectionName", required=True)


def _schema(call: RestCall, name: str):
    return call.db.schema_of(call.db_name, name)[0]


def _data(call: RestCall) -> Any:
    """``data``, read case-sensitively as Milvus does (1802 when missing or empty)."""
    data = call.body.raw.get("data")
    if data is None or data == []:
        raise missing_error("data")
    return data


# ---- writes ----------------------------------------------------------------------------------
def insert(call: RestCall) -> Reply:
    name = _collection(call)
    schema = _schema(call, name)
    result = call.db.insert(call.db_name, name, rows_in(schema, _data(call)),
                            partition_name=call.body.str_("partitionName", ""))
    ids = keys_out(result["ids"], schema.primary_field.dtype, call.int64_as_string)
    return Reply({"insertCount": result["insert_count"], "insertIds": ids}, {"cost": 0})


def upsert(call: RestCall) -> Reply:
    name = _collection(call)
    schema = _schema(call, name)
    rows = rows_in(schema, _data(call))
    operations = call.body.list_("fieldOps", [])
    if any(not isinstance(op, dict) or op.get("op", "REPLACE") != "REPLACE"
           for op in operations):
        raise ParamError("upsert: fieldOps other than REPLACE (ARRAY_APPEND, ARRAY_REMOVE) "
                         "are not supported by redkite")
    if call.body.bool_("partialUpdate", False):
        rows = _merge_partial(call, name, schema, rows)
    result = call.db.upsert(call.db_name, name, rows,
                            partition_name=call.body.str_("partitionName", ""))
    ids = keys_out(result["ids"], schema.primary_field.dtype, call.int64_as_string)
    return Reply({"upsertCount": result["upsert_count"], "upsertIds": ids}, {"cost": 0})


def _merge_partial(call: RestCall, name: str, schema: Any, rows: list[dict]) -> list[dict]:
    """Partial update: each row's absent keys keep the stored values (rows whose key is
    not stored are upserted as given). Reads the stored rows first: not atomic with
    concurrent writers of the same keys."""
    pk = schema.primary_field.name
    missing = next((i for i, row in enumerate(rows) if row.get(pk) is None), None)
    if missing is not None:
        raise ParamError(f"upsert needs the primary key field `{pk}` in every row; row "
                         f"{missing} has none")
    stored = call.db.query(call.db_name, name, ids=[row[pk] for row in rows],
                           output_fields=["*"], columnar=True)
    by_key = {row[pk]: row for row in rows_out(stored.table, stored.plan, schema, False)}
    outputs = {f.name for f in schema.fields if f.is_function_output}
    merged = []
    for row in rows:
        base = by_key.get(row[pk])
        if base is None:
            merged.append(row)
            continue
        base = {k: v for k, v in base.items() if k not in outputs}
        base.update(row)
        merged.append(base)
    return rows_in(schema, merged)


def delete(call: RestCall) -> dict:
    result = call.db.delete(call.db_name, _collection(call),
                            filter=call.body.str_("filter", required=True),
                            partition_name=call.body.str_("partitionName", ""),
                            filter_params=call.body.dict_("exprParams") or None)
    return {"deleteCount": result["delete_count"]}


# ---- reads -----------------------------------------------------------------------------------
def _output_fields(call: RestCall, schema: Any) -> list[str]:
    """``outputFields``: absent means every field, ``[]`` only the primary key."""
    fields = call.body.str_list("outputFields")
    if fields is None:
        return ["*"]
    return fields or [schema.primary_field.name]


def _rows_reply(call: RestCall, schema: Any, result: Any) -> Reply:
    if isinstance(result, list):  # count(*)
        count = int64_out([result[0][COUNT_STAR]], call.int64_as_string)
        count = count if isinstance(count, list) else count.to_pylist()
        return Reply([{COUNT_STAR: count[0]}], {"cost": 0})
    return Reply(rows_out(result.table, result.plan, schema, call.int64_as_string),
                 {"cost": 0})


def get(call: RestCall) -> Reply:
    name = _collection(call)
    if "id" not in call.body.raw or call.body.raw["id"] in (None, 0, "", []):
        raise missing_error("id")
    schema = _schema(call, name)
    consistency_level(call.body.get("consistencyLevel"))
    ids = ids_in(call.body.raw["id"], schema.primary_field.dtype)
    result = call.db.query(call.db_name, name, ids=ids,
                           output_fields=_output_fields(call, schema),
                           partition_names=call.body.str_list("partitionNames") or None,
                           columnar=True)
    return _rows_reply(call, schema, result)


def query(call: RestCall) -> Reply:
    name = _collection(call)
    schema = _schema(call, name)
    consistency_level(call.body.get("consistencyLevel"))
    limit = call.body.int_("limit", DEFAULT_LIMIT)
    offset = call.body.int_("offset", 0)
    if offset < 0:
        raise ParamError(f"`offset` value {offset} is illegal: it must be a non-negative int")
    arguments = dict(filter=call.body.str_("filter", ""),
                     output_fields=_output_fields(call, schema),
                     partition_names=call.body.str_list("partitionNames") or None,
                     filter_params=call.body.dict_("exprParams") or None, columnar=True)
    limit = limit if limit > 0 else None
    if arguments["output_fields"] == [COUNT_STAR] or limit is None \
            or limit + offset <= MAX_WINDOW:
        result = call.db.query(call.db_name, name, limit=limit, offset=offset, **arguments)
        return _rows_reply(call, schema, result)
    return _rows_reply(call, schema, _wide_query(call, name, schema, limit, offset, arguments))


def _wide_query(call: RestCall, name: str, schema: Any, limit: int, offset: int,
                arguments: dict) -> Any:
    """A query window past 16384 rows: pages of at most 16384 rows in primary-key order,
    each continuing after the last key of the previous one."""
    pk = schema.primary_field.name
    skip_arguments = {**arguments, "output_fields": [pk]}
    after = None
    while offset > 0:  # walk past the offset reading keys only
        page = call.db.query(call.db_name, name, limit=min(offset, MAX_WINDOW),
                             pk_after=after, **skip_arguments)
        if page.table.num_rows == 0:
            return page
        after = page.table.column(pk)[-1].as_py()
        offset -= page.table.num_rows
    pages = []
    while limit > 0:
        page = call.db.query(call.db_name, name, limit=min(limit, MAX_WINDOW), pk_after=after,
                             **arguments)
        pages.append(page)
        if page.table.num_rows == 0:
            break
        after = page.table.column(pk)[-1].as_py() if pk in page.table.column_names else None
        limit -= page.table.num_rows
        if after is None:
            raise ParamError("a query window past 16384 rows needs the primary key among "
                             "the output fields")
    first = pages[0]
    first.table = pa.concat_tables([p.table for p in pages])
    return first


def search(call: RestCall) -> Reply:
    name = _collection(call)
    schema = _schema(call, name)
    arguments = search_arguments(call, name, schema)
    return search_reply(call.db.search(call.db_name, name, **arguments), schema,
                        call.int64_as_string)


def hybrid_search(call: RestCall) -> Reply:
    name = _collection(call)
    schema = _schema(call, name)
    arguments = hybrid_arguments(call, schema)
    return search_reply(call.db.hybrid_search(call.db_name, name, **arguments), schema,
                        call.int64_as_string)


ROWS = {"type": "array", "items": {"type": "object"}}
SEARCH = obj(("collectionName",), collectionName=STR, data=ANY_ARRAY, ids=ANY_ARRAY,
             annsField=STR, filter=STR, exprParams=OBJ, limit=INT, offset=INT,
             outputFields=STRS, partitionNames=STRS, groupingField=STR, groupSize=INT,
             strictGroupSize=BOOL, searchParams=OBJ, consistencyLevel=STR)
HYBRID = obj(("collectionName", "search"), collectionName=STR, search={
    "type": "array", "items": {"type": "object", "properties": {
        "data": ANY_ARRAY, "annsField": STR, "filter": STR, "limit": INT, "offset": INT,
        "params": OBJ, "exprParams": OBJ, "metricType": STR}}},
    rerank={"type": "object", "properties": {"strategy": STR, "params": OBJ}}, limit=INT,
    offset=INT, outputFields=STRS, partitionNames=STRS, consistencyLevel=STR)
WRITE = obj(("collectionName", "data"), collectionName=STR, partitionName=STR, data=ROWS)

ROUTES = [
    Route(P + "insert", insert, WRITE, "Insert", "insert rows"),
    Route(P + "upsert", upsert, obj(("collectionName", "data"), collectionName=STR,
                                    partitionName=STR, data=ROWS, partialUpdate=BOOL,
                                    fieldOps={"type": "array", "items": OBJ}),
          "Upsert", "insert or replace rows by primary key (partialUpdate: merge)"),
    Route(P + "delete", delete, obj(("collectionName", "filter"), collectionName=STR,
                                    filter=STR, exprParams=OBJ, partitionName=STR),
          "Delete", "delete the rows matching a filter"),
    Route(P + "get", get, obj(("collectionName", "id"), collectionName=STR, id={},
                              outputFields=STRS, partitionNames=STRS, consistencyLevel=STR),
          "Query", "rows by primary key"),
    Route(P + "query", query, obj(("collectionName",), collectionName=STR, filter=STR,
                                  outputFields=STRS, limit=INT, offset=INT,
                                  partitionNames=STRS, exprParams=OBJ, consistencyLevel=STR),
          "Query", "rows matching a filter, in primary-key order"),
    Route(P + "search", search, SEARCH, "Search", "vector search (by vectors or by ids)"),
    Route(P + "hybrid_search", hybrid_search, HYBRID, "HybridSearch",
          "several vector searches fused by a reranker"),
    Route(P + "advanced_search", hybrid_search, HYBRID, "HybridSearch",
          "alias of hybrid_search"),
]
