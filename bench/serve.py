"""Server benchmark: pymilvus -> ``redkite serve`` vs pymilvus -> ``milvus-lite server``.

Same data, same client library, same run; each server is a child process on 127.0.0.1:

* data: ``--rows`` x ``--dim`` float32 vectors (seeded normal), collection ``id`` INT64 +
  ``vector`` with a FLAT / COSINE index (exact search on both servers);
* insert rows/s, end to end: ``MilvusClient.insert`` of row dicts in batches of 1,000 into a
  fresh collection (``--repeats`` times, median; ``flush()`` timed apart). pymilvus encodes
  rows into protobuf in Python, which caps this number for any server, so the table also
  gives that ceiling (encoding alone) and
* insert rows/s, server side: the same batches encoded beforehand, sent as raw
  ``Insert`` requests (pymilvus's own encoder and stub; ``schema_timestamp`` 0);
* insert rows/s, 8 clients: 8 processes, each with its own MilvusClient, insert their share
  of ``--rows`` fresh rows (1,000-row batches, end to end) into one collection at once;
  rows/s = all rows / (last finish - common start), median of ``--repeats``;
* search QPS, top-10, nq=1: one client in this process; then 8 clients, each a separate
  process with its own MilvusClient (so the client-side GIL does not cap either server),
  all started together and run for ``--seconds``; ``--repeats`` rounds alternating the
  servers, median;
* correctness: each server's top-10 for ``--check`` queries vs numpy brute force (recall).

Target: redkite >= 5x milvus-lite on every row (PASS/FAIL printed per row).
Run: ``python -m bench.serve`` (``--quick`` for a smaller, shorter run).
Writes ``bench/results/serve.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/serve.py` puts bench/ first, not the repo
    sys.path.insert(0, str(REPO))

from bench.common import LIMIT, METRIC, fmt, recall  # noqa: E402
from bench.servers import ServerProcess, start_lite, start_redkite  # noqa: E402

COLLECTION = "bench"
BATCH = 1000
CLIENTS = 8
TARGET = 5.0  # redkite / milvus-lite, every row
SYSTEMS = ("redkite", "lite")

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- data


class Data:
    def __init__(self, rows: int, dim: int, queries: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.vectors = rng.standard_normal((rows, dim), dtype=np.float32)
        self.queries = rng.standard_normal((queries, dim), dtype=np.float32)
        self.batches = [[{"id": i, "vector": self.vectors[i]}
                         for i in range(start, min(rows, start + BATCH))]
                        for start in range(0, rows, BATCH)]

    def truth(self, n: int) -> list[np.ndarray]:
        """Exact COSINE top-LIMIT ids of the first ``n`` queries."""
        normed = self.vectors / np.linalg.norm(self.vectors, axis=1, keepdims=True)
        scores = normed @ self.queries[:n].T
        return [np.argsort(-scores[:, j], kind="stable")[:LIMIT] for j in range(n)]


def client_for(uri: str) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri, timeout=120)


def create(client: Any, name: str, dim: int) -> None:
    from pymilvus import DataType

    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type=METRIC)
    client.create_collection(name, schema=schema, index_params=index)


# ------------------------------------------------------------------------ inserts


def insert_rows(client: Any, name: str, batches: list[list[dict]]) -> float:
    """Seconds to insert every batch through ``MilvusClient.insert``."""
    start = time.perf_counter()
    for batch in batches:
        client.insert(name, batch)
    return time.perf_counter() - start


def encode(client: Any, name: str, batches: list[list[dict]]) -> tuple[list[Any], float]:
    """The batches as pymilvus's InsertRequests (schema stamp 0: valid for any collection of
    this schema) and the seconds encoding took."""
    conn = client._get_connection()  # pymilvus internals: its encoder, without sending
    start = time.perf_counter()
    requests = [conn._prepare_row_insert_request(name, batch) for batch in batches]
    took = time.perf_counter() - start
    for request in requests:
        request.schema_timestamp = 0
    return requests, took


def insert_requests(client: Any, name: str, requests: list[Any]) -> float:
    """Seconds to send pre-encoded InsertRequests for collection ``name``."""
    stub = client._get_connection()._stub
    for request in requests:
        request.collection_name = name
    start = time.perf_counter()
    for request in requests:
        reply = stub.Insert(request, timeout=120)
        if reply.status.code != 0:
            raise RuntimeError(f"Insert failed: {reply.status.reason}")
    return time.perf_counter() - start


def bench_inserts(clients: dict[str, Any], data: Data, dim: int, repeats: int) -> dict:
    rows = sum(len(b) for b in data.batches)
    out: dict[str, dict] = {s: {"e2e_s": [], "raw_s": []} for s in clients}
    requests: dict[str, list] = {}
    for system, client in clients.items():
        create(client, COLLECTION, dim)
        requests[system], out[system]["encode_s"] = encode(client, COLLECTION, data.batches)
    for rep in range(repeats):
        for system, client in clients.items():
            name = f"raw{rep}"
            create(client, name, dim)
            out[system]["raw_s"].append(insert_requests(client, name, requests[system]))
            client.drop_collection(name)
            if rep:
                create(client, COLLECTION, dim)
            out[system]["e2e_s"].append(insert_rows(client, COLLECTION, data.batches))
    for system, client in clients.items():
        start = time.perf_counter()
        client.flush(COLLECTION)  # Lite searches its growing data far slower until flushed
        res = out[system]
        res["flush_s"] = time.perf_counter() - start
        res["e2e_rows_s"] = rows / statistics.median(res["e2e_s"])
        res["raw_rows_s"] = rows / statistics.median(res["raw_s"])
        res["encode_rows_s"] = rows / res["encode_s"]
        count = client.query(COLLECTION, filter="", output_fields=["count(*)"])[0]["count(*)"]
        if count != rows:
            raise RuntimeError(f"{system}: {count} rows after insert, expected {rows}")
    return out


# ------------------------------------------------------------------------ searches

_worker_clients: dict[str, Any] = {}


def search_for(uri: str, queries: np.ndarray, seconds: float, start_at: float) -> int:
    """Top-10 searches (nq=1) from ``start_at`` (``time.time()``) for ``seconds``; how many
    completed. One MilvusClient per process and server, reused across rounds."""
    client = _worker_clients.get(uri)
    if client is None:
        client = _worker_clients[uri] = client_for(uri)
        client.search(COLLECTION, data=[queries[0]], limit=LIMIT)  # connect, cache schema
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds
    done = 0
    while time.time() < deadline:
        client.search(COLLECTION, data=[queries[done % len(queries)]], limit=LIMIT)
        done += 1
    return done


def insert_for(uri: str, name: str, first: int, count: int, dim: int,
               start_at: float) -> float:
    """Insert ``count`` fresh rows (ids from ``first``) in 1,000-row batches from
    ``start_at`` (``time.time()``); when it finished (``time.time()``)."""
    client = _worker_clients.get(uri)
    if client is None:
        client = _worker_clients[uri] = client_for(uri)
    vectors = np.random.default_rng(first).standard_normal((count, dim), dtype=np.float32)
    batches = [[{"id": first + i, "vector": vectors[i]}
                for i in range(start, min(count, start + BATCH))]
               for start in range(0, count, BATCH)]
    time.sleep(max(0.0, start_at - time.time()))
    for batch in batches:
        client.insert(name, batch)
    return time.time()


def bench_parallel_inserts(clients: dict[str, Any], uris: dict[str, str], rows: int,
                           dim: int, repeats: int, pool: ProcessPoolExecutor) -> dict:
    """Rows/s of CLIENTS processes inserting at once (see the module docstring)."""
    out: dict[str, dict] = {s: {f"insert_{CLIENTS}_s": []} for s in uris}
    shares = np.array_split(np.arange(rows), CLIENTS)
    for rep in range(repeats):
        for system in (list(uris) if rep % 2 == 0 else list(reversed(uris))):
            name = f"par{rep}"
            create(clients[system], name, dim)
            start_at = time.time() + 1.0  # every worker has its task by then
            jobs = [pool.submit(insert_for, uris[system], name, int(share[0]), len(share),
                                dim, start_at) for share in shares]
            finished = max(job.result() for job in jobs)
            out[system][f"insert_{CLIENTS}_s"].append(finished - start_at)
            count = clients[system].query(name, filter="", output_fields=["count(*)"])
            if count[0]["count(*)"] != rows:
                raise RuntimeError(f"{system}: {count} rows after the parallel insert")
            clients[system].drop_collection(name)
    for res in out.values():
        res[f"insert_{CLIENTS}_rows_s"] = rows / statistics.median(res[f"insert_{CLIENTS}_s"])
    return out


def _warm(_: int) -> None:
    import pymilvus  # noqa: F401  (the import is the slow part of a fresh process)


def bench_searches(uris: dict[str, str], data: Data, seconds: float, repeats: int,
                   pool: ProcessPoolExecutor) -> dict:
    out: dict[str, dict] = {s: {"qps_1": [], f"qps_{CLIENTS}": []} for s in uris}
    for rep in range(repeats):
        order = list(uris) if rep % 2 == 0 else list(reversed(uris))
        for system in order:
            start_at = time.time() + 0.05
            done = search_for(uris[system], data.queries, seconds, start_at)
            out[system]["qps_1"].append(done / seconds)
        for system in order:
            start_at = time.time() + 1.0  # every worker has its task by then
            slices = np.array_split(data.queries, CLIENTS)
            jobs = [pool.submit(search_for, uris[system], part, seconds, start_at)
                    for part in slices]
            out[system][f"qps_{CLIENTS}"].append(sum(j.result() for j in jobs) / seconds)
    for res in out.values():
        for key in ("qps_1", f"qps_{CLIENTS}"):
            res[f"{key}_median"] = statistics.median(res[key])
    return out


def check_results(clients: dict[str, Any], data: Data, n: int) -> dict:
    truth = data.truth(n)
    out = {}
    for system, client in clients.items():
        got = [[hit["id"] for hit in client.search(COLLECTION, data=[q], limit=LIMIT)[0]]
               for q in data.queries[:n]]
        out[system] = recall(got, truth)
    return out


# --------------------------------------------------------------------------- report

ROWS = [  # (label, result key, what it measures)
    ("insert rows/s, end to end", "e2e_rows_s", "MilvusClient.insert, 1,000-row batches"),
    ("insert rows/s, server side", "raw_rows_s", "pre-encoded Insert requests"),
    (f"insert rows/s, {CLIENTS} clients", f"insert_{CLIENTS}_rows_s",
     "processes, one client each, end to end"),
    ("search QPS, 1 client", "qps_1_median", "top-10, nq=1"),
    (f"search QPS, {CLIENTS} clients", f"qps_{CLIENTS}_median", "processes, one client each"),
]


def evaluate(res: dict) -> list[dict]:
    rk, lite = res["systems"]["redkite"], res["systems"]["lite"]
    checks = []
    for label, key, what in ROWS:
        ratio = rk[key] / lite[key]
        checks.append({"name": label, "what": what, "redkite": rk[key], "lite": lite[key],
                       "ratio": ratio, "status": "PASS" if ratio >= TARGET else "FAIL"})
    for system in SYSTEMS:
        ok = res["recall"][system] >= 0.999
        checks.append({"name": f"{system} recall@{LIMIT} vs numpy", "what": "exact search",
                       "value": res["recall"][system], "status": "PASS" if ok else "FAIL"})
    return checks


def table(res: dict) -> list[str]:
    rk, lite = res["systems"]["redkite"], res["systems"]["lite"]
    lines = [f"{'':34} {'redkite':>10} {'lite':>10} {'ratio':>7}  target",
             "-" * 74]
    for check in res["checks"][:len(ROWS)]:
        lines.append(f"{check['name']:34} {fmt(check['redkite']):>10} {fmt(check['lite']):>10} "
                     f"{check['ratio']:>6.1f}x  >= {TARGET:g}x {check['status']}")
    lines.append(f"{'pymilvus encode rows/s (ceiling)':34} {fmt(rk['encode_rows_s']):>10} "
                 f"{fmt(lite['encode_rows_s']):>10}")
    lines.append(f"{'flush s':34} {fmt(rk['flush_s']):>10} {fmt(lite['flush_s']):>10}")
    lines.append(f"{f'recall@{LIMIT} vs numpy':34} {fmt(res['recall']['redkite']):>10} "
                 f"{fmt(res['recall']['lite']):>10}")
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0, help="per search round")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check", type=int, default=20, help="queries checked against numpy")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for both servers "
                         "(default: their environment's)")
    ap.add_argument("--quick", action="store_true",
                    help="20,000 rows, 1.5 s rounds, 2 repeats")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "serve.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.seconds, args.repeats = 20_000, 1.5, 2
    return args


def run(args: argparse.Namespace, tmp: Path) -> dict:
    data = Data(args.rows, args.dim, args.queries, args.seed)
    servers: dict[str, ServerProcess] = {}
    env = None if args.blas_threads is None else {
        "OPENBLAS_NUM_THREADS": str(args.blas_threads), "OMP_NUM_THREADS": str(args.blas_threads)}
    try:
        servers["redkite"] = start_redkite(tmp / "redkite", env=env)
        servers["lite"] = start_lite(tmp / "lite", env=env)
        clients = {s: client_for(srv.uri) for s, srv in servers.items()}
        phases = {"start_s": time.perf_counter()}
        print("inserting ...", flush=True)
        inserts = bench_inserts(clients, data, args.dim, args.repeats)
        check = check_results(clients, data, args.check)
        uris = {s: srv.uri for s, srv in servers.items()}
        spawn = multiprocessing.get_context("spawn")  # a fresh process each: no forked gRPC
        with ProcessPoolExecutor(CLIENTS, mp_context=spawn) as pool:
            list(pool.map(_warm, range(CLIENTS)))
            parallel = bench_parallel_inserts(clients, uris, args.rows, args.dim,
                                              args.repeats, pool)
            phases["insert_s"] = time.perf_counter()
            print("searching ...", flush=True)
            searches = bench_searches(uris, data, args.seconds, args.repeats, pool)
        phases["search_s"] = time.perf_counter()
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
    phase_s = {"insert_s": phases["insert_s"] - phases["start_s"],
               "search_s": phases["search_s"] - phases["insert_s"]}
    return {"systems": {s: {**inserts[s], **parallel[s], **searches[s]} for s in SYSTEMS},
            "recall": check,
            "phase_s": phase_s}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"redkite serve vs milvus-lite server (pymilvus clients): rows={args.rows} "
          f"dim={args.dim} batch={BATCH} metric={METRIC} limit={LIMIT} "
          f"rounds={args.repeats}x{args.seconds:g}s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="redkite-serve-bench-"))
    try:
        res = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import pymilvus

    res["params"] = {k: v for k, v in vars(args).items() if k != "out"} | {"batch": BATCH,
                                                                          "clients": CLIENTS}
    res["env"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                  "cpus": os.cpu_count(), "pymilvus": pymilvus.__version__}
    res["checks"] = evaluate(res)
    res["elapsed_s"] = time.perf_counter() - started
    print()
    print("\n".join(table(res)))
    print()
    for check in res["checks"]:
        print(f"{check['status']:<5} {check['name']}")
    print(f"\nelapsed {res['elapsed_s']:.1f}s (inserts {res['phase_s']['insert_s']:.1f}s, "
          f"searches {res['phase_s']['search_s']:.1f}s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
