"""MilvusClient methods for rows, partitions, indexes, aliases and databases."""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ParamError
from ..index_params import IndexParams
from ..results import ExtraList, Hits, OmitZeroDict, SearchResult
from ..schema import Function
from . import _base as base
from ._iterators import UNLIMITED, QueryIterator, SearchIterator
from .search_requests import AnnSearchRequest, BaseRanker

QUERY_KWARGS = ("limit", "offset", "filter_params", "consistency_level")
SEARCH_KWARGS = ("offset", "round_decimal", "filter_params", "consistency_level",
                 *base.GROUPING_KEYS)
HYBRID_KWARGS = ("offset", "round_decimal", "consistency_level")
QUERY_ITERATOR_KWARGS = ("offset", "filter_params", "consistency_level")
SEARCH_ITERATOR_KWARGS = ("offset", "filter_params", "consistency_level")


class DataMethods:
    """Mixed into :class:`~redkite.client.milvus_client.MilvusClient`."""

    # ---- rows ----------------------------------------------------------------------------
    def insert(self, collection_name: str, data: dict | list[dict],
               timeout: float | None = None, partition_name: str | None = "",
               **kwargs: Any) -> OmitZeroDict:
        base.reject_unknown("insert", kwargs)
        raw = self._db_call("insert", collection_name=base.check_name(collection_name),
                            rows=base.as_rows(data), partition_name=partition_name or "")
        return base.insert_result(raw)

    def upsert(self, collection_name: str, data: dict | list[dict],
               timeout: float | None = None, partition_name: str | None = "",
               **kwargs: Any) -> OmitZeroDict:
        base.reject_unknown("upsert", kwargs)
        raw = self._db_call("upsert", collection_name=base.check_name(collection_name),
                            rows=base.as_rows(data), partition_name=partition_name or "")
        return base.upsert_result(raw)

    def delete(self, collection_name: str, ids: list | str | int | None = None,
               timeout: float | None = None, filter: str | None = None,
               partition_name: str | None = None, **kwargs: Any) -> OmitZeroDict:
        base.reject_unknown("delete", kwargs, ("filter_params", "pks"))
        if "pks" in kwargs:
            if ids is not None:
                raise ParamError("delete: pass ids or pks, not both")
            ids = kwargs.pop("pks")
        if ids is not None and filter:
            raise ParamError("Ambiguous filter parameter, only one deletion condition can be "
                             "specified.")
        raw = self._db_call("delete", collection_name=base.check_name(collection_name),
                            ids=None if ids is None else base.as_ids(ids), filter=filter or "",
                            partition_name=partition_name or "",
                            filter_params=kwargs.get("filter_params"))
        return base.delete_result(raw)

    def get(self, collection_name: str, ids: list | str | int,
            output_fields: list[str] | None = None, timeout: float | None = None,
            partition_names: list[str] | None = None, **kwargs: Any) -> ExtraList:
        base.reject_unknown("get", kwargs, ("consistency_level",))
        base.check_consistency(kwargs.get("consistency_level"))
        id_list = base.as_ids(ids)
        if not id_list:
            return ExtraList([])
        rows = self._db_call("query", collection_name=base.check_name(collection_name),
                             ids=id_list, output_fields=output_fields,
                             partition_names=partition_names)
        return base.rows_result(rows)

    def query(self, collection_name: str, filter: str = "",
              output_fields: list[str] | None = None, timeout: float | None = None,
              ids: list | str | int | None = None, partition_names: list[str] | None = None,
              **kwargs: Any) -> ExtraList:
        base.reject_unknown("query", kwargs, QUERY_KWARGS)
        base.check_consistency(kwargs.get("consistency_level"))
        if filter and ids is not None:
            raise ParamError("Ambiguous parameter, either ids or filter should be specified, "
                             "cannot support both.")
        rows = self._db_call("query", collection_name=base.check_name(collection_name),
                             filter=filter or "", output_fields=output_fields,
                             limit=kwargs.get("limit"), offset=kwargs.get("offset", 0),
                             partition_names=partition_names,
                             filter_params=kwargs.get("filter_params"),
                             ids=None if ids is None else base.as_ids(ids))
        return base.rows_result(rows)

    def search(self, collection_name: str, data: list | Any = None, filter: str = "",
               limit: int = 10, output_fields: list[str] | None = None,
               search_params: dict | None = None, timeout: float | None = None,
               partition_names: list[str] | None = None, anns_field: str | None = None,
               **kwargs: Any) -> SearchResult:
        """Top ``limit`` hits per query vector. ``search_params={"params": {"radius": r,
        "range_filter": f}}`` makes it a range search; ``group_by_field`` (with
        ``group_size``, ``strict_group_size``) returns ``limit`` groups of hits."""
        base.reject_unknown("search", kwargs, SEARCH_KWARGS)
        raw = self._db_call("search", **base.search_arguments(
            collection_name, data, filter, limit, output_fields, search_params,
            partition_names, anns_field, kwargs))
        return base.decode_search(raw)

    def hybrid_search(self, collection_name: str, reqs: list[AnnSearchRequest],
                      ranker: BaseRanker | Function, limit: int = 10,
                      output_fields: list[str] | None = None, timeout: float | None = None,
                      partition_names: list[str] | None = None,
                      **kwargs: Any) -> SearchResult:
        """Run every AnnSearchRequest and fuse their hits with ``ranker`` (RRFRanker,
        WeightedRanker or a RERANK Function with reranker 'rrf' / 'weighted')."""
        grouping = sorted(set(kwargs) & set(base.GROUPING_KEYS))
        if grouping:
            raise ParamError(f"hybrid_search: {grouping} are not supported by redkite "
                             "(group a single-vector search with search(group_by_field=...))")
        base.reject_unknown("hybrid_search", kwargs, HYBRID_KWARGS)
        raw = self._db_call("hybrid_search", **base.hybrid_arguments(
            collection_name, reqs, ranker, limit, output_fields, partition_names, kwargs))
        return base.decode_search(raw)

    def evaluate_recall(self, collection_name: str, anns_field: str | None = None,
                        sample_size: int = 100, limit: int = 10,
                        search_params: dict | None = None, filter: str = "",
                        partition_names: list[str] | None = None, seed: int = 0,
                        timeout: float | None = None, **kwargs: Any) -> dict:
        """Recall@``limit`` of the collection's index with ``search_params`` (e.g.
        ``{"params": {"ef": 64}}``), measured on ``sample_size`` stored vectors against
        exact search, and both latencies (ms): a redkite extension for tuning."""
        base.reject_unknown("evaluate_recall", kwargs, ("filter_params",))
        search_params = dict(search_params or {})
        params = dict(search_params.pop("params", None) or {})
        metric_type = search_params.pop("metric_type", None)
        if search_params:
            raise ParamError(f"evaluate_recall: unknown search_params keys "
                             f"{sorted(search_params)} (use 'params' and 'metric_type')")
        return self._db_call("evaluate_recall", collection_name=base.check_name(collection_name),
                             anns_field=anns_field, sample_size=sample_size, limit=limit,
                             params=params, metric_type=metric_type, filter=filter or "",
                             filter_params=kwargs.get("filter_params"),
                             partition_names=partition_names, seed=seed)

    # ---- iterators -----------------------------------------------------------------------
    def query_iterator(self, collection_name: str, batch_size: int | None = 1000,
                       limit: int | None = UNLIMITED, filter: str | None = "",
                       output_fields: list[str] | None = None,
                       partition_names: list[str] | None = None,
                       timeout: float | None = None, **kwargs: Any) -> QueryIterator:
        """Rows matching ``filter`` in primary-key order, ``batch_size`` per ``next()``
        (an empty list when done). Without ``output_fields`` rows carry the pk only."""
        base.reject_unknown("query_iterator", kwargs, QUERY_ITERATOR_KWARGS)
        base.check_consistency(kwargs.get("consistency_level"))
        return QueryIterator(self._pinned_call(), collection_name, batch_size, limit, filter,
                             output_fields, partition_names, kwargs)

    def search_iterator(self, collection_name: str, data: list | Any,
                        batch_size: int | None = 1000, filter: str | None = None,
                        limit: int | None = UNLIMITED, output_fields: list[str] | None = None,
                        search_params: dict | None = None, timeout: float | None = None,
                        partition_names: list[str] | None = None,
                        anns_field: str | None = None, round_decimal: int = -1, *,
                        external_filter_func: Callable[[Hits], Any] | None = None,
                        **kwargs: Any) -> SearchIterator:
        """One query vector's hits, closest first, ``batch_size`` per ``next()`` (an empty
        page when done); every hit once."""
        base.reject_unknown("search_iterator", kwargs, SEARCH_ITERATOR_KWARGS)
        base.check_consistency(kwargs.get("consistency_level"))
        return SearchIterator(self._pinned_call(), collection_name, data, batch_size, filter,
                              limit, output_fields, search_params, partition_names,
                              anns_field, round_decimal, external_filter_func, kwargs)

    def _pinned_call(self) -> Callable[..., Any]:
        """Transport calls bound to the current database (an iterator keeps reading the
        database it was opened on)."""
        transport, db_name = self._transport, self._db_name or None

        def call(operation: str, **arguments: Any) -> Any:
            return transport.call(operation, db_name=db_name, **arguments)
        return call

    # ---- partitions ----------------------------------------------------------------------
    def create_partition(self, collection_name: str, partition_name: str,
                         timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_partition", kwargs)
        self._db_call("create_partition", name=base.check_name(collection_name),
                      partition_name=base.check_name(partition_name, "partition_name"))

    def drop_partition(self, collection_name: str, partition_name: str,
                       timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("drop_partition", kwargs)
        self._db_call("drop_partition", name=base.check_name(collection_name),
                      partition_name=base.check_name(partition_name, "partition_name"))

    def has_partition(self, collection_name: str, partition_name: str,
                      timeout: float | None = None, **kwargs: Any) -> bool:
        base.reject_unknown("has_partition", kwargs)
        return self._db_call("has_partition", name=base.check_name(collection_name),
                             partition_name=base.check_name(partition_name, "partition_name"))

    def list_partitions(self, collection_name: str, timeout: float | None = None,
                        **kwargs: Any) -> list[str]:
        base.reject_unknown("list_partitions", kwargs)
        return self._db_call("list_partitions", name=base.check_name(collection_name))

    def get_partition_stats(self, collection_name: str, partition_name: str,
                            timeout: float | None = None, **kwargs: Any) -> dict:
        base.reject_unknown("get_partition_stats", kwargs)
        return self._db_call("get_partition_stats", name=base.check_name(collection_name),
                             partition_name=base.check_name(partition_name, "partition_name"))

    def load_partitions(self, collection_name: str, partition_names: str | list[str],
                        timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("load_partitions", kwargs, ("replica_number",))
        self._db_call("load_partitions", name=base.check_name(collection_name),
                      partition_names=base.name_list(partition_names, "partition_names"))

    def release_partitions(self, collection_name: str, partition_names: str | list[str],
                           timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("release_partitions", kwargs)
        self._db_call("release_partitions", name=base.check_name(collection_name),
                      partition_names=base.name_list(partition_names, "partition_names"))

    # ---- indexes -------------------------------------------------------------------------
    def create_index(self, collection_name: str, index_params: IndexParams,
                     timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_index", kwargs, ("sync",))
        specs = base.index_specs(index_params)
        if not specs:
            raise ParamError("create_index: index_params is empty")
        for spec in specs:
            self._db_call("create_index", name=base.check_name(collection_name), spec=spec)

    def list_indexes(self, collection_name: str, field_name: str | None = "",
                     **kwargs: Any) -> list[str]:
        base.reject_unknown("list_indexes", kwargs, ("timeout",))
        return self._db_call("list_indexes", name=base.check_name(collection_name),
                             field_name=field_name or "")

    def describe_index(self, collection_name: str, index_name: str,
                       timeout: float | None = None, **kwargs: Any) -> dict | None:
        base.reject_unknown("describe_index", kwargs)
        return self._db_call("describe_index", name=base.check_name(collection_name),
                             index_name=base.check_name(index_name, "index_name"))

    def drop_index(self, collection_name: str, index_name: str, timeout: float | None = None,
                   **kwargs: Any) -> None:
        base.reject_unknown("drop_index", kwargs)
        self._db_call("drop_index", name=base.check_name(collection_name),
                      index_name=base.check_name(index_name, "index_name"))

    # ---- aliases -------------------------------------------------------------------------
    def create_alias(self, collection_name: str, alias: str, timeout: float | None = None,
                     **kwargs: Any) -> None:
        base.reject_unknown("create_alias", kwargs)
        self._db_call("create_alias", name=base.check_name(collection_name),
                      alias=base.check_name(alias, "alias"))

    def alter_alias(self, collection_name: str, alias: str, timeout: float | None = None,
                    **kwargs: Any) -> None:
        base.reject_unknown("alter_alias", kwargs)
        self._db_call("alter_alias", name=base.check_name(collection_name),
                      alias=base.check_name(alias, "alias"))

    def drop_alias(self, alias: str, timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("drop_alias", kwargs)
        self._db_call("drop_alias", alias=base.check_name(alias, "alias"))

    def describe_alias(self, alias: str, timeout: float | None = None, **kwargs: Any) -> dict:
        base.reject_unknown("describe_alias", kwargs)
        return self._db_call("describe_alias", alias=base.check_name(alias, "alias"))

    def list_aliases(self, collection_name: str = "", timeout: float | None = None,
                     **kwargs: Any) -> dict:
        base.reject_unknown("list_aliases", kwargs)
        return self._db_call("list_aliases", name=collection_name or "")

    # ---- databases -----------------------------------------------------------------------
    def create_database(self, db_name: str, properties: dict | None = None,
                        timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("create_database", kwargs)
        self._call("create_database", db_name=db_name, properties=properties)

    def drop_database(self, db_name: str, **kwargs: Any) -> None:
        base.reject_unknown("drop_database", kwargs, ("timeout",))
        self._call("drop_database", db_name=base.check_name(db_name, "db_name"))

    def list_databases(self, timeout: float | None = None, **kwargs: Any) -> list[str]:
        base.reject_unknown("list_databases", kwargs)
        return self._call("list_databases")

    def describe_database(self, db_name: str, **kwargs: Any) -> dict:
        base.reject_unknown("describe_database", kwargs, ("timeout",))
        return self._call("describe_database", db_name=base.check_name(db_name, "db_name"))

    def use_database(self, db_name: str, **kwargs: Any) -> None:
        base.reject_unknown("use_database", kwargs, ("timeout",))
        self._call("describe_database", db_name=base.check_name(db_name, "db_name"))
        self._db_name = db_name
