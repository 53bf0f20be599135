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
from ..types import DataType
from ..vectors import layout_of, parse_queries, present_vectors
from .exec.search import search_views
from .expr import compile_filter
from .storage.sparse_rows import SparseRows

MAX_TOPK = 16384
COUNT_STAR = "count(*)"
# index type -> search parameters it accepts (sparse fields also take drop_ratio_search = 0)
_SEARCH_PARAMS = {"AUTOINDEX": {"level"}, "SPARSE_INVERTED_INDEX": set()}


@dataclass
class OutputPlan:
    """Which stored columns to read and how to present them."""

    columns: list[str]
    json_columns: list[str]
    dynamic_keys: Any  # False, True (all keys) or a set of keys
    count_only: bool = False
    pk_requested: bool = True
    vector_layouts: dict = dataclass_field(default_factory=dict)  # output vector columns

    def rows(self, table: pa.Table, wrap_bytes: bool) -> list[dict]:
        """Result rows of ``table``; byte vectors wrapped in a list when ``wrap_bytes``."""
        table = present_vectors(table, self.vector_layouts, wrap_bytes)
        sparse = [n for n, layout in self.vector_layouts.items() if layout.is_sparse]
        return table_to_rows(table, self.json_columns, self.dynamic_keys, sparse)


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
                     default_all: bool) -> OutputPlan:
        schema = meta.schema
        names = [f.name for f in schema.fields]
        dynamic_on = schema.enable_dynamic_field
        requested = list(output_fields) if output_fields else (["*"] if default_all else [])
        if isinstance(output_fields, str):
            raise ParamError(f"output_fields must be a list of field names, got "
                             f"{output_fields!r}")
        if requested == [COUNT_STAR]:
            return OutputPlan([], [], False, count_only=True)
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
        layouts = {f.name: layout_of(f) for f in schema.fields
                   if f.is_vector and f.name in columns}
        pk_requested = meta.primary.name in requested or "*" in requested
        return OutputPlan(columns, json_columns, dynamic_keys or False,
                          pk_requested=pk_requested, vector_layouts=layouts)

    # ---- query / get ---------------------------------------------------------------------
    def query(self, db_name: str | None, collection_name: str, filter: str = "",
              output_fields: Sequence[str] | None = None, limit: int | None = None,
              offset: int = 0, partition_names: Sequence[str] | None = None,
              filter_params: dict | None = None, ids: Any = None) -> list[dict]:
        collection = self._get(db_name, collection_name,
                               CollectionNotExistException if ids is None
                               else DescribeCollectionException)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        if not isinstance(filter, str):
            raise ParamError(f"filter must be a string, got {type(filter).__name__}")
        plan = self._output_plan(meta, output_fields, default_all=True)
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
        table = _gather(views, masks, plan.columns)
        table = _order_by_pk(table, meta.primary.name)
        if offset or limit is not None:
            table = table.slice(offset, limit if limit is not None else None)
        return plan.rows(table, wrap_bytes=True)

    # ---- search --------------------------------------------------------------------------
    def search(self, db_name: str | None, collection_name: str, data: Any,
               anns_field: str | None = None, limit: int = 10, offset: int = 0,
               filter: str = "", filter_params: dict | None = None,
               output_fields: Sequence[str] | None = None, metric_type: str | None = None,
               params: dict | None = None, partition_names: Sequence[str] | None = None,
               round_decimal: int = -1) -> dict:
        collection = self._get(db_name, collection_name)
        meta = collection.meta
        self._require_loaded(collection, partition_names)
        field = _anns_field(meta, anns_field)
        layout = layout_of(field)
        index = meta.index_for_field(field.name)
        metric = _search_metric(index.metric_type, metric_type)
        _check_search_params(index.index_type, params or {}, layout.is_sparse)
        limit, offset = _check_window(limit, offset, "search")
        if limit is None:
            limit = 10
        queries = parse_queries(layout, data, field.name)
        if layout.is_sparse:
            queries = SparseRows(*queries)
        if len(queries) == 0:
            raise ParamError("search needs at least one query vector")
        plan = self._output_plan(meta, output_fields, default_all=False)
        if plan.count_only:
            raise ParamError("count(*) is not a valid output field for search")
        views = collection.store.snapshot(self._partition_ids(collection, partition_names))
        masks = self._filter_masks(collection, views, filter, filter_params)
        found = search_views(views, masks, field.name, queries, metric, limit + offset, layout)
        hits = [self._hits(views, plan, meta.primary.name, found.view_index[q][offset:],
                           found.row[q][offset:], found.distance[q][offset:], round_decimal)
                for q in range(len(queries))]
        return {"pk_name": meta.primary.name, "hits": hits}

    def _hits(self, views, plan: OutputPlan, pk_name: str, view_index: np.ndarray,
              rows: np.ndarray, distances: np.ndarray, round_decimal: int) -> SearchHits:
        if len(rows) == 0:
            return SearchHits([], [], [])
        table = _take_in_order(views, view_index, rows, plan.columns)
        entities = plan.rows(table, wrap_bytes=False)
        ids = table.column(pk_name).to_pylist()
        if not plan.pk_requested:
            for entity in entities:
                del entity[pk_name]
        if round_decimal is not None and round_decimal >= 0:
            distances = np.round(distances.astype(np.float64), round_decimal)
        return SearchHits(ids, distances.tolist(), entities)


def _check_window(limit: Any, offset: Any, what: str) -> tuple[int | None, int]:
    if limit is not None and limit != -1:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ParamError(f"`limit` value {limit!r} is illegal: it must be a positive int")
    else:
        limit = None
    offset = offset or 0
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
        raise ParamError(f"`offset` value {offset!r} is illegal: it must be a non-negative int")
    if (limit or 0) + offset > MAX_TOPK:
        raise ParamError(f"{what}: limit + offset must be at most {MAX_TOPK}, got "
                         f"{(limit or 0) + offset}")
    return (None if limit is None else int(limit)), int(offset)


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


def _check_search_params(index_type: str, params: dict, sparse: bool) -> None:
    allowed = _SEARCH_PARAMS.get(index_type, set()) | ({"drop_ratio_search"} if sparse else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(f"search parameter(s) {unknown} do not apply to a {index_type} index"
                         + (f" (accepted: {sorted(allowed)})" if allowed else ""))
    ratio = params.get("drop_ratio_search", 0)
    if isinstance(ratio, bool) or ratio != 0:
        raise ParamError(f"drop_ratio_search must be 0, got {ratio!r}: redkite searches "
                         "sparse vectors exactly and drops no query entries")


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


def _take_in_order(views, view_index: np.ndarray, rows: np.ndarray,
                   columns: list[str]) -> pa.Table:
    """Gather rows from several views, keeping the hit order."""
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
