"""Shared by the benchmarks: metric, limit and filters; timing loops, percentiles, recall,
number formatting."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

METRIC = "COSINE"
LIMIT = 10
FILTERS = {  # name -> (filter expression, mask builder over the category column)
    "none": ("", None),
    "cat_lt_10": ("category < 10", lambda cat: cat < 10),
    "cat_eq_7": ("category == 7", lambda cat: cat == 7),
}


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else float("nan")


def summary(samples: list[float]) -> dict:
    return {"n": len(samples), "p50_ms": pct(samples, 50) * 1e3, "p99_ms": pct(samples, 99) * 1e3,
            "mean_ms": (statistics.fmean(samples) * 1e3) if samples else float("nan")}


def timed_loop(fn: Callable[[int], Any], n: int, budget_s: float,
               warmup: int = 3) -> tuple[list[float], list[Any]]:
    for i in range(min(warmup, n)):
        fn(i)
    times, results = [], []
    t_start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        r = fn(i)
        times.append(time.perf_counter() - t0)
        results.append(r)
        if time.perf_counter() - t_start > budget_s and len(times) >= 20:
            break
    return times, results


def timed_variants(fns: dict[str, Callable[[int], Any]], n: int, budget_s: float,
                   warmup: int = 3) -> dict[str, tuple[list[float], list[Any]]]:
    """Time several variants on the same query i back to back (rotating the order), so
    background noise hits every variant alike and their ratios stay meaningful."""
    keys = list(fns)
    for i in range(min(warmup, n)):
        for k in keys:
            fns[k](i)
    out: dict[str, tuple[list[float], list[Any]]] = {k: ([], []) for k in keys}
    t_start = time.perf_counter()
    for i in range(n):
        for j in range(len(keys)):
            k = keys[(i + j) % len(keys)]
            t0 = time.perf_counter()
            r = fns[k](i)
            out[k][0].append(time.perf_counter() - t0)
            out[k][1].append(r)
        if time.perf_counter() - t_start > budget_s * len(keys) and i >= 20:
            break
    return out


def recall(got: Iterable[Sequence[int]], truth: Iterable[Sequence[int]]) -> float:
    """Mean over queries of |got ∩ truth| / |truth| (ids < 0 in truth are padding)."""
    vals = []
    for g, t in zip(got, truth):
        t = set(int(x) for x in t if int(x) >= 0)
        if t:
            vals.append(len(set(int(x) for x in g) & t) / len(t))
    return float(np.mean(vals)) if vals else float("nan")


def fmt(x: Any, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    if abs(x) >= 10:
        return f"{x:.1f}{unit}"
    return f"{x:.3f}{unit}"


def get(d: dict | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d
