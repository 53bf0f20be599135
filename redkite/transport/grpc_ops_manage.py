"""gRPC operations beyond rows and collections: aliases, database and partition details,
partial load, truncation, compaction, analyzers, hybrid search and the server's version.

Each is a generator as in :mod:`.grpc_ops` (yields ``(rpc, request)``, receives the
checked reply, returns what the embedded engine's method returns), sending the requests
pymilvus 3.0.2 sends, so they work against Milvus as well as ``redkite serve``.
"""

from __future__ import annotations

import json

from ..protocol import common_pb2, milvus_pb2
from ..protocol.values import kv_dict, kv_pairs
from . import grpc_codec as codec
from .grpc_ops import _db, anns_field_of

M = milvus_pb2
Status = common_pb2.Status
REPLIES = {
    "CreateAlias": Status, "AlterAlias": Status, "DropAlias": Status,
    "DescribeAlias": M.DescribeAliasResponse, "ListAliases": M.ListAliasesResponse,
    "DescribeDatabase": M.DescribeDatabaseResponse,
    "GetPartitionStatistics": M.GetPartitionStatisticsResponse,
    "LoadPartitions": Status, "ReleasePartitions": Status,
    "TruncateCollection": M.TruncateCollectionResponse,
    "ManualCompaction": M.ManualCompactionResponse,
    "GetCompactionState": M.GetCompactionStateResponse,
    "RunAnalyzer": M.RunAnalyzerResponse, "HybridSearch": M.SearchResults,
    "GetVersion": M.GetVersionResponse, "Connect": M.ConnectResponse,
}


# ---- aliases -------------------------------------------------------------------------------
def create_alias(t, db_name, name, alias):
    yield "CreateAlias", M.CreateAliasRequest(db_name=_db(db_name), collection_name=name,
                                              alias=alias)


def alter_alias(t, db_name, name, alias):
    t.schemas.invalidate(db_name, alias)
    yield "AlterAlias", M.AlterAliasRequest(db_name=_db(db_name), collection_name=name,
                                            alias=alias)


def drop_alias(t, db_name, alias):
    t.schemas.invalidate(db_name, alias)
    yield "DropAlias", M.DropAliasRequest(db_name=_db(db_name), alias=alias)


def describe_alias(t, db_name, alias):
    reply = yield "DescribeAlias", M.DescribeAliasRequest(db_name=_db(db_name), alias=alias)
    return {"alias": reply.alias or alias, "collection_name": reply.collection,
            "db_name": reply.db_name or db_name or "default"}


def list_aliases(t, db_name, name=""):
    reply = yield "ListAliases", M.ListAliasesRequest(db_name=_db(db_name),
                                                      collection_name=name)
    return {"aliases": sorted(reply.aliases), "collection_name": reply.collection_name,
            "db_name": reply.db_name or db_name or "default"}


# ---- databases and partitions --------------------------------------------------------------
def describe_database(t, db_name):
    reply = yield "DescribeDatabase", M.DescribeDatabaseRequest(db_name=db_name)
    return {"name": reply.db_name, **kv_dict(reply.properties)}


def get_partition_stats(t, db_name, name, partition_name):
    reply = yield "GetPartitionStatistics", M.GetPartitionStatisticsRequest(
        db_name=_db(db_name), collection_name=name, partition_name=partition_name)
    return {k: int(v) if v.isdigit() else v for k, v in kv_dict(reply.stats).items()}


def load_partitions(t, db_name, name, partition_names):
    yield "LoadPartitions", M.LoadPartitionsRequest(
        db_name=_db(db_name), collection_name=name, partition_names=partition_names)


def release_partitions(t, db_name, name, partition_names):
    yield "ReleasePartitions", M.ReleasePartitionsRequest(
        db_name=_db(db_name), collection_name=name, partition_names=partition_names)


# ---- maintenance ---------------------------------------------------------------------------
def truncate_collection(t, db_name, name):
    yield "TruncateCollection", M.TruncateCollectionRequest(db_name=_db(db_name),
                                                            collection_name=name)


def compact(t, db_name, name):
    reply = yield "ManualCompaction", M.ManualCompactionRequest(
        db_name=_db(db_name), collection_name=name, majorCompaction=False, l0Compaction=False)
    return int(reply.compactionID)


def get_compaction_state(t, job_id):
    reply = yield "GetCompactionState", M.GetCompactionStateRequest(compactionID=job_id)
    return common_pb2.CompactionState.Name(reply.state)


def get_server_version(t, detail=False):
    """GetVersion's version string; with ``detail``, Connect's server info (pymilvus's
    keys)."""
    if not detail:
        reply = yield "GetVersion", M.GetVersionRequest()
        return reply.version
    reply = yield "Connect", M.ConnectRequest(client_info=common_pb2.ClientInfo(
        sdk_type="Python", sdk_version="redkite"))
    info = reply.server_info
    return {"version": info.build_tags, "build_time": info.build_time,
            "git_commit": info.git_commit, "go_version": info.go_version,
            "deploy_mode": info.deploy_mode}


# ---- text and hybrid search ----------------------------------------------------------------
def run_analyzer(t, db_name, texts, analyzer_params=None, with_hash=False, with_detail=False,
                 collection_name=None, field_name=None, analyzer_names=None):
    if isinstance(analyzer_params, dict):
        analyzer_params = json.dumps(analyzer_params)
    if isinstance(analyzer_names, str):
        analyzer_names = [analyzer_names]
    reply = yield "RunAnalyzer", M.RunAnalyzerRequest(
        db_name=_db(db_name), placeholder=[text.encode("utf-8") for text in texts],
        analyzer_params=analyzer_params or "", with_hash=with_hash, with_detail=with_detail,
        collection_name=collection_name or "", field_name=field_name or "",
        analyzer_names=analyzer_names or [])
    return [codec.analyzer_tokens(result, with_hash, with_detail) for result in reply.results]


def hybrid_search(t, db_name, collection_name, requests, ranker, limit=10, offset=0,
                  output_fields=None, partition_names=None, round_decimal=-1):
    entry = yield from t.schema_steps(db_name, collection_name)
    legs = []
    for leg in requests:
        group, nq = codec.placeholder_group(leg["data"],
                                            anns_field_of(entry.schema, leg.get("anns_field")))
        legs.append(M.SearchRequest(
            collection_name=collection_name, placeholder_group=group, nq=nq,
            dsl=leg.get("filter") or "", dsl_type=common_pb2.BoolExprV1,
            search_params=codec.search_params(leg),
            expr_template_values=codec.template_map(leg.get("filter_params"))))
    rank = {**ranker, "limit": limit, "round_decimal": round_decimal, "offset": offset}
    reply = yield "HybridSearch", M.HybridSearchRequest(
        db_name=_db(db_name), collection_name=collection_name, requests=legs,
        partition_names=partition_names or [], output_fields=output_fields or [],
        rank_params=kv_pairs(rank))
    return codec.search_hits(reply, entry.schema, round_decimal)


OPERATIONS = {f.__name__: f for f in (
    create_alias, alter_alias, drop_alias, describe_alias, list_aliases, describe_database,
    get_partition_stats, load_partitions, release_partitions, truncate_collection, compact,
    get_compaction_state, get_server_version, run_analyzer, hybrid_search)}
# operations the Milvus protocol cannot carry, and why (raised as code 10)
EMBEDDED_ONLY = {
    "evaluate_recall": "it compares the indexed search with an exact search of the same "
                       "rows, and a Milvus server always searches a field through its index. "
                       "Measure it on the embedded database (MilvusClient('./path.db') on the "
                       "server's data directory while the server is stopped, or on a copy).",
}
