"""Range search: the closest ``k`` rows whose distance lies inside a band.

Milvus reads ``radius`` and ``range_filter`` from the search params:

* L2 (smaller is closer): ``radius > distance >= range_filter``;
* IP and COSINE (larger is closer): ``radius < distance <= range_filter``.

``range_filter`` is optional; given, it must lie on the closer side of ``radius``
(Milvus rejects the request otherwise). Bounds are compared in float32, as Milvus's
engine reads them. Every surviving row is scored (no candidate window), so the answer
is exact: the top ``k`` of *all* rows in the band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import ParamError
from ...vectors import VectorLayout
from ..storage.segments import SegmentView
from .exhaustive import append_hits, score_surviving, top_positions
from .search import FLOAT32, Candidates, larger_is_closer

RADIUS = "radius"
RANGE_FILTER = "range_filter"


@dataclass(frozen=True)
class DistanceRange:
    """The band of a range search; ``range_filter`` may be None (one bound)."""

    radius: np.float32
    range_filter: np.float32 | None
    larger_is_closer: bool

    def keep(self, scores: np.ndarray) -> np.ndarray:
        """Which ``scores`` lie inside the band."""
        if self.larger_is_closer:
            inside = scores > self.radius
            if self.range_filter is not None:
                inside &= scores <= self.range_filter
        else:
            inside = scores < self.radius
            if self.range_filter is not None:
                inside &= scores >= self.range_filter
        return inside


def take_range(params: dict, metric: str) -> DistanceRange | None:
    """Remove ``radius``/``range_filter`` from ``params`` and check them for ``metric``.

    Returns None when no radius is given. ``range_filter`` without ``radius`` is an error
    (Milvus ignores it; redkite does not drop a parameter silently).
    """
    radius = params.pop(RADIUS, None)
    range_filter = params.pop(RANGE_FILTER, None)
    if radius is None:
        if range_filter is not None:
            raise ParamError("range_filter needs radius: a range search is "
                             "{'radius': r, 'range_filter': f} in search_params['params']")
        return None
    radius = _bound(RADIUS, radius)
    larger = larger_is_closer(metric)
    if range_filter is not None:
        range_filter = _bound(RANGE_FILTER, range_filter)
        if larger and not range_filter > radius:
            raise ParamError(f"range_filter must be greater than radius for {metric} "
                             f"(keeps radius < distance <= range_filter), got radius={radius}, "
                             f"range_filter={range_filter}")
        if not larger and not range_filter < radius:
            raise ParamError(f"range_filter must be less than radius for {metric} "
                             f"(keeps range_filter <= distance < radius), got radius={radius}, "
                             f"range_filter={range_filter}")
    return DistanceRange(np.float32(radius),
                         None if range_filter is None else np.float32(range_filter), larger)


def _bound(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParamError(f"search parameter {name} must be a number, got {value!r}")
    if math.isnan(float(value)):
        raise ParamError(f"search parameter {name} must be a number, got NaN")
    return float(value)


def range_search_views(views: list[SegmentView], masks: list[np.ndarray], field: str,
                       queries: np.ndarray, metric: str, band: DistanceRange,
                       k: int, layout: VectorLayout = FLOAT32) -> Candidates:
    """Per query, the ``k`` closest surviving rows inside ``band``, closest first."""
    scored = score_surviving(views, masks, field, queries, metric, layout)
    out = Candidates([], [], [])
    for query in range(len(queries)):
        scores = scored.scores[query]
        inside = np.flatnonzero(band.keep(scores))
        append_hits(out, scored, query, inside[top_positions(scores[inside], k, metric)])
    return out
