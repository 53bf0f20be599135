"""Fusion of hybrid_search legs with Milvus's rankers.

A ranker arrives as ``{"strategy": "rrf" | "weighted", "params": {...}}`` (what
pymilvus's ``RRFRanker.dict()`` / ``WeightedRanker.dict()`` produce). For one query, each
leg is its hits best first; a row found by several legs gets the sum of its
contributions (rows are identified by an integer key, so results are deduplicated):

* RRF: ``1 / (k + rank + 1)`` per leg, ``rank`` 0-based; ``0 < k < 16384``.
* Weighted: ``weight_i * f_i(distance)`` with ``f`` Milvus's normalisation when
  ``norm_score`` is true: COSINE ``(1 + d) / 2``, IP ``1/2 + atan(d) / pi``, BM25
  ``2 atan(d) / pi``, L2 ``1 - 2 atan(d) / pi`` (all "larger is better", in [0, 1]).
  Without normalisation the raw distances are summed; when legs mix directions (L2
  with IP/COSINE/BM25) the L2 legs still go through ``1 - 2 atan(d) / pi`` so that
  larger is better throughout. Weights lie in [0, 1], one per leg.

Fused scores sort descending (ascending only for an unnormalised weighted fusion of
L2-only legs), ties by smaller primary key, as Milvus orders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import ParamError
from .search import larger_is_closer

RRF_K_BOUND = 16384


@dataclass(frozen=True)
class Ranker:
    strategy: str
    k: float = 60.0
    weights: tuple[float, ...] = ()
    norm_score: bool = True


def parse_ranker(ranker: object, legs: int) -> Ranker:
    """Check a ranker description for a hybrid search of ``legs`` requests."""
    if not isinstance(ranker, dict) or not isinstance(ranker.get("params", {}), dict):
        raise ParamError(f"ranker must be {{'strategy': ..., 'params': {{...}}}}, got {ranker!r}")
    strategy, params = ranker.get("strategy"), dict(ranker.get("params") or {})
    if strategy == "rrf":
        _reject_other_keys(params, {"k"}, "RRF ranker")
        k = params.get("k", 60)
        if not _is_number(k) or not 0 < k < RRF_K_BOUND:
            raise ParamError(f"RRF ranker: k must be a number in (0, {RRF_K_BOUND}), got {k!r}")
        return Ranker("rrf", k=float(k))
    if strategy == "weighted":
        _reject_other_keys(params, {"weights", "norm_score"}, "weighted ranker")
        return _weighted(params, legs)
    raise ParamError(f"unknown ranker strategy {strategy!r}: use 'rrf' or 'weighted'")


def _weighted(params: dict, legs: int) -> Ranker:
    weights = params.get("weights")
    if not isinstance(weights, (list, tuple)) or not weights or not all(
            _is_number(w) for w in weights):
        raise ParamError(f"weighted ranker: weights must be a list of numbers, got {weights!r}")
    if any(not 0 <= w <= 1 for w in weights):
        raise ParamError(f"weighted ranker: every weight must be in [0, 1], got {list(weights)}")
    if len(weights) != legs:
        raise ParamError(f"weighted ranker: {len(weights)} weight(s) for {legs} search "
                         "request(s); give one weight per AnnSearchRequest")
    norm = params.get("norm_score", True)
    if not isinstance(norm, bool):
        raise ParamError(f"weighted ranker: norm_score must be a bool, got {norm!r}")
    return Ranker("weighted", weights=tuple(float(w) for w in weights), norm_score=norm)


def _reject_other_keys(params: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(f"{what}: unknown parameter(s) {unknown} (accepted: {sorted(allowed)})")


def _is_number(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.number))
            and math.isfinite(float(value)))


def descending(ranker: Ranker, metrics: list[str]) -> bool:
    """Whether larger fused scores rank first."""
    if ranker.strategy == "rrf" or ranker.norm_score:
        return True
    return any(larger_is_closer(metric) for metric in metrics)


def fuse(ranker: Ranker, legs: list[tuple[np.ndarray, np.ndarray]],
         metrics: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(unique keys, fused float32 scores) of one query from its legs' (keys, distances)."""
    mixed = len({larger_is_closer(metric) for metric in metrics}) > 1
    keys, parts = [], []
    for index, (leg_keys, distances) in enumerate(legs):
        keys.append(leg_keys)
        if ranker.strategy == "rrf":
            parts.append(1.0 / (ranker.k + np.arange(1, len(leg_keys) + 1, dtype=np.float64)))
        else:
            contribution = _weighted_part(distances.astype(np.float64), metrics[index],
                                          ranker.norm_score, mixed)
            parts.append(ranker.weights[index] * contribution)
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    totals = np.zeros(len(unique), np.float64)
    np.add.at(totals, inverse, np.concatenate(parts))
    return unique, totals.astype(np.float32)


def _weighted_part(distances: np.ndarray, metric: str, norm: bool,
                   mixed: bool) -> np.ndarray:
    if norm:
        if metric == "COSINE":
            return (1.0 + distances) * 0.5
        if metric == "IP":
            return 0.5 + np.arctan(distances) / np.pi
        if metric == "BM25":
            return 2.0 * np.arctan(distances) / np.pi
        return 1.0 - 2.0 * np.arctan(distances) / np.pi
    if mixed and not larger_is_closer(metric):
        return 1.0 - 2.0 * np.arctan(distances) / np.pi
    return distances


def fused_order(scores: np.ndarray, pk_rank: np.ndarray, larger_first: bool) -> np.ndarray:
    """Positions sorted by score (``larger_first`` or not), ties by smaller primary key."""
    key = -scores.astype(np.float64) if larger_first else scores.astype(np.float64)
    return np.lexsort((pk_rank, key))
