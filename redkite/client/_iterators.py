"""``query_iterator`` and ``search_iterator`` without I/O: the pagers that decide which
request fetches the next rows, keep the cursor and cut pages. The iterators of both clients
(``_async/iterators.py`` and the generated ``_sync/iterators.py``) only run the requests a
pager asks for, so the two share every rule. Pages are shaped like pymilvus 3.0.2's
``QueryIterator`` and ``SearchIteratorV2``.

* :class:`QueryPager` walks the rows matching a filter in primary-key order. Each
  ``next()`` is one query for the ``batch_size`` smallest keys above the last key
  returned (the engine keeps every segment's rows sorted by key, so a page costs about
  its own size: iterating is linear in the collection).
* :class:`SearchPager` pages through one query vector's hits, closest first. After a
  page whose last distance is ``d``, the next page is an exact range search for the
  rows at ``d`` or farther, minus the rows already returned at ``d`` (excluded by
  primary key). The bound is widened by a relative ``1e-5`` and the exclusion covers
  the rows returned in that margin, so a distance recomputed one float32 ulp
  differently can neither repeat a row nor skip one.

An iterator fetches its first page when it is made, so a bad filter or field fails
there (pymilvus probes the server at that point too). Each later page reads the
collection as it is at that moment (redkite reads are always strong): a row inserted
during the walk is returned if it sorts after the cursor, a deleted one is not returned
any more. Every row present for the whole walk is returned exactly once. Iterators hold
no resources; ``close()`` ends them.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np

from ..errors import DataTypeNotMatchException, ParamError
from ..results import Hit, Hits, SearchPage
from ..search_options import check_round_decimal, round_distances
from ..types import VECTOR_TYPES
from . import _base as base

UNLIMITED = -1
QUERY_ITERATOR_KWARGS = ("offset", "filter_params", "consistency_level")
SEARCH_ITERATOR_KWARGS = ("offset", "filter_params", "consistency_level")
MAX_BATCH_SIZE = 16384
SEEN_PARAM = "redkite_iterator_seen"
BOUNDARY_TOLERANCE = 1e-5
_LARGER_IS_CLOSER = frozenset({"IP", "COSINE", "BM25"})


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ParamError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ParamError(f"batch size must be at least 1, got {batch_size}")
    if batch_size > MAX_BATCH_SIZE:
        raise ParamError(f"batch size cannot be larger than {MAX_BATCH_SIZE}")
    return int(batch_size)


def check_total_limit(limit: Any) -> int:
    if limit is None:
        return UNLIMITED
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < UNLIMITED:
        raise ParamError(f"`limit` value {limit!r} is illegal: pass -1 (no limit) or the "
                         "number of results to return in total")
    return int(limit)


def check_filter(filter: Any) -> str:
    if filter is not None and not isinstance(filter, str):
        raise DataTypeNotMatchException(f"The type of expr must be string ,but "
                                        f"{type(filter)!r} is given.")
    return filter or ""


def primary_key_name(described: dict) -> str:
    return next(f["name"] for f in described["fields"] if f.get("is_primary"))




class Pager(Protocol):
    """What an iterator drives: after ``start(describe_collection's answer)``, while
    ``wants_fetch()``, run the operation ``fetch_request()`` names and hand its result to
    ``add()``; then ``page()`` is the next page."""

    collection_name: str

    def start(self, described: dict) -> None: ...

    def wants_fetch(self) -> bool: ...

    def fetch_request(self) -> tuple[str, dict]: ...

    def add(self, raw: Any) -> None: ...

    def page(self) -> Any: ...

    def close(self) -> None: ...


class _Pages:
    """Page arithmetic both pagers share: ``_pending`` rows cut into pages of
    ``batch_size``, at most ``limit`` rows in all."""

    _batch_size: int
    _limit: int
    _returned: int
    _pending: list

    def _wanted(self) -> int:
        """Rows the next page holds: ``batch_size``, or what is left of the limit."""
        if self._limit == UNLIMITED:
            return self._batch_size
        return max(0, min(self._batch_size, self._limit - self._returned))

    def _cut(self) -> list:
        wanted = self._wanted()
        page, self._pending = self._pending[:wanted], self._pending[wanted:]
        self._returned += len(page)
        return page


class QueryPager(_Pages):
    """Rows matching ``filter`` in primary-key order, ``batch_size`` per page."""

    def __init__(self, collection_name: str, batch_size: Any, limit: Any, filter: Any,
                 output_fields: list[str] | None, partition_names: list[str] | None,
                 options: dict) -> None:
        base.reject_unknown("query_iterator", options, QUERY_ITERATOR_KWARGS)
        base.check_consistency(options.get("consistency_level"))
        self._batch_size = check_batch_size(batch_size)
        self._limit = check_total_limit(limit)
        offset = options.get("offset", 0) or 0
        if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
            raise ParamError(f"`offset` value {offset!r} is illegal: it must be a non-negative "
                             "int")
        if output_fields and "count(*)" in output_fields:
            raise ParamError("query_iterator cannot return count(*): use query()")
        self.collection_name = base.check_name(collection_name)
        self._query = {"collection_name": collection_name, "filter": check_filter(filter),
                       "output_fields": list(output_fields) if output_fields else None,
                       "partition_names": partition_names,
                       "filter_params": options.get("filter_params")}
        self._pk = ""
        self._offset = int(offset)
        self._cursor: Any = None
        self._requested = 0
        self._pending: list[dict] = []
        self._returned = 0
        self._done = False

    def start(self, described: dict) -> None:
        """Without ``output_fields`` rows carry the primary key only."""
        self._pk = primary_key_name(described)
        self._query["output_fields"] = self._query["output_fields"] or [self._pk]

    def wants_fetch(self) -> bool:
        return not self._done and len(self._pending) < self._wanted()

    def fetch_request(self) -> tuple[str, dict]:
        """The batch of smallest keys above the last key returned."""
        self._requested = self._wanted() - len(self._pending)
        return "query", {**self._query, "limit": self._requested, "offset": self._offset,
                         "pk_after": self._cursor}

    def add(self, rows: list[dict]) -> None:
        self._offset = 0
        self._done = len(rows) < self._requested
        if rows:
            self._cursor = rows[-1][self._pk]
        self._pending.extend(rows)

    def page(self) -> list[dict]:
        """The next page of rows; an empty list once every row was returned."""
        return self._cut()

    def close(self) -> None:
        self._done = True
        self._pending = []


class SearchPager(_Pages):
    """One query vector's hits, closest first, ``batch_size`` per page."""

    def __init__(self, collection_name: str, data: Any, batch_size: Any, filter: Any,
                 limit: Any, output_fields: list[str] | None, search_params: dict | None,
                 partition_names: list[str] | None, anns_field: str | None,
                 round_decimal: Any, external_filter_func: Callable | None,
                 options: dict) -> None:
        base.reject_unknown("search_iterator", options, SEARCH_ITERATOR_KWARGS)
        base.check_consistency(options.get("consistency_level"))
        self._batch_size = check_batch_size(batch_size)
        self._limit = check_total_limit(limit)
        if options.get("offset"):
            raise ParamError("Not support offset when searching iteration")
        if external_filter_func is not None and not callable(external_filter_func):
            raise ParamError("external_filter_func must be a callable taking and returning "
                             "hits")
        self._external = external_filter_func
        self._round_decimal = check_round_decimal(round_decimal)
        vectors = base.search_vectors(data)
        if len(vectors) != 1:
            raise ParamError("search_iterator does not support processing multiple vectors "
                             f"simultaneously: got {len(vectors)}, pass one")
        metric, params, extra = base.split_search_params(search_params)
        if extra:
            raise ParamError(f"search_iterator: {sorted(extra)} do not apply to an iterator")
        self._radius = params.pop("radius", None)
        self._range_filter = params.pop("range_filter", None)
        self._user_params = params
        self._filter = check_filter(filter)
        self._filter_params = dict(options.get("filter_params") or {})
        if SEEN_PARAM in self._filter_params:
            raise ParamError(f"filter_params key {SEEN_PARAM!r} is reserved by search_iterator")
        self.collection_name = base.check_name(collection_name)
        self._search = {"collection_name": collection_name, "data": vectors,
                        "anns_field": anns_field, "output_fields": output_fields,
                        "metric_type": metric, "partition_names": partition_names}
        self._pk = ""
        self._field: str | None = None
        self._last: float | None = None
        self._larger = False
        self._seen: tuple[list, np.ndarray] = ([], np.zeros(0))
        self._fetched = False
        self._pending: list[Hit] = []
        self._returned = 0
        self._done = False

    def start(self, described: dict) -> None:
        self._pk = primary_key_name(described)
        vectors = [f["name"] for f in described["fields"] if f["type"] in VECTOR_TYPES]
        self._field = self._search["anns_field"] or (vectors[0] if vectors else None)

    def field_needing_metric(self) -> str | None:
        """The searched field, when no metric was given (its index's metric decides)."""
        return self._field if self._search["metric_type"] is None else None

    def use_metric(self, metric_type: str) -> None:
        self._search["metric_type"] = metric_type

    def wants_fetch(self) -> bool:
        """Once at the start whatever the limit (the first search runs when the iterator
        is made, so a bad filter or field fails there), then while the page is short and
        hits remain."""
        if not self._fetched:
            return not self._done
        return not self._done and len(self._pending) < self._wanted()

    def fetch_request(self) -> tuple[str, dict]:
        return "search", {**self._search, "limit": self._batch_size, "offset": 0,
                          "round_decimal": -1, "params": self._params(),
                          **self._filter_args()}

    def add(self, raw: dict) -> None:
        self._fetched = True
        metric = raw.get("metric_type") or self._search["metric_type"] or ""
        self._larger = metric.upper() in _LARGER_IS_CLOSER
        hits = base.decode_search(raw)[0]
        self._done = len(hits) < self._batch_size
        if len(hits):
            self._advance(hits)
        self._pending.extend(self._external(hits) if self._external else hits)

    def page(self) -> SearchPage:
        """The next page of hits; empty once the search is exhausted."""
        return SearchPage(self._rounded(self._cut()))

    def close(self) -> None:
        self._done = True
        self._pending = []

    def _params(self) -> dict:
        params = dict(self._user_params)
        if self._last is None:
            params.update({k: v for k, v in (("radius", self._radius),
                                             ("range_filter", self._range_filter))
                           if v is not None})
            return params
        margin = BOUNDARY_TOLERANCE * max(1.0, abs(self._last))
        if self._larger:
            bound = self._last + margin
            bound = bound if self._range_filter is None else min(bound, self._range_filter)
            far = float("-inf") if self._radius is None else self._radius
        else:
            bound = self._last - margin
            bound = bound if self._range_filter is None else max(bound, self._range_filter)
            far = float("inf") if self._radius is None else self._radius
        params.update(radius=far, range_filter=bound)
        return params

    def _filter_args(self) -> dict:
        seen_ids = self._seen[0]
        if not seen_ids:
            return {"filter": self._filter, "filter_params": self._filter_params or None}
        exclusion = f"{self._pk} not in {{{SEEN_PARAM}}}"
        text = f"({self._filter}) and {exclusion}" if self._filter else exclusion
        return {"filter": text, "filter_params": {**self._filter_params, SEEN_PARAM: seen_ids}}

    def _advance(self, hits: Hits) -> None:
        """Move the bound to the page's last distance; remember the rows returned within
        twice the margin of it (the next page's range still reaches them)."""
        self._last = float(hits.distances[-1])
        margin = 2 * BOUNDARY_TOLERANCE * max(1.0, abs(self._last))
        ids = self._seen[0] + list(hits.ids)
        distances = np.concatenate([self._seen[1], np.asarray(hits.distances, np.float64)])
        near = (distances <= self._last + margin) if self._larger else (
            distances >= self._last - margin)
        self._seen = ([ids[i] for i in np.flatnonzero(near)], distances[near])

    def _rounded(self, hits: list[Hit]) -> list[Hit]:
        if self._round_decimal >= 0 and hits:
            rounded = round_distances(np.array([hit.distance for hit in hits]),
                                      self._round_decimal)
            for hit, distance in zip(hits, rounded.tolist()):
                hit["distance"] = distance
        return hits
