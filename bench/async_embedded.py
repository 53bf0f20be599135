"""Async vs sync throughput on the embedded engine: ``--searches`` concurrent top-10 searches
(nq=1) over one database, the same queries in every variant:

* ``sync sequential``: one ``MilvusClient``, one search after another;
* ``sync thread pool``: the same client from a ``ThreadPoolExecutor(--threads)``;
* ``async gather``: one ``AsyncMilvusClient``, every search a coroutine, ``asyncio.gather``;
* ``one call, nq=N`` (reference): all queries in a single search call.

Data: ``--rows`` x ``--dim`` float32 (seeded normal) under a FLAT / COSINE index (``--index
HNSW`` waits for the build before timing). Each variant runs ``--repeats`` times, the order
rotating between rounds; searches/s is the median of completed searches / wall time. A run
has ``--budget`` seconds: searches not started by then are skipped and the variant is not
repeated (concurrent small BLAS calls can be pathologically slow, see ``--blas-threads``).
Every variant's hits must equal the sequential ones. Targets: async gather >= sync
sequential, and >= 0.9x the thread pool (the event loop adds little on top of the engine's
own worker pool).

Run: ``python -m bench.async_embedded`` (``--quick``). Writes
``bench/results/async_embedded.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/async_embedded.py` puts bench/ first
    sys.path.insert(0, str(REPO))

from bench.common import LIMIT, METRIC, fmt  # noqa: E402

COLLECTION = "bench"
BATCH = 10_000
TARGETS = {"async_vs_sequential": 1.0, "async_vs_thread_pool": 0.9}


def fill(path: str, vectors: np.ndarray, index_type: str) -> None:
    from redkite import DataType, MilvusClient

    with MilvusClient(path) as client:
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
        index = client.prepare_index_params("vector", index_type=index_type, metric_type=METRIC)
        client.create_collection(COLLECTION, schema=schema, index_params=index)
        for start in range(0, len(vectors), BATCH):
            stop = min(len(vectors), start + BATCH)
            client.insert(COLLECTION, [{"id": i, "vector": vectors[i]}
                                       for i in range(start, stop)])
        deadline = time.monotonic() + 300
        while client.describe_index(COLLECTION, "vector")["pending_index_rows"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the index build did not finish in 300 s")
            time.sleep(0.2)


def ids_of(result: Any) -> list[list[int]]:
    return [[hit["id"] for hit in hits] for hits in result]


# ---------------------------------------------------------------------------- variants
# Each variant gets a time budget: searches not started by the deadline are skipped (their
# hits are None), so a pathological configuration is reported, not waited out.


def sequential(client: Any, queries: np.ndarray, deadline: float) -> list:
    hits: list = [None] * len(queries)
    for i, q in enumerate(queries):
        if time.perf_counter() > deadline:
            break
        hits[i] = ids_of(client.search(COLLECTION, data=[q], limit=LIMIT))[0]
    return hits


def thread_pool(client: Any, queries: np.ndarray, deadline: float, threads: int) -> list:
    def one(q: np.ndarray) -> list[int] | None:
        if time.perf_counter() > deadline:
            return None
        return ids_of(client.search(COLLECTION, data=[q], limit=LIMIT))[0]

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, queries))


async def gathered(client: Any, queries: np.ndarray, deadline: float) -> list:
    """Every search a task, all awaited together; at the deadline the tasks still pending
    are cancelled (a cancelled call that has not started does not run)."""
    tasks = [asyncio.ensure_future(client.search(COLLECTION, data=[q], limit=LIMIT))
             for q in queries]
    timeout = None if deadline == float("inf") else max(0.0, deadline - time.perf_counter())
    await asyncio.wait(tasks, timeout=timeout)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [ids_of(t.result())[0] if t.done() and not t.cancelled() else None for t in tasks]


def one_call(client: Any, queries: np.ndarray, deadline: float) -> list:
    return ids_of(client.search(COLLECTION, data=queries, limit=LIMIT))


def measure(variants: dict[str, Callable[[float], list]], repeats: int,
            budget_s: float) -> dict[str, dict]:
    """Searches/s per variant: the median over ``repeats`` rounds (order rotating) of
    completed searches / wall time; a variant cut by its budget is not repeated."""
    names = list(variants)
    rates: dict[str, list[float]] = {name: [] for name in names}
    hits: dict[str, list] = {}
    cut: set[str] = set()
    for rep in range(repeats):
        for j in range(len(names)):
            name = names[(rep + j) % len(names)]
            if name in cut:
                continue
            start = time.perf_counter()
            found = variants[name](start + budget_s)
            took = time.perf_counter() - start
            done = sum(hit is not None for hit in found)
            rates[name].append(done / took)
            hits[name] = found
            if done < len(found):
                cut.add(name)
    return {name: {"searches_s_runs": rates[name], "searches_s": statistics.median(rates[name]),
                   "cut_by_budget": name in cut, "hits": hits[name]} for name in names}


def run(args: argparse.Namespace, path: str) -> dict:
    from redkite import AsyncMilvusClient, MilvusClient

    rng = np.random.default_rng(args.seed)
    vectors = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    queries = rng.standard_normal((args.searches, args.dim), dtype=np.float32)
    fill(path, vectors, args.index)
    sync = MilvusClient(path)
    aclient = AsyncMilvusClient(path)
    loop = asyncio.new_event_loop()
    try:
        warm = queries[:20]  # imports, the async client's worker pool, segments in memory
        sequential(sync, warm, float("inf"))
        loop.run_until_complete(gathered(aclient, warm, float("inf")))
        variants = {
            "sync sequential": lambda end: sequential(sync, queries, end),
            f"sync thread pool ({args.threads})": lambda end: thread_pool(sync, queries, end,
                                                                           args.threads),
            "async gather": lambda end: loop.run_until_complete(gathered(aclient, queries, end)),
            f"one call, nq={args.searches} (reference)": lambda end: one_call(sync, queries,
                                                                              end),
        }
        results = measure(variants, args.repeats, args.budget)
    finally:
        loop.run_until_complete(aclient.close())
        loop.close()
        sync.close()
    reference = results["sync sequential"]["hits"]
    for res in results.values():
        found = res.pop("hits")
        both = [(a, b) for a, b in zip(found, reference) if a is not None and b is not None]
        res["compared"] = len(both)
        res["same_hits"] = all(a == b for a, b in both)
    return results


# ------------------------------------------------------------------------------ report


def evaluate(results: dict, threads: int) -> list[dict]:
    qps = {name: res["searches_s"] for name, res in results.items()}
    async_qps = qps["async gather"]
    checks = [
        {"name": "async gather / sync sequential", "value": async_qps / qps["sync sequential"],
         "target": TARGETS["async_vs_sequential"]},
        {"name": f"async gather / sync thread pool ({threads})",
         "value": async_qps / qps[f"sync thread pool ({threads})"],
         "target": TARGETS["async_vs_thread_pool"]},
    ]
    for check in checks:
        check["status"] = "PASS" if check["value"] >= check["target"] else "FAIL"
    same = all(res["same_hits"] for res in results.values())
    checks.append({"name": "every variant returns the sequential hits", "value": same,
                   "target": True, "status": "PASS" if same else "FAIL"})
    return checks


def table(results: dict) -> list[str]:
    base = results["sync sequential"]["searches_s"]
    lines = [f"{'variant':34} {'searches/s':>11} {'vs seq':>7}", "-" * 54]
    for name, res in results.items():
        note = "  (cut by --budget)" if res["cut_by_budget"] else ""
        lines.append(f"{name:34} {fmt(res['searches_s']):>11} "
                     f"{res['searches_s'] / base:>6.2f}x{note}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--searches", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--index", choices=("FLAT", "HNSW"), default="FLAT")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds per variant run: later searches are skipped and the "
                         "variant is not repeated")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="run with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set to this "
                         "(default: the environment's)")
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 2 repeats, 8 s budget")
    ap.add_argument("--out", type=Path,
                    default=REPO / "bench" / "results" / "async_embedded.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.repeats, args.budget = 20_000, 2, 8.0
    return args


def with_blas_threads(threads: int, argv: list[str] | None) -> None:
    """Re-run this benchmark with the BLAS thread count set (it is read when numpy loads)."""
    value = str(threads)
    if os.environ.get("OPENBLAS_NUM_THREADS") == value == os.environ.get("OMP_NUM_THREADS"):
        return
    os.environ.update(OPENBLAS_NUM_THREADS=value, OMP_NUM_THREADS=value)
    args = sys.argv[1:] if argv is None else argv
    os.execv(sys.executable, [sys.executable, "-m", "bench.async_embedded", *args])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.blas_threads is not None:
        with_blas_threads(args.blas_threads, argv)
    started = time.perf_counter()
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"async vs sync on the embedded engine: rows={args.rows} dim={args.dim} "
          f"index={args.index} metric={METRIC} searches={args.searches} limit={LIMIT} "
          f"repeats={args.repeats} BLAS threads={blas}", flush=True)
    tmp = tempfile.mkdtemp(prefix="redkite-async-bench-")
    try:
        results = run(args, str(Path(tmp) / "bench.db"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = {"params": {k: v for k, v in vars(args).items() if k != "out"},
           "env": {"python": sys.version.split()[0], "platform": platform.platform(),
                   "cpus": os.cpu_count(), "numpy": np.__version__, "blas_threads": blas},
           "variants": results, "checks": evaluate(results, args.threads)}
    res["elapsed_s"] = time.perf_counter() - started
    print()
    print("\n".join(table(results)))
    print()
    for check in res["checks"]:
        value = check["value"] if isinstance(check["value"], bool) else f"{check['value']:.2f}"
        print(f"{check['status']:<5} {check['name']}: {value} (target >= {check['target']})")
    print(f"\nelapsed {res['elapsed_s']:.1f}s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
