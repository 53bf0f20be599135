"""hybrid_search building blocks, shaped like pymilvus 3.0.2's (``client/abstract.py``).

``AnnSearchRequest`` is one vector search (its own field, params, limit and filter);
``RRFRanker`` / ``WeightedRanker`` fuse the requests' hits. ``str()`` of each prints the
same dict pymilvus prints; ``ranker.dict()`` is the description the engine receives.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataTypeNotMatchException, ParamError

RANKER_TYPE_RRF = "rrf"
RANKER_TYPE_WEIGHTED = "weighted"


class BaseRanker:
    """A hybrid_search ranker: ``dict()`` describes it as ``{'strategy', 'params'}``."""

    def dict(self) -> dict:
        return {}

    def __str__(self) -> str:
        return str(self.dict())


class RRFRanker(BaseRanker):
    """Reciprocal rank fusion: a hit scores ``sum(1 / (k + rank + 1))`` over the requests
    that found it (``rank`` 0-based)."""

    def __init__(self, k: int = 60) -> None:
        self._strategy = RANKER_TYPE_RRF
        self._k = k

    def dict(self) -> dict:
        return {"strategy": self._strategy, "params": {"k": self._k}}


class WeightedRanker(BaseRanker):
    """Weighted sum of the requests' (normalised when ``norm_score``) scores, one weight per
    request."""

    def __init__(self, *nums: float, norm_score: bool = True) -> None:
        self._strategy = RANKER_TYPE_WEIGHTED
        weights = []
        for num in nums:
            if isinstance(num, bool) or not isinstance(num, (int, float)):
                raise TypeError(f"Weight must be a number, got {type(num)}")
            weights.append(num)
        self._weights = weights
        self._norm_score = norm_score

    def dict(self) -> dict:
        return {"strategy": self._strategy,
                "params": {"weights": self._weights, "norm_score": self._norm_score}}


class AnnSearchRequest:
    """One leg of a hybrid search: ``data`` searched on ``anns_field`` with ``param``
    (``metric_type``, ``params``), its top ``limit`` hits, filtered by ``expr``
    (or ``filter``) with template values ``expr_params``."""

    def __init__(self, data: Any, anns_field: str, param: dict, limit: int,
                 expr: str | None = None, expr_params: dict | None = None,
                 filter: str | None = None) -> None:
        self._data = data
        self._anns_field = anns_field
        self._param = param
        self._limit = limit
        if expr is not None and filter is not None:
            raise ParamError("Provide either 'expr' or 'filter', not both.")
        resolved = filter if filter is not None else expr
        if resolved is not None and not isinstance(resolved, str):
            raise DataTypeNotMatchException(f"The type of expr must be string ,but "
                                            f"{type(resolved)!r} is given.")
        self._expr = resolved
        self._expr_params = expr_params

    @property
    def data(self) -> Any:
        return self._data

    @property
    def anns_field(self) -> str:
        return self._anns_field

    @property
    def param(self) -> dict:
        return self._param

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def expr(self) -> str | None:
        return self._expr

    @property
    def filter(self) -> str | None:
        return self._expr

    @property
    def expr_params(self) -> dict | None:
        return self._expr_params

    def __str__(self) -> str:
        return str({"anns_field": self.anns_field, "param": self.param, "limit": self.limit,
                    "expr": self.expr})
