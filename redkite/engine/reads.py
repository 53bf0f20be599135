"""Query, get and search: snapshot the segments, filter column-at-a-time, gather outputs."""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..columnar import table_to_rows
from ..errors import (
    CollectionNotExistException, DescribeCollectionException, FieldNotExistException,
    ParamError,
)
from ..schema import DYNAMIC_FIELD
from ..search_options import check_round_decimal, round_distances
from ..types import DataType
from ..vectors import VectorLayout, layout_of, parse_queries, present_vectors
from .exec.bm25 import bind_queries, reject_text, text_request
from .exec.grouping import Grouping, grouped_search_views, parse_grouping
from .exec.pk_scan import first_by_pk
from .exec.range_search import DistanceRange, range_search_views, take_range
from .exec.rankers import descending, fuse, fused_order, parse_ranker
from .exec.search import Candidates, search_views
from .expr import compile_filter
from .index import normalize_search_params
from .storage.sparse_rows import SparseRows, drop_smallest
from .text import run_analyzer as analyze_texts
from .text.functions import bm25_function_for, field_analyzer

MAX_TOPK = 16384
MAX_HYBRID_REQUESTS = 1024
COUNT_STAR = "count(*)"
_HYBRID_REQUEST_KEYS = {"data", "anns_field", "limit", "filter", "filter_params",
                        "metric_type", "params"}
_KEY_SHIFT = 40  # a hybrid candidate's key: view index << 40 | row


@dataclass
class OutputPlan:
    """Which stored columns to read and how to present them."""

    columns: list[str]
    json_columns: list[str]
    dynamic_keys: Any  # False, True (all keys) or a set of keys
    count_only: bool = False
    pk_requested: bool = True
    vector_layouts: dict = dataclass_field(default_factory=dict)  # output vector columns
    columnar: bool = False  # results as ColumnarRows (the gRPC server's form)

    def rows(self, table: pa.Table, wrap_bytes: bool) -> list[dict] | ColumnarRows:
        """Result rows of ``table``; byte vectors wrapped in a list when ``wrap_bytes``.
        A columnar plan returns the stored columns instead (:class:`ColumnarRows`)."""
        if self.columnar:
            return ColumnarRows(table, self)
        table = present_vectors(table, self.vector_layouts, wrap_bytes)
        sparse = [n for n, layout in self.vector_layouts.items() if layout.is_sparse]
        return table_to_rows(table, self.json_columns, self.dynamic_keys, sparse)


@dataclass
class ColumnarRows:
    """Result rows as stored columns (``columnar=True``): vectors in their storage layout,
    JSON and ``$meta`` as JSON text, plus the plan that names the dynamic keys asked for."""

    table: pa.Table
    plan: OutputPlan


@dataclass
class SearchLeg:
    """One vector search, checked: the field, metric, query matrix and distance band."""

    field: str
    metric: str
    queries: Any  # a matrix, SparseRows, or query texts (Bm25Request, then Bm25Queries)
    layout: VectorLayout
    band: DistanceRange | None = None
    params: dict = dataclass_field(default_factory=dict)  # the index's search parameters
    limit: int = 10
    filter: str = ""
    filter_params: dict | None = None


@dataclass
class SearchHits:
    """One query's hits: pks, distances and the requested fields, best first."""

    ids: list
    distances: list[float]
    entities: list[dict]


class ReadMixin:
    """Mixed into :class:`~redkite.engine.database.Database`."""

    # ---- helpers -------------------------------------------------------------------------
    def _filter_masks(self, collection, views, filter: str, filter_params: dict | None):
        masks = [view.alive() for view in views]
        if not filter:
            return masks
        meta = collection.meta
        fields = {f.name: f for f in meta.schema.fields}
        dynamic = DYNAMIC_FIELD if meta.schema.enable_dynamic_field else None
        compiled = compile_filter(filter, fields, dynamic, filter_params)
        return [mask & compiled.evaluate(view) for mask, view in zip(masks, views)]

    def _partition_ids(self, collection, partition_names: Sequence[str] | None):
        if not partition_names:
            return None
        if isinstance(partition_names, str):
            partition_names = [partition_names]
        return {self._partition_id(collection, name) for name in partition_names}

    def _output_plan(self, meta, output_fields: Sequence[str] | None,
                     default_all: bool, columnar: bool = False) -> OutputPlan:
        schema = meta.schema
        names = [f.name for f in schema.fields if not f.is_function_output]
        dynamic_on = schema.enable_dynamic_field
        requested = list(output_fields) if output_fields else (["*"] if default_all else [])
        if isinstance(output_fields, str):
            raise ParamError(f"output_fields must be a list of field names, got "
                             f"{output_fields!r}")
        if requested == [COUNT_STAR]:
            return OutputPlan([], [], False, count_only=True, columnar=columnar)
        columns, dynamic_keys = [meta.primary.name], set()
        for name in requested:
            if not isinstance(name, str):
                raise ParamError(f"output field names must be strings, got {name!r}")
            if name == "*":
                columns.extend(names)
                dynamic_keys = True if dynamic_on else dynamic_keys
            elif name == COUNT_STAR:
                raise ParamError("count(*) cannot be combined with other output fields")
            elif name in names:
                columns.append(name)
            elif schema.field(name) is not None:  # a function output: computed, not returned
                raise ParamError(f"not allowed to retrieve raw data of field {name}: it is the "
                                 "output of a BM25 function")
            elif name == DYNAMIC_FIELD and dynamic_on:
                dynamic_keys = True
            elif dynamic_on:
                if dynamic_keys is not True:
                    dynamic_keys.add(name)
            else:
                raise FieldNotExistException(f"field {name!r} does not exist in collection "
                                             f"{meta.name!r}")
        columns = list(dict.fromkeys(columns))
        if dynamic_keys:
            columns.append(DYNAMIC_FIELD)
        json_columns = [f.name for f in schema.fields if f.dtype == DataType.JSON]
        pk_requested = meta.primary.name in requested or "*" in requested
        layouts = {f.name: layout_of(f) for f in schema.fields
                   if f.is_vector and f.name in columns}
        return OutputPlan(columns, json_columns, dynamic_keys or False,
                          pk_requested=pk_requested, vector_layouts=layouts, columnar=columnar)

    # ---- query / get ---------------------------------------------------------------------
    def query(self, db_name: str | None, collection_name: str, filter: str = "",
              output_fields: Sequence[str] | None = None, limit: int | None = None,
              offset: int = 0, partition_names: Sequence[str] | None = None,
              filter_params: dict | None = None, ids: Any = None,
              pk_after: Any = None, columnar: bool = False) -> list[dict] | ColumnarRows:
        """Rows in primary-key order; ``pk_after`` keeps only pks greater than it (the
        cursor of query_iterator); ``columnar`` returns :class:`ColumnarRows`."""
        collection = self._get(db_name, collection_name,
                               CollectionNotExistException if ids is None
                               else DescribeCollectionException)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        if not isinstance(filter, str):
            raise ParamError(f"filter must be a string, got {type(filter).__name__}")
        plan = self._output_plan(meta, output_fields, default_all=True, columnar=columnar)
        limit, offset = _check_window(limit, offset, "query")
        if not filter and ids is None and limit is None and not plan.count_only:
            raise ParamError("empty expression should be used with limit: pass a filter or "
                             "a limit")
        views = collection.store.snapshot(self._partition_ids(collection, partition_names))
        masks = self._filter_masks(collection, views, filter, filter_params)
        if ids is not None:
            from .dml import pk_array
            wanted = pk_array(meta.primary, ids)
            masks = [m & _to_numpy_bool(pc.is_in(v.column(meta.primary.name), value_set=wanted))
                     for m, v in zip(masks, views)]
        if plan.count_only:
            return [{COUNT_STAR: int(sum(int(np.count_nonzero(m)) for m in masks))}]
        if limit is None and pk_after is None:
            table = _order_by_pk(_gather(views, masks, plan.columns), meta.primary.name)
            table = table.slice(offset) if offset else table
        else:
            after = None if pk_after is None else _pk_value(meta.primary, pk_after)
            view_index, rows = first_by_pk(views, masks, meta.primary.name, after,
                                           None if limit is None else offset + limit)
            table = _take_in_order(views, view_index[offset:], rows[offset:], plan.columns)
        return plan.rows(table, wrap_bytes=True)

    # ---- search --------------------------------------------------------------------------
    def search(self, db_name: str | None, collection_name: str, data: Any,
               anns_field: str | None = None, limit: int = 10, offset: int = 0,
               filter: str = "", filter_params: dict | None = None,
               output_fields: Sequence[str] | None = None, metric_type: str | None = None,
               params: dict | None = None, partition_names: Sequence[str] | None = None,
               round_decimal: int = -1, group_by_field: str | None = None,
               group_size: int | None = None, strict_group_size: bool | None = None,
               columnar: bool = False, max_window: int = MAX_TOPK) -> dict:
        """Top ``limit`` hits per query vector; a range search when ``params`` holds
        ``radius``; ``limit`` groups of hits with ``group_by_field``. ``columnar``: each
        SearchHits holds its pks as an Arrow array and its entities as ColumnarRows.
        ``max_window`` bounds ``limit + offset`` (Milvus's 16,384 unless a caller, like the
        REST API, serves deeper pages)."""
        collection = self._get(db_name, collection_name)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        limit, offset = _check_window(limit, offset, "search", max_window)
        limit = 10 if limit is None else limit
        leg = _search_leg(meta, data, anns_field, metric_type, params, limit + offset)
        grouping = parse_grouping(meta.schema, group_by_field, group_size, strict_group_size)
        round_decimal = check_round_decimal(round_decimal)
        plan = self._search_plan(meta, output_fields, columnar)
        views = collection.store.snapshot(self._partition_ids(collection, partition_names))
        masks = self._filter_masks(collection, views, filter, filter_params)
        leg.queries = bind_queries(leg.queries, views)
        found = _run_leg(views, masks, leg, limit, offset, grouping)
        hits = [self._hits(views, plan, meta.primary.name, found.view_index[q], found.row[q],
                           found.distance[q], round_decimal)
                for q in range(len(leg.queries))]
        return {"pk_name": meta.primary.name, "metric_type": leg.metric, "hits": hits}

    def hybrid_search(self, db_name: str | None, collection_name: str, requests: list,
                      ranker: dict, limit: int = 10, offset: int = 0,
                      output_fields: Sequence[str] | None = None,
                      partition_names: Sequence[str] | None = None,
                      round_decimal: int = -1, columnar: bool = False) -> dict:
        """Run each request (its own field, filter, params and limit) on one snapshot and
        fuse the hits per query with ``ranker`` (see :mod:`.exec.rankers`)."""
        collection = self._get(db_name, collection_name)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        legs = _hybrid_legs(meta, requests)
        fusion = parse_ranker(ranker, len(legs))
        limit, offset = _check_window(limit, offset, "hybrid_search")
        limit = 10 if limit is None else limit
        round_decimal = check_round_decimal(round_decimal)
        plan = self._search_plan(meta, output_fields, columnar)
        views = collection.store.snapshot(self._partition_ids(collection, partition_names))
        for leg in legs:
            leg.queries = bind_queries(leg.queries, views)
        found = [_run_leg(views, self._filter_masks(collection, views, leg.filter,
                                                    leg.filter_params), leg, leg.limit, 0, None)
                 for leg in legs]
        metrics = [leg.metric for leg in legs]
        hits = []
        for q in range(len(legs[0].queries)):
            keys, scores = fuse(fusion, [(_keys(f.view_index[q], f.row[q]), f.distance[q])
                                         for f in found], metrics)
            view_index, rows = keys >> _KEY_SHIFT, keys & ((1 << _KEY_SHIFT) - 1)
            pk_rank = _pk_rank(views, view_index, rows, meta.primary.name)
            order = fused_order(scores, pk_rank, descending(fusion, metrics))
            order = order[offset:offset + limit]
            hits.append(self._hits(views, plan, meta.primary.name, view_index[order],
                                   rows[order], scores[order], round_decimal))
        return {"pk_name": meta.primary.name, "hits": hits}

    def run_analyzer(self, db_name: str | None, texts: list[str], analyzer_params: Any = None,
                     with_hash: bool = False, with_detail: bool = False,
                     collection_name: str | None = None, field_name: str | None = None,
                     analyzer_names: Any = None) -> list:
        """Tokens of each text (see :func:`.text.run_analyzer`), analyzed with
        ``analyzer_params`` or with the analyzer of a collection's field."""
        for name, flag in (("with_hash", with_hash), ("with_detail", with_detail)):
            if not isinstance(flag, bool):
                raise ParamError(f"run_analyzer: {name} must be a bool, got {flag!r}")
        if analyzer_names is not None:
            raise ParamError("run_analyzer: analyzer_names selects among a field's "
                             "multi_analyzer_params, which redkite does not support")
        if collection_name or field_name:
            if not (collection_name and field_name):
                raise ParamError("run_analyzer: pass both collection_name and field_name to "
                                 "use a field's analyzer")
            if analyzer_params is not None:
                raise ParamError("run_analyzer: pass analyzer_params or a collection's "
                                 "field, not both")
            schema = self._get(db_name, collection_name).meta.schema
            field_analyzer(schema, field_name)  # the field must have an analyzer
            analyzer_params = schema.field(field_name).params.get("analyzer_params")
        return analyze_texts(list(texts) if isinstance(texts, (list, tuple)) else texts,
                             analyzer_params, with_detail=with_detail, with_hash=with_hash)

    def _search_plan(self, meta, output_fields, columnar: bool = False) -> OutputPlan:
        plan = self._output_plan(meta, output_fields, default_all=False, columnar=columnar)
        if plan.count_only:
            raise ParamError("count(*) is not a valid output field for search")
        return plan

    def _hits(self, views, plan: OutputPlan, pk_name: str, view_index: np.ndarray,
              rows: np.ndarray, distances: np.ndarray, round_decimal: int) -> SearchHits:
        if len(rows) == 0 and not plan.columnar:
            return SearchHits([], [], [])
        if plan.columnar:
            table = _take_in_order(views, view_index, rows, plan.columns)
            pks = table.column(pk_name)
            if not plan.pk_requested:
                table = table.drop_columns([pk_name])
            return SearchHits(pks, round_distances(distances, round_decimal),
                              ColumnarRows(table, plan))
        distances = round_distances(distances, round_decimal).tolist()
        if plan.columns == [pk_name] and not plan.pk_requested:  # ids only, no entity fields
            ids = _pk_in_order(views, view_index, rows, pk_name)
            return SearchHits(ids, distances, [{} for _ in ids])
        table = _take_in_order(views, view_index, rows, plan.columns)
        entities = plan.rows(table, wrap_bytes=False)
        ids = table.column(pk_name).to_pylist()
        if not plan.pk_requested:
            for entity in entities:
                del entity[pk_name]
        return SearchHits(ids, distances, entities)


def _check_window(limit: Any, offset: Any, what: str,
                  max_window: int = MAX_TOPK) -> tuple[int | None, int]:
    if limit is not None and limit != -1:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ParamError(f"`limit` value {limit!r} is illegal: it must be a positive int")
    else:
        limit = None
    offset = offset or 0
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
        raise ParamError(f"`offset` value {offset!r} is illegal: it must be a non-negative int")
    if (limit or 0) + offset > max_window:
        raise ParamError(f"{what}: limit + offset must be at most {max_window}, got "
                         f"{(limit or 0) + offset}")
    return (None if limit is None else int(limit)), int(offset)


def _search_leg(meta, data: Any, anns_field: str | None, metric_type: str | None,
                params: Any, top_k: int) -> SearchLeg:
    """Check the vector half of a search: field, metric, params (range bounds taken out,
    the index's search parameters checked against ``top_k`` and defaulted), query vectors
    (query texts for a BM25 function's output field, bound to statistics later by
    :func:`.exec.bm25.bind_queries`)."""
    field = _anns_field(meta, anns_field)
    index = meta.index_for_field(field.name)
    metric = _search_metric(index.metric_type, metric_type)
    if params is not None and not isinstance(params, dict):
        raise ParamError(f"search params must be a dict, got {type(params).__name__}")
    params = dict(params or {})
    band = take_range(params, metric)
    layout = layout_of(field)
    params = normalize_search_params(index.index_type, metric, params, limit=top_k)
    drop_ratio = params.get("drop_ratio_search", 0.0)
    if layout.is_sparse:
        params["drop_ratio_search"] = 0.0  # applied once to the queries, for every segment
    function = bm25_function_for(meta.schema, field.name)
    if function is not None:
        queries = text_request(function, data, index.params, drop_ratio)
    else:
        reject_text(field, data)
        queries = parse_queries(layout, data, field.name)
        if layout.is_sparse:
            queries = drop_smallest(SparseRows(*queries), drop_ratio)
    if len(queries) == 0:
        raise ParamError("search needs at least one query vector")
    return SearchLeg(field.name, metric, queries, layout, band, params=params)


def _hybrid_legs(meta, requests: Any) -> list[SearchLeg]:
    if not isinstance(requests, (list, tuple)) or not requests:
        raise ParamError("hybrid_search needs a non-empty list of AnnSearchRequest")
    if len(requests) > MAX_HYBRID_REQUESTS:
        raise ParamError(f"hybrid_search takes at most {MAX_HYBRID_REQUESTS} requests, got "
                         f"{len(requests)}")
    legs = []
    for position, request in enumerate(requests):
        unknown = sorted(set(request) - _HYBRID_REQUEST_KEYS)
        if unknown:
            raise ParamError(f"hybrid_search request {position}: unknown key(s) {unknown}")
        limit = request.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not (
                1 <= limit <= MAX_TOPK):
            raise ParamError(f"hybrid_search request {position}: limit must be an int in "
                             f"[1, {MAX_TOPK}], got {limit!r}")
        leg = _search_leg(meta, request.get("data"), request.get("anns_field"),
                          request.get("metric_type"), request.get("params"), int(limit))
        leg.limit = int(limit)
        leg.filter = request.get("filter") or ""
        if not isinstance(leg.filter, str):
            raise ParamError(f"hybrid_search request {position}: filter must be a string, "
                             f"got {type(leg.filter).__name__}")
        leg.filter_params = request.get("filter_params")
        legs.append(leg)
    sizes = sorted({len(leg.queries) for leg in legs})
    if len(sizes) > 1:
        raise ParamError(f"hybrid_search: every request needs the same number of query "
                         f"vectors, got {[len(leg.queries) for leg in legs]}")
    return legs


def _run_leg(views, masks, leg: SearchLeg, limit: int, offset: int,
             grouping: Grouping | None) -> Candidates:
    """Hits of one leg per query, after ``offset`` (hits, or groups when grouping)."""
    if grouping is not None:
        return grouped_search_views(views, masks, leg.field, leg.queries, leg.metric, grouping,
                                    limit, offset, leg.band, leg.layout)
    if leg.band is not None:
        found = range_search_views(views, masks, leg.field, leg.queries, leg.metric, leg.band,
                                   limit + offset, leg.layout)
    else:
        found = search_views(views, masks, leg.field, leg.queries, leg.metric, limit + offset,
                             leg.layout, leg.params)
    if offset:
        found = Candidates([v[offset:] for v in found.view_index],
                           [r[offset:] for r in found.row],
                           [d[offset:] for d in found.distance])
    return found


def _keys(view_index: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return (view_index.astype(np.int64) << _KEY_SHIFT) | rows.astype(np.int64)


def _pk_rank(views, view_index: np.ndarray, rows: np.ndarray, pk_name: str) -> np.ndarray:
    """For each hit, the rank of its primary key among the hits' keys (ties break by pk)."""
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    pks = _take_in_order(views, view_index, rows, [pk_name]).column(pk_name)
    rank = np.empty(len(rows), np.int64)
    rank[pc.sort_indices(pks).to_numpy()] = np.arange(len(rows))
    return rank


def _pk_value(primary, value: Any) -> Any:
    from .dml import pk_array
    if isinstance(value, (list, tuple, np.ndarray)):
        raise ParamError(f"pk_after must be one primary key value, got {value!r}")
    return pk_array(primary, value).to_pylist()[0]


def _anns_field(meta, anns_field: str | None):
    vectors = [f for f in meta.schema.fields if f.is_vector]
    if anns_field:
        field = meta.schema.field(anns_field)
        if field is None or not field.is_vector:
            raise ParamError(f"anns_field {anns_field!r} is not a vector field of collection "
                             f"{meta.name!r} (vector fields: {[f.name for f in vectors]})")
        return field
    if len(vectors) != 1:
        raise ParamError(f"collection {meta.name!r} has several vector fields "
                         f"{[f.name for f in vectors]}: pass anns_field")
    return vectors[0]


def _search_metric(index_metric: str, requested: str | None) -> str:
    if requested in (None, ""):
        return index_metric
    if not isinstance(requested, str) or requested.upper() != index_metric:
        raise ParamError(f"metric type not match: invalid parameter[expected={index_metric}]"
                         f"[actual={requested}]")
    return index_metric


def _to_numpy_bool(array) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.fill_null(False).to_numpy(zero_copy_only=False)


def _gather(views, masks, columns: list[str]) -> pa.Table:
    parts = []
    for view, mask in zip(views, masks):
        if mask.any():
            positions = pa.array(np.flatnonzero(mask))
            parts.append(view.table.select(columns).take(positions))
    if not parts:
        return views[0].table.select(columns).slice(0, 0) if views else _empty(columns)
    return pa.concat_tables(parts)


def _empty(columns: list[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.null()) for name in columns})


def _order_by_pk(table: pa.Table, pk_name: str) -> pa.Table:
    if table.num_rows < 2:
        return table
    order = pc.sort_indices(table.column(pk_name))
    return table.take(order)


def _pk_in_order(views, view_index: np.ndarray, rows: np.ndarray, pk_name: str) -> list:
    """The primary keys of hits, in hit order (int64 keys through a cached numpy copy)."""
    column = views[int(view_index[0])].column(pk_name)
    if not pa.types.is_integer(column.type):
        return _take_in_order(views, view_index, rows, [pk_name]).column(0).to_pylist()
    if view_index[0] == view_index[-1] and (view_index == view_index[0]).all():
        return _pk_numpy(views[int(view_index[0])], pk_name)[rows].tolist()
    keys = np.empty(len(rows), np.int64)
    for position in np.unique(view_index):
        where = view_index == position
        keys[where] = _pk_numpy(views[int(position)], pk_name)[rows[where]]
    return keys.tolist()


def _pk_numpy(view, pk_name: str) -> np.ndarray:
    cached = view.cache.get(("pk_numpy", view.num_rows))
    if cached is None:
        column = view.column(pk_name)
        cached = (column.combine_chunks() if isinstance(column, pa.ChunkedArray)
                  else column).to_numpy()
        view.cache[("pk_numpy", view.num_rows)] = cached
    return cached


def _take_in_order(views, view_index: np.ndarray, rows: np.ndarray,
                   columns: list[str]) -> pa.Table:
    """Gather rows from several views, keeping the hit order."""
    if len(rows) == 0:
        return views[0].table.select(columns).slice(0, 0) if views else _empty(columns)
    if view_index[0] == view_index[-1] and (view_index == view_index[0]).all():
        return views[int(view_index[0])].table.select(columns).take(pa.array(rows))
    parts, order = [], []
    for index in np.unique(view_index):
        where = np.flatnonzero(view_index == index)
        parts.append(views[index].table.select(columns).take(pa.array(rows[where])))
        order.append(where)
    table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        positions = np.concatenate(order)
        table = table.take(pa.array(np.argsort(positions, kind="stable")))
    return table
