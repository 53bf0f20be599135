"""REST benchmark: the REST API vs the gRPC face (pymilvus) of the same ``redkite serve``,
and what the same-port front door costs gRPC.

* two server processes (``python -m redkite serve``): ``frontdoor`` (the default: gRPC and
  REST on one port, gRPC forwarded to grpcio on loopback) and ``direct`` (``--no-rest``:
  grpcio owns the port);
* insert: ``--rows`` rows of ``--dim`` float32 vectors plus an INT64 ``category``, batches of
  ``--batch`` rows, into two collections of the ``frontdoor`` server, one over REST
  (``entities/insert``, httpx keep-alive, bodies encoded by pydantic-core) and one over
  pymilvus; rows/s each;
* search (COSINE, AUTOINDEX, ``limit=10``, one query vector per call) of the pymilvus
  collection once flushed and indexed: single-thread latency p50/p99, REST vs pymilvus on
  the ``frontdoor`` server, and pymilvus on ``frontdoor`` vs ``direct`` (same rows) for
  the front door's overhead; the variants run interleaved (``bench.common.timed_variants``) so noise hits
  all alike; QPS with ``--threads`` client threads, REST and pymilvus.

Run: ``python -m bench.rest`` (what ``make bench`` runs). Prints a table and writes
``bench/results/rest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import fmt, summary, timed_variants  # noqa: E402


def start_server(data: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """A ``redkite serve`` process on a free port; its ``host:port``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "redkite", "serve", "--data", str(data), "--port", "0",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=str(REPO), env=dict(os.environ, PYTHONPATH=str(REPO)))
    match = re.search(r"on (127\.0\.0\.1:\d+)", proc.stdout.readline() or "")
    if not match:
        proc.kill()
        raise RuntimeError("redkite serve did not start")
    return proc, match.group(1)


def make_rows(count: int, dim: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim), dtype=np.float32).tolist()
    categories = rng.integers(0, 100, count).tolist()
    return [{"id": i, "vector": v, "category": c}
            for i, (v, c) in enumerate(zip(vectors, categories))]


def rest_post(http: Any, path: str, body: dict) -> Any:
    """POST ``body``, encoded with pydantic-core (a fast encoder, as a REST client in
    production would use; ``json.dumps`` alone costs ~50 ms per 1,000 rows of 64 floats)."""
    import pydantic_core

    reply = http.post(f"/v2/vectordb/{path}", content=pydantic_core.to_json(body)).json()
    if reply.get("code") != 0:
        raise RuntimeError(f"{path}: {reply}")
    return reply


def timed_insert(insert: Callable[[list[dict]], Any], rows: list[dict], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        insert(rows[start:start + batch])
    return len(rows) / (time.perf_counter() - started)


def wait_for_index(client: Any, collection: str, timeout: float = 300) -> None:
    """Flush, then wait until the vector index covers every row."""
    client.flush(collection)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.describe_index(collection, "vector")
        if info.get("pending_index_rows", 0) == 0 and \
                info.get("indexed_rows") == info.get("total_rows"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the index of {collection} was not built in {timeout} s")


def qps(call: Callable[[int], Any], threads: int, seconds: float) -> float:
    """Calls per second with ``threads`` client threads for about ``seconds``."""
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> int:
        done = 0
        while time.perf_counter() < deadline:
            call(offset + done)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(worker, range(0, threads * 1_000_000, 1_000_000)))
    return total / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> dict:
    import httpx
    from pymilvus import MilvusClient

    rows = make_rows(args.rows, args.dim, seed=1)
    queries = np.random.default_rng(2).standard_normal((args.queries, args.dim),
                                                       dtype=np.float32).tolist()
    workdir = Path(tempfile.mkdtemp(prefix="redkite-bench-rest-"))
    door, door_address = start_server(workdir / "frontdoor")
    direct, direct_address = start_server(workdir / "direct", "--no-rest")
    try:
        grpc = MilvusClient(f"http://{door_address}", timeout=120)
        grpc_direct = MilvusClient(f"http://{direct_address}", timeout=120)
        http = httpx.Client(base_url=f"http://{door_address}", timeout=120)
        for client in (grpc, grpc_direct):
            client.create_collection("by_grpc", dimension=args.dim)
        rest_post(http, "collections/create", {"collectionName": "by_rest",
                                               "dimension": args.dim})
        insert = {
            "rest": timed_insert(lambda b: rest_post(http, "entities/insert", {
                "collectionName": "by_rest", "data": b}), rows, args.batch),
            "grpc": timed_insert(lambda b: grpc.insert("by_grpc", b), rows, args.batch),
        }
        grpc_direct.insert("by_grpc", rows)
        for client, collection in ((grpc, "by_rest"), (grpc, "by_grpc"),
                                   (grpc_direct, "by_grpc")):
            wait_for_index(client, collection)  # no index build competes with searches
        n = len(queries)
        variants = {  # all three search the same data, indexed
            "rest": lambda i: rest_post(http, "entities/search", {
                "collectionName": "by_grpc", "data": [queries[i % n]], "limit": 10}),
            "grpc_frontdoor": lambda i: grpc.search("by_grpc", [queries[i % n]], limit=10),
            "grpc_direct": lambda i: grpc_direct.search("by_grpc", [queries[i % n]],
                                                        limit=10),
        }
        timings = timed_variants(variants, args.queries, args.budget)
        latency = {name: summary(times) for name, (times, _) in timings.items()}
        throughput = {name: qps(variants[name], args.threads, args.budget)
                      for name in ("rest", "grpc_frontdoor")}
        for client in (grpc, grpc_direct):
            client.close()
        http.close()
    finally:
        for proc in (door, direct):
            proc.terminate()
            proc.wait(timeout=60)
    overhead = latency["grpc_frontdoor"]["p50_ms"] - latency["grpc_direct"]["p50_ms"]
    return {"config": vars(args) | {"out": str(args.out)}, "insert_rows_per_s": insert,
            "search_latency": latency, "search_qps": throughput,
            "frontdoor_overhead_p50_ms": overhead}


def print_table(result: dict) -> None:
    latency, insert = result["search_latency"], result["insert_rows_per_s"]
    print(f"\nREST vs gRPC, {result['config']['rows']} rows x {result['config']['dim']} dims")
    print(f"{'':24}{'REST':>12}{'gRPC':>12}{'gRPC direct':>14}")
    print(f"{'insert rows/s':24}{fmt(insert['rest']):>12}{fmt(insert['grpc']):>12}{'':>14}")
    for key, label in (("p50_ms", "search p50 ms"), ("p99_ms", "search p99 ms")):
        print(f"{label:24}{fmt(latency['rest'][key]):>12}"
              f"{fmt(latency['grpc_frontdoor'][key]):>12}"
              f"{fmt(latency['grpc_direct'][key]):>14}")
    threads = result["config"]["threads"]
    print(f"{f'search QPS ({threads} threads)':24}{fmt(result['search_qps']['rest']):>12}"
          f"{fmt(result['search_qps']['grpc_frontdoor']):>12}")
    print(f"front door overhead on a gRPC search (p50): "
          f"{result['frontdoor_overhead_p50_ms']:+.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--budget", type=float, default=5.0,
                        help="seconds per timed phase (per variant)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "rest.json")
    args = parser.parse_args()
    result = run(args)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
