"""The MilvusService servicer: Milvus gRPC requests -> engine calls -> Milvus responses.

It translates only (DESIGN.md, "Servers only translate"): each RPC reads its request,
calls one :class:`~redkite.engine.database.Database` operation, and builds the response.
Every failure becomes a ``common.Status`` with Milvus's ``code`` (and legacy
``error_code``) and the engine's message, so pymilvus raises what it raises on Milvus; an
unexpected exception is reported as code 1 with its text, never a dropped call.

The database of a call is the request's ``db_name`` or else the ``dbname`` metadata header
pymilvus sends. Authentication and privilege checks are not the servicer's concern: they
are a ``grpc.ServerInterceptor`` (:mod:`redkite.server.grpc_auth`). A request carrying fields
this subset of the protocol does not know (a feature redkite lacks) is rejected with a
status naming the field numbers rather than silently half-served.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from ..errors import ErrorCode, MilvusException, ParamError
from ..protocol import common_pb2, milvus_pb2, schema_pb2
from ..protocol.schema_codec import describe_response, hybrid_ts, schema_from_proto
from ..protocol.values import kv_dict, kv_pairs
from ..types import IndexState, LoadState
from .auth import AuthStore
from .grpc_alter import AlterRpcs
from .grpc_data import DataRpcs
from .grpc_rbac import RbacRpcs
from .rpc import reject_unknown_fields, rpc

VERSION = "redkite-0.1.0"
_COMPACTION_STATES = {"Executing": common_pb2.Executing, "Completed": common_pb2.Completed}


class MilvusServicer(DataRpcs, RbacRpcs, AlterRpcs):
    """MilvusService over one open :class:`~redkite.engine.database.Database` and its
    users and roles (:class:`~redkite.server.auth.AuthStore`)."""

    def __init__(self, db: Any, auth: AuthStore) -> None:
        self.db = db
        self.auth = auth
        self._identifiers = itertools.count(1)

    # ---- helpers ---------------------------------------------------------------------------
    @staticmethod
    def db_name(request: Any, context: Any) -> str | None:
        name = getattr(request, "db_name", "")
        if name:
            return name
        for key, value in context.invocation_metadata() or ():
            if key == "dbname" and value:
                return value
        return None

    def call(self, operation: str, request: Any, context: Any, **arguments: Any) -> Any:
        """``Database.<operation>`` on the call's database."""
        return getattr(self.db, operation)(db_name=self.db_name(request, context), **arguments)

    # ---- server ----------------------------------------------------------------------------
    @rpc(milvus_pb2.ConnectResponse)
    def Connect(self, request, context):
        info = common_pb2.ServerInfo(build_tags=VERSION, deploy_mode="redkite serve")
        return {"server_info": info, "identifier": next(self._identifiers)}

    @rpc(milvus_pb2.GetVersionResponse)
    def GetVersion(self, request, context):
        return {"version": VERSION}

    @rpc(milvus_pb2.CheckHealthResponse)
    def CheckHealth(self, request, context):
        return {"isHealthy": True}

    @rpc(milvus_pb2.AllocTimestampResponse)
    def AllocTimestamp(self, request, context):
        return {"timestamp": hybrid_ts(int(time.time() * 1000))}

    # ---- collections -----------------------------------------------------------------------
    @rpc(None)
    def CreateCollection(self, request, context):
        try:
            proto = schema_pb2.CollectionSchema.FromString(request.schema)
        except Exception as exc:  # noqa: BLE001 - malformed bytes from the client
            raise ParamError(f"CreateCollection: the schema bytes do not parse: {exc}") from None
        reject_unknown_fields(proto)
        if proto.name and proto.name != request.collection_name:
            raise ParamError(f"schema name {proto.name!r} differs from collection name "
                             f"{request.collection_name!r}")
        self.call("create_collection", request, context, name=request.collection_name,
                  schema=schema_from_proto(proto),
                  consistency_level=int(request.consistency_level),
                  num_shards=request.shards_num or 1, properties=kv_dict(request.properties),
                  num_partitions=request.num_partitions or None)

    @rpc(milvus_pb2.DescribeCollectionResponse)
    def DescribeCollection(self, request, context):
        if not request.collection_name:
            raise ParamError("DescribeCollection needs collection_name (lookup by "
                             "collectionID is not supported)")
        info = self.call("describe_collection", request, context, name=request.collection_name)
        reply = describe_response(info, self.db_name(request, context) or "default")
        return {field.name: value for field, value in reply.ListFields()
                if field.name != "status"}

    @rpc(milvus_pb2.BoolResponse)
    def HasCollection(self, request, context):
        return {"value": self.call("has_collection", request, context,
                                   name=request.collection_name)}

    @rpc(milvus_pb2.ShowCollectionsResponse)
    def ShowCollections(self, request, context):
        names = self.call("list_collections", request, context)
        if request.collection_names:
            wanted = set(request.collection_names)
            names = [n for n in names if n in wanted]
        if request.type == milvus_pb2.InMemory:
            names = [n for n in names if self.call("get_load_state", request, context, name=n)[
                "state"] == LoadState.Loaded]
        return {"collection_names": names}

    @rpc(None)
    def DropCollection(self, request, context):
        self.call("drop_collection", request, context, name=request.collection_name)

    @rpc(None)
    def RenameCollection(self, request, context):
        self.call("rename_collection", request, context, old_name=request.oldName,
                  new_name=request.newName, new_db_name=request.newDBName or None)

    @rpc(milvus_pb2.TruncateCollectionResponse)
    def TruncateCollection(self, request, context):
        self.call("truncate_collection", request, context, name=request.collection_name)

    @rpc(milvus_pb2.GetCollectionStatisticsResponse)
    def GetCollectionStatistics(self, request, context):
        stats = self.call("get_collection_stats", request, context, name=request.collection_name)
        return {"stats": kv_pairs({k: str(v) for k, v in stats.items()})}

    # ---- load / release --------------------------------------------------------------------
    @rpc(None)
    def LoadCollection(self, request, context):
        _check_load_options(request)
        self.call("load_collection", request, context, name=request.collection_name)

    @rpc(None)
    def ReleaseCollection(self, request, context):
        self.call("release_collection", request, context, name=request.collection_name)

    @rpc(None)
    def LoadPartitions(self, request, context):
        _check_load_options(request)
        self.call("load_partitions", request, context, name=request.collection_name,
                  partition_names=list(request.partition_names))

    @rpc(None)
    def ReleasePartitions(self, request, context):
        self.call("release_partitions", request, context, name=request.collection_name,
                  partition_names=list(request.partition_names))

    def _load_state(self, request, context) -> LoadState:
        partitions = list(request.partition_names) or [""]
        states = [self.call("get_load_state", request, context, name=request.collection_name,
                            partition_name=p)["state"] for p in partitions]
        return min(states)

    @rpc(milvus_pb2.GetLoadStateResponse)
    def GetLoadState(self, request, context):
        return {"state": int(self._load_state(request, context))}

    @rpc(milvus_pb2.GetLoadingProgressResponse)
    def GetLoadingProgress(self, request, context):
        state = self._load_state(request, context)
        if state == LoadState.NotExist:
            raise MilvusException(ErrorCode.COLLECTION_NOT_FOUND,
                                  f"collection not found[collection={request.collection_name}]")
        progress = 100 if state == LoadState.Loaded else 0
        return {"progress": progress, "refresh_progress": progress}

    # ---- partitions ------------------------------------------------------------------------
    @rpc(None)
    def CreatePartition(self, request, context):
        self.call("create_partition", request, context, name=request.collection_name,
                  partition_name=request.partition_name)

    @rpc(None)
    def DropPartition(self, request, context):
        self.call("drop_partition", request, context, name=request.collection_name,
                  partition_name=request.partition_name)

    @rpc(milvus_pb2.BoolResponse)
    def HasPartition(self, request, context):
        return {"value": self.call("has_partition", request, context,
                                   name=request.collection_name,
                                   partition_name=request.partition_name)}

    @rpc(milvus_pb2.ShowPartitionsResponse)
    def ShowPartitions(self, request, context):
        names = self.call("list_partitions", request, context, name=request.collection_name)
        if request.partition_names:
            names = [n for n in names if n in set(request.partition_names)]
        return {"partition_names": names}

    @rpc(milvus_pb2.GetPartitionStatisticsResponse)
    def GetPartitionStatistics(self, request, context):
        stats = self.call("get_partition_stats", request, context, name=request.collection_name,
                          partition_name=request.partition_name)
        return {"stats": kv_pairs({k: str(v) for k, v in stats.items()})}

    # ---- indexes ---------------------------------------------------------------------------
    @rpc(None)
    def CreateIndex(self, request, context):
        spec = _index_spec(kv_dict(request.extra_params))
        spec.update(field_name=request.field_name, index_name=request.index_name)
        self.call("create_index", request, context, name=request.collection_name, spec=spec)

    def _index_descriptions(self, request, context) -> list:
        """The collection's indexes matching the request's index_name / field_name."""
        names = self.call("list_indexes", request, context, name=request.collection_name,
                          field_name=request.field_name)
        if request.index_name:
            names = [n for n in names if n == request.index_name]
        infos = [self.call("describe_index", request, context, name=request.collection_name,
                           index_name=n) for n in names]
        if not infos:
            raise MilvusException(ErrorCode.INDEX_NOT_FOUND,
                                  f"index not found[collection={request.collection_name}]"
                                  + (f"[index={request.index_name}]" if request.index_name
                                     else ""))
        return [_index_description(info) for info in infos]

    @rpc(milvus_pb2.DescribeIndexResponse)
    def DescribeIndex(self, request, context):
        return {"index_descriptions": self._index_descriptions(request, context)}

    @rpc(milvus_pb2.GetIndexStateResponse)
    def GetIndexState(self, request, context):
        description = self._index_descriptions(request, context)[0]
        return {"state": description.state}

    @rpc(milvus_pb2.GetIndexBuildProgressResponse)
    def GetIndexBuildProgress(self, request, context):
        description = self._index_descriptions(request, context)[0]
        return {"indexed_rows": description.indexed_rows, "total_rows": description.total_rows}

    @rpc(None)
    def DropIndex(self, request, context):
        name = request.index_name
        if not name:
            names = self.call("list_indexes", request, context, name=request.collection_name,
                              field_name=request.field_name)
            if not names:
                return None
            name = names[0]
        self.call("drop_index", request, context, name=request.collection_name, index_name=name)

    # ---- aliases ---------------------------------------------------------------------------
    @rpc(None)
    def CreateAlias(self, request, context):
        self.call("create_alias", request, context, name=request.collection_name,
                  alias=request.alias)

    @rpc(None)
    def AlterAlias(self, request, context):
        self.call("alter_alias", request, context, name=request.collection_name,
                  alias=request.alias)

    @rpc(None)
    def DropAlias(self, request, context):
        self.call("drop_alias", request, context, alias=request.alias)

    @rpc(milvus_pb2.DescribeAliasResponse)
    def DescribeAlias(self, request, context):
        info = self.call("describe_alias", request, context, alias=request.alias)
        return {"db_name": info["db_name"], "alias": info["alias"],
                "collection": info["collection_name"]}

    @rpc(milvus_pb2.ListAliasesResponse)
    def ListAliases(self, request, context):
        info = self.call("list_aliases", request, context, name=request.collection_name)
        return {"db_name": info["db_name"], "collection_name": info["collection_name"],
                "aliases": info["aliases"]}

    # ---- databases -------------------------------------------------------------------------
    @rpc(None)
    def CreateDatabase(self, request, context):
        self.db.create_database(request.db_name, properties=kv_dict(request.properties))

    @rpc(None)
    def DropDatabase(self, request, context):
        self.db.drop_database(request.db_name)

    @rpc(milvus_pb2.ListDatabasesResponse)
    def ListDatabases(self, request, context):
        return {"db_names": self.db.list_databases()}

    @rpc(milvus_pb2.DescribeDatabaseResponse)
    def DescribeDatabase(self, request, context):
        info = dict(self.db.describe_database(request.db_name or "default"))
        name = info.pop("name")
        return {"db_name": name, "properties": kv_pairs({k: str(v) for k, v in info.items()})}

    # ---- text ------------------------------------------------------------------------------
    @rpc(milvus_pb2.RunAnalyzerResponse)
    def RunAnalyzer(self, request, context):
        texts = [raw.decode("utf-8") for raw in request.placeholder]
        params = json.loads(request.analyzer_params) if request.analyzer_params else None
        results = self.call("run_analyzer", request, context, texts=texts,
                            analyzer_params=params, with_hash=request.with_hash,
                            with_detail=request.with_detail,
                            collection_name=request.collection_name or None,
                            field_name=request.field_name or None,
                            analyzer_names=list(request.analyzer_names) or None)
        return {"results": [milvus_pb2.AnalyzerResult(tokens=[
            milvus_pb2.AnalyzerToken(**token) if isinstance(token, dict)
            else milvus_pb2.AnalyzerToken(token=token) for token in tokens])
            for tokens in results]}

    # ---- flush / compaction ----------------------------------------------------------------
    @rpc(milvus_pb2.FlushResponse)
    def Flush(self, request, context):
        flushed_at = hybrid_ts(int(time.time() * 1000))
        for name in request.collection_names:
            self.call("flush", request, context, name=name)
        names = list(request.collection_names)
        return {"db_name": self.db_name(request, context) or "default",
                "coll_segIDs": {n: schema_pb2.LongArray() for n in names},
                "flush_coll_segIDs": {n: schema_pb2.LongArray() for n in names},
                "coll_flush_ts": {n: flushed_at for n in names}}

    @rpc(milvus_pb2.GetFlushStateResponse)
    def GetFlushState(self, request, context):
        return {"flushed": True}  # Flush returns once the data is sealed and persisted

    @rpc(milvus_pb2.ManualCompactionResponse)
    def ManualCompaction(self, request, context):
        if request.majorCompaction or request.l0Compaction or request.target_size:
            raise ParamError("ManualCompaction: clustering, L0 and target-size compaction do "
                             "not apply to redkite (it merges segments and drops deleted rows)")
        job = self.call("compact", request, context, name=request.collection_name)
        return {"compactionID": job, "compactionPlanCount": 1}

    @rpc(milvus_pb2.GetCompactionStateResponse)
    def GetCompactionState(self, request, context):
        state = self.db.get_compaction_state(job_id=request.compactionID)
        code = _COMPACTION_STATES.get(state, common_pb2.UndefiedState)
        done = int(code == common_pb2.Completed)
        return {"state": code, "completedPlanNo": done, "executingPlanNo": 1 - done}


def _check_load_options(request: Any) -> None:
    if request.replica_number > 1:
        raise ParamError(f"replica_number={request.replica_number}: redkite keeps one replica")
    if request.load_fields or request.skip_load_dynamic_field or request.resource_groups:
        raise ParamError("partial loading (load_fields, skip_load_dynamic_field) and resource "
                         "groups are not supported by redkite")
    if request.load_params:
        raise ParamError(f"load_params {sorted(request.load_params)} are not supported by "
                         "redkite")


def _index_spec(params: dict[str, str]) -> dict:
    """CreateIndex ``extra_params`` (index_type, metric_type, params as JSON, or the build
    parameters at top level) as the engine's index spec."""
    index_type = params.pop("index_type", "")
    metric_type = params.pop("metric_type", None)
    build = json.loads(params.pop("params", "{}") or "{}")
    if not isinstance(build, dict):
        raise ParamError(f"index params must be a JSON object, got {build!r}")
    for key, text in params.items():
        try:
            build[key] = json.loads(text)
        except ValueError:
            build[key] = text
    return {"index_type": index_type, "metric_type": metric_type, "params": build}


def _index_description(info: dict) -> "milvus_pb2.IndexDescription":
    info = dict(info)
    state = info.pop("state", "Finished")
    total, indexed = info.pop("total_rows", 0), info.pop("indexed_rows", 0)
    pending = info.pop("pending_index_rows", 0)
    field_name, index_name = info.pop("field_name"), info.pop("index_name")
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in info.items()}
    state_value = IndexState[state] if isinstance(state, str) else IndexState(state)
    return milvus_pb2.IndexDescription(
        index_name=index_name, field_name=field_name, params=kv_pairs(params),
        indexed_rows=indexed, total_rows=total, pending_index_rows=pending,
        state=int(state_value))
