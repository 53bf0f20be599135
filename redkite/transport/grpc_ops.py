"""One generator per engine operation: yields ``(rpc, request)``, receives the reply,
returns what the engine's method returns (see :mod:`.grpc`)."""

from __future__ import annotations

import json
from typing import Any

from ..protocol import common_pb2, milvus_pb2
from ..protocol.schema_codec import field_to_proto, function_to_proto, schema_to_proto
from ..protocol.values import kv_dict, kv_pairs
from ..types import LoadState
from . import grpc_codec as codec

M = milvus_pb2
Status = common_pb2.Status
REPLIES = {
    "CreateCollection": Status, "DropCollection": Status, "LoadCollection": Status,
    "ReleaseCollection": Status, "CreateIndex": Status, "DropIndex": Status,
    "CreatePartition": Status, "DropPartition": Status, "CreateDatabase": Status,
    "DropDatabase": Status, "RenameCollection": Status,
    "DescribeCollection": M.DescribeCollectionResponse, "HasCollection": M.BoolResponse,
    "HasPartition": M.BoolResponse, "ShowCollections": M.ShowCollectionsResponse,
    "ShowPartitions": M.ShowPartitionsResponse, "Insert": M.MutationResult,
    "Upsert": M.MutationResult, "Delete": M.MutationResult, "Query": M.QueryResults,
    "Search": M.SearchResults, "GetLoadState": M.GetLoadStateResponse,
    "Flush": M.FlushResponse, "DescribeIndex": M.DescribeIndexResponse,
    "GetCollectionStatistics": M.GetCollectionStatisticsResponse,
    "ListDatabases": M.ListDatabasesResponse,
}
STAMP_KEY = "schema_timestamp"


def _db(db_name: str | None) -> str:
    return db_name or ""


def create_collection(t, db_name, name, schema, index_params, load, consistency_level,
                      num_shards, properties):
    t.schemas.invalidate(db_name, name)
    level = consistency_level if consistency_level is not None else "Bounded"
    if isinstance(level, str):
        level = common_pb2.ConsistencyLevel.Value(level)
    yield "CreateCollection", M.CreateCollectionRequest(
        db_name=_db(db_name), collection_name=name,
        schema=schema_to_proto(schema, name).SerializeToString(), shards_num=num_shards or 1,
        consistency_level=level, properties=kv_pairs(properties or {}))
    for spec in index_params:
        yield from create_index(t, db_name, name, spec)
    if load:
        yield from load_collection(t, db_name, name)


def describe_collection(t, db_name, name):
    reply = yield "DescribeCollection", M.DescribeCollectionRequest(
        db_name=_db(db_name), collection_name=name)
    return codec.describe_dict(reply)


def has_collection(t, db_name, name):
    reply = yield "HasCollection", M.HasCollectionRequest(db_name=_db(db_name),
                                                          collection_name=name)
    return reply.value


def list_collections(t, db_name=None):
    reply = yield "ShowCollections", M.ShowCollectionsRequest(db_name=_db(db_name))
    return list(reply.collection_names)


def drop_collection(t, db_name, name):
    t.schemas.invalidate(db_name, name)
    yield "DropCollection", M.DropCollectionRequest(db_name=_db(db_name), collection_name=name)


def rename_collection(t, db_name, old_name, new_name, new_db_name=None):
    t.schemas.invalidate(db_name, old_name)
    yield "RenameCollection", M.RenameCollectionRequest(
        db_name=_db(db_name), oldName=old_name, newName=new_name, newDBName=new_db_name or "")


def load_collection(t, db_name, name):
    yield "LoadCollection", M.LoadCollectionRequest(db_name=_db(db_name), collection_name=name)


def release_collection(t, db_name, name):
    yield "ReleaseCollection", M.ReleaseCollectionRequest(db_name=_db(db_name),
                                                          collection_name=name)


def get_load_state(t, db_name, name, partition_name=""):
    reply = yield "GetLoadState", M.GetLoadStateRequest(
        db_name=_db(db_name), collection_name=name,
        partition_names=[partition_name] if partition_name else [])
    return {"state": LoadState(reply.state)}


def get_collection_stats(t, db_name, name):
    reply = yield "GetCollectionStatistics", M.GetCollectionStatisticsRequest(
        db_name=_db(db_name), collection_name=name)
    return {k: int(v) if v.isdigit() else v for k, v in kv_dict(reply.stats).items()}


def flush(t, db_name, name):
    yield "Flush", M.FlushRequest(db_name=_db(db_name), collection_names=[name])


def create_index(t, db_name, name, spec):
    yield "CreateIndex", M.CreateIndexRequest(
        db_name=_db(db_name), collection_name=name, field_name=spec.get("field_name", ""),
        index_name=spec.get("index_name") or "", extra_params=codec.index_extra_params(spec))


def describe_index(t, db_name, name, index_name):
    reply = yield "DescribeIndex", M.DescribeIndexRequest(
        db_name=_db(db_name), collection_name=name, index_name=index_name)
    return codec.index_info(reply.index_descriptions[0])


def list_indexes(t, db_name, name, field_name=""):
    reply = yield "DescribeIndex", M.DescribeIndexRequest(
        db_name=_db(db_name), collection_name=name, field_name=field_name)
    return [d.index_name for d in reply.index_descriptions]


def drop_index(t, db_name, name, index_name):
    yield "DropIndex", M.DropIndexRequest(db_name=_db(db_name), collection_name=name,
                                          index_name=index_name)


def create_partition(t, db_name, name, partition_name):
    yield "CreatePartition", M.CreatePartitionRequest(
        db_name=_db(db_name), collection_name=name, partition_name=partition_name)


def drop_partition(t, db_name, name, partition_name):
    yield "DropPartition", M.DropPartitionRequest(
        db_name=_db(db_name), collection_name=name, partition_name=partition_name)


def has_partition(t, db_name, name, partition_name):
    reply = yield "HasPartition", M.HasPartitionRequest(
        db_name=_db(db_name), collection_name=name, partition_name=partition_name)
    return reply.value


def list_partitions(t, db_name, name):
    reply = yield "ShowPartitions", M.ShowPartitionsRequest(db_name=_db(db_name),
                                                            collection_name=name)
    return list(reply.partition_names)


def create_database(t, db_name, properties=None):
    yield "CreateDatabase", M.CreateDatabaseRequest(db_name=db_name,
                                                    properties=kv_pairs(properties or {}))


def drop_database(t, db_name):
    t.schemas.invalidate(db_name)
    yield "DropDatabase", M.DropDatabaseRequest(db_name=db_name)


def list_databases(t):
    reply = yield "ListDatabases", M.ListDatabasesRequest()
    return list(reply.db_names)


# ---- data ----------------------------------------------------------------------------------
def _write(t, operation, db_name, collection_name, rows, partition_name=""):
    request_class = M.InsertRequest if operation == "insert" else M.UpsertRequest

    def body(entry):
        fields_data, num_rows = codec.rows_fields_data(entry.schema, rows)
        reply = yield operation.capitalize(), request_class(
            db_name=_db(db_name), collection_name=collection_name,
            partition_name=partition_name or "", fields_data=fields_data, num_rows=num_rows,
            schema_timestamp=entry.stamp)
        count = reply.insert_cnt if operation == "insert" else reply.upsert_cnt
        return {f"{operation}_count": int(count), "ids": codec.ids_values(reply.IDs)}
    return (yield from t.with_schema(db_name, collection_name, body))


def insert(t, db_name, collection_name, rows, partition_name=""):
    return (yield from _write(t, "insert", db_name, collection_name, rows, partition_name))


def upsert(t, db_name, collection_name, rows, partition_name=""):
    return (yield from _write(t, "upsert", db_name, collection_name, rows, partition_name))


def _stamped(entry):
    return common_pb2.MsgBase(properties={STAMP_KEY: str(entry.stamp)})


def delete(t, db_name, collection_name, ids=None, filter="", partition_name="",
           filter_params=None):
    def body(entry):
        expr = codec.pk_filter(entry.schema, ids) if ids is not None else filter
        reply = yield "Delete", M.DeleteRequest(
            base=_stamped(entry) if ids is not None else None, db_name=_db(db_name),
            collection_name=collection_name, partition_name=partition_name or "", expr=expr,
            expr_template_values=codec.template_map(filter_params))
        return {"delete_count": int(reply.delete_cnt)}
    return (yield from t.with_schema(db_name, collection_name, body))


def query(t, db_name, collection_name, filter="", output_fields=None, limit=None, offset=0,
          partition_names=None, filter_params=None, ids=None, pk_after=None):
    def body(entry):
        expr = filter
        if ids is not None:
            expr = codec.pk_filter(entry.schema, ids)
        if pk_after is not None:
            after = f"{entry.schema.primary_field.name} > {json.dumps(pk_after)}"
            expr = f"({expr}) and {after}" if expr else after
        params = {"offset": offset or 0}
        if limit is not None:
            params["limit"] = limit
        reply = yield "Query", M.QueryRequest(
            base=_stamped(entry) if ids is not None else None, db_name=_db(db_name),
            collection_name=collection_name, expr=expr, output_fields=output_fields or [],
            partition_names=partition_names or [], query_params=kv_pairs(params),
            expr_template_values=codec.template_map(filter_params))
        return codec.query_rows(reply, entry.schema)
    return (yield from t.with_schema(db_name, collection_name, body))


def search(t, db_name, collection_name, data, **arguments):
    entry = yield from t.schema_steps(db_name, collection_name)
    field_type = _anns_type(entry.schema, arguments.get("anns_field"))
    group, nq = codec.placeholder_group(data, field_type)
    reply = yield "Search", M.SearchRequest(
        db_name=_db(db_name), collection_name=collection_name, placeholder_group=group,
        nq=nq, dsl=arguments.get("filter") or "", dsl_type=common_pb2.BoolExprV1,
        output_fields=arguments.get("output_fields") or [],
        partition_names=arguments.get("partition_names") or [],
        search_params=codec.search_params(arguments),
        expr_template_values=codec.template_map(arguments.get("filter_params")))
    return codec.search_hits(reply, entry.schema)


def _anns_type(schema, anns_field):
    vectors = [f for f in schema.fields if f.is_vector]
    field = schema.field(anns_field) if anns_field else (vectors[0] if vectors else None)
    return field.dtype if field is not None else None


OPERATIONS = {f.__name__: f for f in (
    create_collection, describe_collection, has_collection, list_collections,
    drop_collection, rename_collection, load_collection, release_collection, get_load_state,
    get_collection_stats, flush, create_index, describe_index, list_indexes, drop_index,
    create_partition, drop_partition, has_partition, list_partitions, create_database,
    drop_database, list_databases, insert, upsert, delete, query, search)}


# ---- schema and property changes -----------------------------------------------------------
REPLIES.update({
    "AlterCollection": Status, "AlterCollectionField": Status, "AddCollectionField": Status,
    "AlterCollectionSchema": M.AlterCollectionSchemaResponse,
    "AddCollectionFunction": Status, "AlterCollectionFunction": Status,
    "DropCollectionFunction": Status, "AlterIndex": Status, "AlterDatabase": Status,
    "FlushAll": M.FlushAllResponse, "GetFlushAllState": M.GetFlushAllStateResponse,
})


def alter_collection_properties(t, db_name, name, properties):
    t.schemas.invalidate(db_name, name)
    yield "AlterCollection", M.AlterCollectionRequest(
        db_name=_db(db_name), collection_name=name, properties=kv_pairs(properties))


def drop_collection_properties(t, db_name, name, property_keys):
    t.schemas.invalidate(db_name, name)
    yield "AlterCollection", M.AlterCollectionRequest(
        db_name=_db(db_name), collection_name=name, delete_keys=property_keys)


def alter_collection_field(t, db_name, name, field_name, field_params):
    t.schemas.invalidate(db_name, name)
    yield "AlterCollectionField", M.AlterCollectionFieldRequest(
        db_name=_db(db_name), collection_name=name, field_name=field_name,
        properties=kv_pairs(field_params))


def add_collection_field(t, db_name, name, field):
    t.schemas.invalidate(db_name, name)
    yield "AddCollectionField", M.AddCollectionFieldRequest(
        db_name=_db(db_name), collection_name=name,
        schema=field_to_proto(field.to_dict()).SerializeToString())


def drop_collection_field(t, db_name, name, field_name):
    t.schemas.invalidate(db_name, name)
    request = M.AlterCollectionSchemaRequest(db_name=_db(db_name), collection_name=name)
    request.action.drop_request.field_name = field_name
    yield "AlterCollectionSchema", request


def add_collection_function(t, db_name, name, function):
    t.schemas.invalidate(db_name, name)
    yield "AddCollectionFunction", M.AddCollectionFunctionRequest(
        db_name=_db(db_name), collection_name=name,
        functionSchema=function_to_proto(function.to_dict()))


def alter_collection_function(t, db_name, name, function_name, function):
    t.schemas.invalidate(db_name, name)
    yield "AlterCollectionFunction", M.AlterCollectionFunctionRequest(
        db_name=_db(db_name), collection_name=name, function_name=function_name,
        functionSchema=function_to_proto(function.to_dict()))


def drop_collection_function(t, db_name, name, function_name):
    t.schemas.invalidate(db_name, name)
    yield "DropCollectionFunction", M.DropCollectionFunctionRequest(
        db_name=_db(db_name), collection_name=name, function_name=function_name)


def alter_index_properties(t, db_name, name, index_name, properties):
    yield "AlterIndex", M.AlterIndexRequest(
        db_name=_db(db_name), collection_name=name, index_name=index_name,
        extra_params=kv_pairs(properties))


def drop_index_properties(t, db_name, name, index_name, property_keys):
    yield "AlterIndex", M.AlterIndexRequest(
        db_name=_db(db_name), collection_name=name, index_name=index_name,
        delete_keys=property_keys)


def alter_database_properties(t, db_name, properties):
    yield "AlterDatabase", M.AlterDatabaseRequest(db_name=db_name,
                                                  properties=kv_pairs(properties))


def drop_database_properties(t, db_name, property_keys):
    yield "AlterDatabase", M.AlterDatabaseRequest(db_name=db_name, delete_keys=property_keys)


def flush_all(t):
    """FlushAll, then one GetFlushAllState for its timestamp (redkite serve flushes before
    it answers; a Milvus may still be flushing: see get_flush_all_state)."""
    reply = yield "FlushAll", M.FlushAllRequest()
    t.flush_all_ts = reply.flush_all_ts
    yield "GetFlushAllState", M.GetFlushAllStateRequest(flush_all_ts=reply.flush_all_ts)


def get_flush_all_state(t):
    """Whether the last flush_all of this transport (if any) has completed."""
    reply = yield "GetFlushAllState", M.GetFlushAllStateRequest(
        flush_all_ts=t.flush_all_ts)
    return bool(reply.flushed)


OPERATIONS.update({f.__name__: f for f in (
    alter_collection_properties, drop_collection_properties, alter_collection_field,
    add_collection_field, drop_collection_field, add_collection_function,
    alter_collection_function, drop_collection_function, alter_index_properties,
    drop_index_properties, alter_database_properties, drop_database_properties, flush_all,
    get_flush_all_state)})
