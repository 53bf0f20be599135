"""``AsyncMilvusClient``: pymilvus's client API over a redkite transport.

Each method is *prepare (``_base``) -> call the transport -> decode (``_base``)*; the
rules live in ``_base`` and ``_iterators``, shared with every other client. Keyword
arguments that do not apply raise :class:`~redkite.errors.ParamError` instead of being
silently ignored.
"""

from __future__ import annotations

from typing import Any, Callable

from ...index_params import IndexParams
from ...results import AnalyzeResult, ExtraList, Hits, OmitZeroDict, SearchResult
from ...schema import CollectionSchema, FieldSchema, Function
from ...transport import transport_for_uri
from ...types import DataType
from .. import _base as base
from .._iterators import UNLIMITED, QueryPager, SearchPager
from ..search_requests import AnnSearchRequest, BaseRanker
from .iterators import AsyncQueryIterator, AsyncSearchIterator


class AsyncMilvusClient:
    """A Milvus client; ``AsyncMilvusClient("./app.db")`` opens an embedded database."""

    def __init__(self, uri: str = "http://localhost:19530", user: str = "",
                 password: str = "", db_name: str = "", token: str = "",
                 timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("AsyncMilvusClient", kwargs)
        self._transport = transport_for_uri(uri, token=token, user=user,
                                            password=password)
        self._db_name = db_name or ""
        if True:  # ASYNC
            # Nothing is opened here, so no event loop is needed and none is blocked: the
            # database opens on the first call, on the transport's worker thread, and an
            # unknown db_name fails that call.
            pass
        else:
            self._transport.open()
            if self._db_name:
                try:
                    self._call("describe_database", db_name=self._db_name)
                except BaseException:
                    self._transport.close()  # an unknown db_name leaves nothing open
                    raise

    async def _call(self, operation: str, **arguments: Any) -> Any:
        return await self._transport.acall(operation, **arguments)

    async def _db_call(self, operation: str, **arguments: Any) -> Any:
        return await self._transport.acall(operation, db_name=self._db_name or None,
                                           **arguments)

    # ---- lifecycle -----------------------------------------------------------------------
    async def close(self) -> None:
        """Release the database; the last client of a path checkpoints and unlocks it."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncMilvusClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def get_server_version(self, timeout: float | None = None, detail: bool = False,
                                 **kwargs: Any) -> str | dict:
        base.reject_unknown("get_server_version", kwargs)
        return base.server_version(detail)

    def get_server_type(self) -> str:
        return "milvus"

    # ---- schema helpers ------------------------------------------------------------------
    @staticmethod
    def create_schema(**kwargs: Any) -> CollectionSchema:
        return CollectionSchema([], **kwargs)

    @staticmethod
    def create_field_schema(name: str, data_type: DataType, desc: str = "",
                            **kwargs: Any) -> FieldSchema:
        return FieldSchema(name, data_type, desc, **kwargs)

    @staticmethod
    def prepare_index_params(field_name: str = "", **kwargs: Any) -> IndexParams:
        return IndexParams(field_name, **kwargs)

    # ---- collections ---------------------------------------------------------------------
    async def create_collection(self, collection_name: str, dimension: int | None = None,
                                primary_field_name: str = "id", id_type: str = "int",
                                vector_field_name: str = "vector", metric_type: str = "COSINE",
                                auto_id: bool = False, timeout: float | None = None,
                                schema: CollectionSchema | None = None,
                                index_params: IndexParams | None = None,
                                **kwargs: Any) -> None:
        """Quick setup (``dimension=N``: an ``id`` key, a ``vector`` field, an AUTOINDEX
        index, loaded) or a custom ``schema`` (loaded when ``index_params`` are given)."""
        await self._db_call("create_collection", **base.create_collection_arguments(
            collection_name, dimension, primary_field_name, id_type, vector_field_name,
            metric_type, auto_id, schema, index_params, kwargs))

    async def describe_collection(self, collection_name: str, timeout: float | None = None,
                                  **kwargs: Any) -> dict:
        base.reject_unknown("describe_collection", kwargs)
        return await self._db_call("describe_collection", name=base.check_name(collection_name))

    async def has_collection(self, collection_name: str, timeout: float | None = None,
                             **kwargs: Any) -> bool:
        base.reject_unknown("has_collection", kwargs)
        return await self._db_call("has_collection", name=base.check_name(collection_name))

    async def list_collections(self, **kwargs: Any) -> list[str]:
        base.reject_unknown("list_collections", kwargs, ("timeout",))
        return await self._db_call("list_collections")

    async def drop_collection(self, collection_name: str, timeout: float | None = None,
                              **kwargs: Any) -> None:
        base.reject_unknown("drop_collection", kwargs)
        await self._db_call("drop_collection", name=base.check_name(collection_name))

    async def rename_collection(self, old_name: str, new_name: str,
                                target_db: str | None = "", timeout: float | None = None,
                                **kwargs: Any) -> None:
        base.reject_unknown("rename_collection", kwargs)
        await self._db_call("rename_collection", old_name=base.check_name(old_name, "old_name"),
                            new_name=base.check_name(new_name, "new_name"),
                            new_db_name=target_db or None)

    async def get_collection_stats(self, collection_name: str, timeout: float | None = None,
                                   **kwargs: Any) -> dict:
        base.reject_unknown("get_collection_stats", kwargs)
        return await self._db_call("get_collection_stats",
                                   name=base.check_name(collection_name))

    async def truncate_collection(self, collection_name: str, timeout: float | None = None,
                                  **kwargs: Any) -> None:
        base.reject_unknown("truncate_collection", kwargs)
        await self._db_call("truncate_collection", name=base.check_name(collection_name))

    async def load_collection(self, collection_name: str, timeout: float | None = None,
                              **kwargs: Any) -> None:
        base.reject_unknown("load_collection", kwargs, ("replica_number",))
        await self._db_call("load_collection", name=base.check_name(collection_name))

    async def release_collection(self, collection_name: str, timeout: float | None = None,
                                 **kwargs: Any) -> None:
        base.reject_unknown("release_collection", kwargs)
        await self._db_call("release_collection", name=base.check_name(collection_name))

    async def get_load_state(self, collection_name: str, partition_name: str | None = "",
                             timeout: float | None = None, **kwargs: Any) -> dict:
        base.reject_unknown("get_load_state", kwargs)
        return await self._db_call("get_load_state", name=base.check_name(collection_name),
                                   partition_name=partition_name or "")

    async def refresh_load(self, collection_name: str, timeout: float | None = None,
                           **kwargs: Any) -> None:
        base.reject_unknown("refresh_load", kwargs)
        base.check_loaded(collection_name, await self.get_load_state(collection_name))

    async def flush(self, collection_name: str, timeout: float | None = None,
                    **kwargs: Any) -> None:
        base.reject_unknown("flush", kwargs)
        await self._db_call("flush", name=base.check_name(collection_name))

    async def compact(self, collection_name: str, is_clustering: bool | None = False,
                      is_l0: bool | None = False, target_size: int | None = None,
                      target_size_unit: str = "mb", timeout: float | None = None,
                      **kwargs: Any) -> int:
        """Merge small segments and drop deleted rows; returns a job id."""
        return await self._db_call("compact", **base.compact_arguments(
            collection_name, is_clustering, is_l0, target_size, kwargs))

    async def get_compaction_state(self, job_id: int, timeout: float | None = None,
                                   **kwargs: Any) -> str:
        base.reject_unknown("get_compaction_state", kwargs)
        return await self._call("get_compaction_state", job_id=job_id)

    # ---- text ----------------------------------------------------------------------------
    async def run_analyzer(self, texts: str | list[str],
                           analyzer_params: str | dict | None = None, with_hash: bool = False,
                           with_detail: bool = False, collection_name: str | None = None,
                           field_name: str | None = None,
                           analyzer_names: str | list[str] | None = None,
                           timeout: float | None = None) -> AnalyzeResult | list[AnalyzeResult]:
        """Analyze ``texts`` with ``analyzer_params`` (default: the standard analyzer) or
        with the analyzer of ``field_name`` in ``collection_name``: one AnalyzeResult for
        a string, a list of them for a list of strings."""
        single = isinstance(texts, str)
        raw = await self._db_call("run_analyzer", texts=[texts] if single else texts,
                                  analyzer_params=analyzer_params, with_hash=with_hash,
                                  with_detail=with_detail,
                                  collection_name=(None if collection_name is None
                                                   else base.check_name(collection_name)),
                                  field_name=field_name, analyzer_names=analyzer_names)
        return base.analyze_results(raw, single)

    # ---- rows ----------------------------------------------------------------------------
    async def insert(self, collection_name: str, data: dict | list[dict],
                     timeout: float | None = None, partition_name: str | None = "",
                     **kwargs: Any) -> OmitZeroDict:
        base.reject_unknown("insert", kwargs)
        raw = await self._db_call("insert", collection_name=base.check_name(collection_name),
                                  rows=base.as_rows(data), partition_name=partition_name or "")
        return base.insert_result(raw)

    async def upsert(self, collection_name: str, data: dict | list[dict],
                     timeout: float | None = None, partition_name: str | None = "",
                     **kwargs: Any) -> OmitZeroDict:
        base.reject_unknown("upsert", kwargs)
        raw = await self._db_call("upsert", collection_name=base.check_name(collection_name),
                                  rows=base.as_rows(data), partition_name=partition_name or "")
        return base.upsert_result(raw)

    async def delete(self, collection_name: str, ids: list | str | int | None = None,
                     timeout: float | None = None, filter: str | None = None,
                     partition_name: str | None = None, **kwargs: Any) -> OmitZeroDict:
        raw = await self._db_call("delete", **base.delete_arguments(
            collection_name, ids, filter, partition_name, kwargs))
        return base.delete_result(raw)

    async def get(self, collection_name: str, ids: list | str | int,
                  output_fields: list[str] | None = None, timeout: float | None = None,
                  partition_names: list[str] | None = None, **kwargs: Any) -> ExtraList:
        arguments = base.get_arguments(collection_name, ids, output_fields, partition_names,
                                       kwargs)
        if arguments is None:
            return base.rows_result([])
        return base.rows_result(await self._db_call("query", **arguments))

    async def query(self, collection_name: str, filter: str = "",
                    output_fields: list[str] | None = None, timeout: float | None = None,
                    ids: list | str | int | None = None,
                    partition_names: list[str] | None = None, **kwargs: Any) -> ExtraList:
        rows = await self._db_call("query", **base.query_arguments(
            collection_name, filter, output_fields, ids, partition_names, kwargs))
        return base.rows_result(rows)

    # ---- search --------------------------------------------------------------------------
    async def search(self, collection_name: str, data: list | Any = None, filter: str = "",
                     limit: int = 10, output_fields: list[str] | None = None,
                     search_params: dict | None = None, timeout: float | None = None,
                     partition_names: list[str] | None = None, anns_field: str | None = None,
                     **kwargs: Any) -> SearchResult:
        """Top ``limit`` hits per query vector. ``search_params={"params": {"radius": r,
        "range_filter": f}}`` makes it a range search; ``group_by_field`` (with
        ``group_size``, ``strict_group_size``) returns ``limit`` groups of hits."""
        raw = await self._db_call("search", **base.search_arguments(
            collection_name, data, filter, limit, output_fields, search_params,
            partition_names, anns_field, kwargs))
        return base.decode_search(raw)

    async def hybrid_search(self, collection_name: str, reqs: list[AnnSearchRequest],
                            ranker: BaseRanker | Function, limit: int = 10,
                            output_fields: list[str] | None = None,
                            timeout: float | None = None,
                            partition_names: list[str] | None = None,
                            **kwargs: Any) -> SearchResult:
        """Run every AnnSearchRequest and fuse their hits with ``ranker`` (RRFRanker,
        WeightedRanker or a RERANK Function with reranker 'rrf' / 'weighted')."""
        raw = await self._db_call("hybrid_search", **base.hybrid_arguments(
            collection_name, reqs, ranker, limit, output_fields, partition_names, kwargs))
        return base.decode_search(raw)

    async def evaluate_recall(self, collection_name: str, anns_field: str | None = None,
                              sample_size: int = 100, limit: int = 10,
                              search_params: dict | None = None, filter: str = "",
                              partition_names: list[str] | None = None, seed: int = 0,
                              timeout: float | None = None, **kwargs: Any) -> dict:
        """Recall@``limit`` of the collection's index with ``search_params`` (e.g.
        ``{"params": {"ef": 64}}``), measured on ``sample_size`` stored vectors against
        exact search, and both latencies (ms): a redkite extension for tuning."""
        return await self._db_call("evaluate_recall", **base.evaluate_recall_arguments(
            collection_name, anns_field, sample_size, limit, search_params, filter,
            partition_names, seed, kwargs))

    # ---- iterators -----------------------------------------------------------------------
    async def query_iterator(self, collection_name: str, batch_size: int | None = 1000,
                             limit: int | None = UNLIMITED, filter: str | None = "",
                             output_fields: list[str] | None = None,
                             partition_names: list[str] | None = None,
                             timeout: float | None = None,
                             **kwargs: Any) -> AsyncQueryIterator:
        """Rows matching ``filter`` in primary-key order, ``batch_size`` per ``next()``
        (an empty list when done). Without ``output_fields`` rows carry the pk only."""
        pager = QueryPager(collection_name, batch_size, limit, filter, output_fields,
                           partition_names, kwargs)
        return await AsyncQueryIterator.start(self._transport, self._db_name or None, pager)

    async def search_iterator(self, collection_name: str, data: list | Any,
                              batch_size: int | None = 1000, filter: str | None = None,
                              limit: int | None = UNLIMITED,
                              output_fields: list[str] | None = None,
                              search_params: dict | None = None, timeout: float | None = None,
                              partition_names: list[str] | None = None,
                              anns_field: str | None = None, round_decimal: int = -1, *,
                              external_filter_func: Callable[[Hits], Any] | None = None,
                              **kwargs: Any) -> AsyncSearchIterator:
        """One query vector's hits, closest first, ``batch_size`` per ``next()`` (an empty
        page when done); every hit once."""
        pager = SearchPager(collection_name, data, batch_size, filter, limit, output_fields,
                            search_params, partition_names, anns_field, round_decimal,
                            external_filter_func, kwargs)
        return await AsyncSearchIterator.start(self._transport, self._db_name or None, pager)

    # ---- partitions ----------------------------------------------------------------------
    async def create_partition(self, collection_name: str, partition_name: str,
                               timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_partition", kwargs)
        await self._db_call("create_partition", name=base.check_name(collection_name),
                            partition_name=base.check_name(partition_name, "partition_name"))

    async def drop_partition(self, collection_name: str, partition_name: str,
                             timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("drop_partition", kwargs)
        await self._db_call("drop_partition", name=base.check_name(collection_name),
                            partition_name=base.check_name(partition_name, "partition_name"))

    async def has_partition(self, collection_name: str, partition_name: str,
                            timeout: float | None = None, **kwargs: Any) -> bool:
        base.reject_unknown("has_partition", kwargs)
        return await self._db_call(
            "has_partition", name=base.check_name(collection_name),
            partition_name=base.check_name(partition_name, "partition_name"))

    async def list_partitions(self, collection_name: str, timeout: float | None = None,
                              **kwargs: Any) -> list[str]:
        base.reject_unknown("list_partitions", kwargs)
        return await self._db_call("list_partitions", name=base.check_name(collection_name))

    async def get_partition_stats(self, collection_name: str, partition_name: str,
                                  timeout: float | None = None, **kwargs: Any) -> dict:
        base.reject_unknown("get_partition_stats", kwargs)
        return await self._db_call(
            "get_partition_stats", name=base.check_name(collection_name),
            partition_name=base.check_name(partition_name, "partition_name"))

    async def load_partitions(self, collection_name: str, partition_names: str | list[str],
                              timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("load_partitions", kwargs, ("replica_number",))
        await self._db_call("load_partitions", name=base.check_name(collection_name),
                            partition_names=base.name_list(partition_names, "partition_names"))

    async def release_partitions(self, collection_name: str,
                                 partition_names: str | list[str],
                                 timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("release_partitions", kwargs)
        await self._db_call("release_partitions", name=base.check_name(collection_name),
                            partition_names=base.name_list(partition_names, "partition_names"))

    # ---- indexes -------------------------------------------------------------------------
    async def create_index(self, collection_name: str, index_params: IndexParams,
                           timeout: float | None = None, **kwargs: Any) -> None:
        """Build each index in ``index_params``; returns when the sealed data is indexed."""
        base.reject_unknown("create_index", kwargs, ("sync",))
        for spec in base.indexes_to_create(index_params):
            await self._db_call("create_index", name=base.check_name(collection_name),
                                spec=spec)

    async def list_indexes(self, collection_name: str, field_name: str | None = "",
                           **kwargs: Any) -> list[str]:
        base.reject_unknown("list_indexes", kwargs, ("timeout",))
        return await self._db_call("list_indexes", name=base.check_name(collection_name),
                                   field_name=field_name or "")

    async def describe_index(self, collection_name: str, index_name: str,
                             timeout: float | None = None, **kwargs: Any) -> dict | None:
        base.reject_unknown("describe_index", kwargs)
        return await self._db_call("describe_index", name=base.check_name(collection_name),
                                   index_name=base.check_name(index_name, "index_name"))

    async def drop_index(self, collection_name: str, index_name: str,
                         timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("drop_index", kwargs)
        await self._db_call("drop_index", name=base.check_name(collection_name),
                            index_name=base.check_name(index_name, "index_name"))

    # ---- aliases -------------------------------------------------------------------------
    async def create_alias(self, collection_name: str, alias: str,
                           timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_alias", kwargs)
        await self._db_call("create_alias", name=base.check_name(collection_name),
                            alias=base.check_name(alias, "alias"))

    async def alter_alias(self, collection_name: str, alias: str,
                          timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("alter_alias", kwargs)
        await self._db_call("alter_alias", name=base.check_name(collection_name),
                            alias=base.check_name(alias, "alias"))

    async def drop_alias(self, alias: str, timeout: float | None = None,
                         **kwargs: Any) -> None:
        base.reject_unknown("drop_alias", kwargs)
        await self._db_call("drop_alias", alias=base.check_name(alias, "alias"))

    async def describe_alias(self, alias: str, timeout: float | None = None,
                             **kwargs: Any) -> dict:
        base.reject_unknown("describe_alias", kwargs)
        return await self._db_call("describe_alias", alias=base.check_name(alias, "alias"))

    async def list_aliases(self, collection_name: str = "", timeout: float | None = None,
                           **kwargs: Any) -> dict:
        base.reject_unknown("list_aliases", kwargs)
        return await self._db_call("list_aliases", name=collection_name or "")

    # ---- databases -----------------------------------------------------------------------
    async def create_database(self, db_name: str, properties: dict | None = None,
                              timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_database", kwargs)
        await self._call("create_database", db_name=db_name, properties=properties)

    async def drop_database(self, db_name: str, **kwargs: Any) -> None:
        base.reject_unknown("drop_database", kwargs, ("timeout",))
        await self._call("drop_database", db_name=base.check_name(db_name, "db_name"))

    async def list_databases(self, timeout: float | None = None, **kwargs: Any) -> list[str]:
        base.reject_unknown("list_databases", kwargs)
        return await self._call("list_databases")

    async def describe_database(self, db_name: str, **kwargs: Any) -> dict:
        base.reject_unknown("describe_database", kwargs, ("timeout",))
        return await self._call("describe_database", db_name=base.check_name(db_name, "db_name"))

    async def use_database(self, db_name: str, **kwargs: Any) -> None:
        """Make ``db_name`` (which must exist) the database of later calls."""
        base.reject_unknown("use_database", kwargs, ("timeout",))
        await self._call("describe_database", db_name=base.check_name(db_name, "db_name"))
        self._db_name = db_name

    # ---- schema and property changes -------------------------------------------------------
    async def alter_collection_properties(self, collection_name: str, properties: dict,
                                          timeout: float | None = None, **kwargs: Any) -> None:
        """Set collection properties (``mmap.enabled``, ``dynamicfield.enabled``,
        ``collection.autocompaction.enabled``, ``partitionkey.isolation`` or keys of your
        own); describe_collection shows them."""
        base.reject_unknown("alter_collection_properties", kwargs)
        await self._db_call("alter_collection_properties",
                            name=base.check_name(collection_name),
                            properties=base.check_properties(properties))

    async def drop_collection_properties(self, collection_name: str, property_keys: list[str],
                                         timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("drop_collection_properties", kwargs)
        await self._db_call("drop_collection_properties", name=base.check_name(collection_name),
                            property_keys=base.key_list(property_keys))

    async def alter_collection_field(self, collection_name: str, field_name: str,
                                     field_params: dict, timeout: float | None = None,
                                     **kwargs: Any) -> None:
        """Raise a field's ``max_length`` / ``max_capacity`` or set its ``mmap.enabled``."""
        base.reject_unknown("alter_collection_field", kwargs)
        await self._db_call("alter_collection_field", name=base.check_name(collection_name),
                            field_name=base.check_name(field_name, "field_name"),
                            field_params=base.check_properties(field_params, "field_params"))

    async def add_collection_field(self, collection_name: str, field_name: str,
                                   data_type: DataType, desc: str = "",
                                   timeout: float | None = None, **kwargs: Any) -> None:
        """Add a nullable scalar field (``nullable=True``, optional ``default_value`` and
        type parameters as keyword arguments); stored rows read its default, else null."""
        field = base.new_field_schema(field_name, data_type, desc, kwargs)
        await self._db_call("add_collection_field", name=base.check_name(collection_name),
                            field=field)

    async def drop_collection_field(self, collection_name: str, field_name: str = "",
                                    field_id: int = 0, timeout: float | None = None,
                                    **kwargs: Any) -> None:
        """Drop a field, named or by id (not a key, a function's field, an indexed field
        nor the last vector field)."""
        base.reject_unknown("drop_collection_field", kwargs)
        described = None
        if field_id and not field_name:
            described = await self.describe_collection(collection_name)
        await self._db_call("drop_collection_field", name=base.check_name(collection_name),
                            field_name=base.field_to_drop(field_name, field_id, described))

    async def add_collection_function(self, collection_name: str, function: Function,
                                      timeout: float | None = None, **kwargs: Any) -> None:
        """Refused as Milvus refuses it for BM25, redkite's only function type."""
        base.reject_unknown("add_collection_function", kwargs)
        await self._db_call("add_collection_function", name=base.check_name(collection_name),
                            function=base.check_function(function))

    async def alter_collection_function(self, collection_name: str, function_name: str,
                                        function: Function, timeout: float | None = None,
                                        **kwargs: Any) -> None:
        """Refused as Milvus refuses it for BM25, redkite's only function type."""
        base.reject_unknown("alter_collection_function", kwargs)
        await self._db_call("alter_collection_function", name=base.check_name(collection_name),
                            function_name=base.check_name(function_name, "function_name"),
                            function=base.check_function(function))

    async def drop_collection_function(self, collection_name: str, function_name: str,
                                       timeout: float | None = None, **kwargs: Any) -> None:
        """Refused as Milvus refuses it for BM25, redkite's only function type."""
        base.reject_unknown("drop_collection_function", kwargs)
        await self._db_call("drop_collection_function", name=base.check_name(collection_name),
                            function_name=base.check_name(function_name, "function_name"))

    async def alter_index_properties(self, collection_name: str, index_name: str,
                                     properties: dict, timeout: float | None = None,
                                     **kwargs: Any) -> None:
        """Set ``mmap.enabled`` on an index of a released collection."""
        base.reject_unknown("alter_index_properties", kwargs)
        await self._db_call("alter_index_properties", name=base.check_name(collection_name),
                            index_name=base.check_name(index_name, "index_name"),
                            properties=base.check_properties(properties))

    async def drop_index_properties(self, collection_name: str, index_name: str,
                                    property_keys: list[str], timeout: float | None = None,
                                    **kwargs: Any) -> None:
        base.reject_unknown("drop_index_properties", kwargs)
        await self._db_call("drop_index_properties", name=base.check_name(collection_name),
                            index_name=base.check_name(index_name, "index_name"),
                            property_keys=base.key_list(property_keys))

    async def alter_database_properties(self, db_name: str, properties: dict,
                                        **kwargs: Any) -> None:
        """Set database properties (``database.max.collections`` or keys of your own);
        describe_database shows them."""
        base.reject_unknown("alter_database_properties", kwargs, ("timeout",))
        await self._call("alter_database_properties",
                         db_name=base.check_name(db_name, "db_name"),
                         properties=base.check_properties(properties))

    async def drop_database_properties(self, db_name: str, property_keys: list[str],
                                       **kwargs: Any) -> None:
        base.reject_unknown("drop_database_properties", kwargs, ("timeout",))
        await self._call("drop_database_properties", db_name=base.check_name(db_name, "db_name"),
                         property_keys=base.key_list(property_keys))

    async def using_database(self, db_name: str, **kwargs: Any) -> None:
        """Deprecated pymilvus spelling of :meth:`use_database`."""
        await self.use_database(db_name, **kwargs)

    async def flush_all(self, timeout: float | None = None, **kwargs: Any) -> None:
        """Seal and persist every collection of every database."""
        base.reject_unknown("flush_all", kwargs)
        await self._call("flush_all")

    async def get_flush_all_state(self, timeout: float | None = None, **kwargs: Any) -> bool:
        """True: flush_all returns once everything is persisted."""
        base.reject_unknown("get_flush_all_state", kwargs)
        return await self._call("get_flush_all_state")
