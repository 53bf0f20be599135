"""Embedded benchmark: redkite vs milvus-lite (through pymilvus) vs numpy brute force.

Same data, same queries, same run:

* data: ``--rows`` x ``--dim`` float32 vectors (seeded normal), ``category`` INT64 in
  0..99, ``tag`` VARCHAR; inserted as row dicts in batches of 1000 (timed 3 times, median), then ``flush()``;
* exact search (FLAT index, COSINE), one query vector per call, ``limit=10``:
  no filter, a 10% filter (``category < 10``), a 1% filter (``category == 7``);
* ``query(filter="category == 7", output_fields=["id"])``;
* ``query_iterator(batch_size=1000, output_fields=["id"])`` walked over every row, once;
* cold open + first search in a fresh process (library import not timed; for Lite
  this includes starting its in-process gRPC server and ``load_collection``);
* numpy: normalised matrix @ query + argpartition, filters as precomputed masks.

Run: ``python -m bench.embedded`` or ``python bench/embedded.py``
(``--rows 20000`` for a quick run, ``--skip-lite`` to leave Lite out).
Prints a table, PASS/FAIL per target, and writes ``bench/results/embedded.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/embedded.py` puts bench/ first, not the repo
    sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    FILTERS, LIMIT, METRIC, fmt, get, recall, summary, timed_loop, timed_variants,
)

COLLECTION = "bench"
BATCH = 1000
TAGS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
QUERY_FILTER = "category == 7"
INSERT_RUNS = 3
TARGETS = {
    "insert_vs_lite": 10.0,        # redkite rows/s >= 10x lite
    "search_vs_lite": 20.0,        # lite p50 / redkite p50 >= 20
    "search_vs_numpy": 2.0,        # redkite p50 / numpy p50 <= 2
    "filtered_vs_unfiltered": 1.05,  # filtered p50 / unfiltered p50 <= 1 (+5% timer noise)
    "cold_open_s": 0.2,            # cold open + first search of 100k rows
    "query_iterator_s": 2.0,       # walk all 100k rows with query_iterator, batch 1000
}
ITERATOR_BATCH = 1000

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
logging.getLogger("grpc").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- data


class Data:
    def __init__(self, rows: int, dim: int, queries: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.rows, self.dim = rows, dim
        self.vectors = rng.standard_normal((rows, dim), dtype=np.float32)
        self.category = rng.integers(0, 100, rows, dtype=np.int64)
        self.tags = [TAGS[i % len(TAGS)] + f"-{i % 97}" for i in range(rows)]
        self.queries = rng.standard_normal((queries, dim), dtype=np.float32)
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.normed = np.ascontiguousarray(self.vectors / norms)
        self.masks = {k: (None if b is None else b(self.category)) for k, (_, b) in FILTERS.items()}

    def batches(self) -> list[list[dict]]:
        out = []
        for start in range(0, self.rows, BATCH):
            stop = min(self.rows, start + BATCH)
            out.append([{"id": i, "vector": self.vectors[i], "category": int(self.category[i]),
                         "tag": self.tags[i]} for i in range(start, stop)])
        return out


# ------------------------------------------------------------------------ helpers


def numpy_topk(data: Data, q: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    qn = q / np.linalg.norm(q)
    scores = data.normed @ qn
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    k = min(LIMIT, scores.shape[0] - 1)
    idx = np.argpartition(-scores, k)[:LIMIT]
    return idx[np.argsort(-scores[idx])]


# ------------------------------------------------------------------------- numpy


def bench_numpy(data: Data, n_queries: int) -> dict:
    out: dict[str, Any] = {"search": {}}
    fns = {key: (lambda i, m=data.masks[key]: numpy_topk(data, data.queries[i], m)) for key in FILTERS}
    timed = timed_variants(fns, n_queries, 120)
    out["search"] = {key: summary(timed[key][0]) for key in FILTERS}
    out["truth"] = {key: [numpy_topk(data, data.queries[i], data.masks[key]) for i in range(n_queries)]
                    for key in FILTERS}
    return out


# ----------------------------------------------------------------------- clients


def make_schema(client: Any, datatype: Any, dim: int) -> Any:
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", datatype.INT64, is_primary=True)
    s.add_field("category", datatype.INT64)
    s.add_field("tag", datatype.VARCHAR, max_length=64)
    s.add_field("vector", datatype.FLOAT_VECTOR, dim=dim)
    return s


def bench_client(kind: str, client_cls: Any, datatype: Any, path: Path, data: Data,
                 batches: list[list[dict]], n_queries: int, truth: dict, budget_s: float) -> dict:
    out: dict[str, Any] = {"path": str(path)}
    client = client_cls(str(path))
    schema = make_schema(client, datatype, data.dim)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type=METRIC)
    t0 = time.perf_counter()
    client.create_collection(COLLECTION, schema=schema, index_params=ip)
    out["create_s"] = time.perf_counter() - t0
    idx = client.describe_index(COLLECTION, "vector") or {}
    out["index"] = {"index_type": idx.get("index_type"), "metric_type": idx.get("metric_type")}

    # Warm-up, the same for every system: one small insert into a scratch collection pays
    # one-time costs (lazy imports such as pyarrow -> pandas) before the clock starts.
    client.create_collection(COLLECTION + "_warmup", schema=schema, index_params=ip)
    client.insert(COLLECTION + "_warmup", batches[0][:10])
    client.drop_collection(COLLECTION + "_warmup")
    # The insert is timed INSERT_RUNS times (scratch collections, then the kept one) and
    # the median reported, for every system alike: one run on a shared machine is noise.
    runs = []
    for run in range(INSERT_RUNS):
        name = COLLECTION if run == INSERT_RUNS - 1 else f"{COLLECTION}_run{run}"
        if name != COLLECTION:
            client.create_collection(name, schema=schema, index_params=ip)
        t0 = time.perf_counter()
        for b in batches:
            client.insert(name, b)
        runs.append(time.perf_counter() - t0)
        if name != COLLECTION:
            client.drop_collection(name)
    dt = statistics.median(runs)
    out["insert_s"] = dt
    out["insert_runs_s"] = runs
    out["insert_rows_per_s"] = data.rows / dt
    t0 = time.perf_counter()
    client.flush(COLLECTION)  # Lite searches ~20x slower until its growing data is flushed
    out["flush_s"] = time.perf_counter() - t0
    cnt = client.query(COLLECTION, filter="", output_fields=["count(*)"])[0]["count(*)"]
    out["count"] = int(cnt)

    def one(i: int, expr: str) -> list[int]:
        res = client.search(COLLECTION, data=[data.queries[i]], limit=LIMIT, filter=expr,
                            output_fields=["id"], search_params={"metric_type": METRIC})
        return [int(h["id"]) for h in res[0]]

    timed = timed_variants({key: (lambda i, e=expr: one(i, e)) for key, (expr, _) in FILTERS.items()},
                           n_queries, budget_s)
    out["search"] = {key: summary(timed[key][0]) for key in FILTERS}
    out["recall_at_10"] = {key: recall(timed[key][1], truth[key][: len(timed[key][1])]) for key in FILTERS}

    def q(_: int) -> int:
        return len(client.query(COLLECTION, filter=QUERY_FILTER, output_fields=["id"]))

    times, results = timed_loop(q, max(20, n_queries // 4), budget_s / 2)
    out["query"] = summary(times)
    out["query_rows"] = results[0] if results else None
    out["query_rows_expected"] = int(np.sum(data.category == 7))
    out["query_iterator"] = walk_query_iterator(client)
    client.close()
    return out


def walk_query_iterator(client: Any) -> dict:
    """Time one pass of query_iterator over the whole collection; check every row once."""
    t0 = time.perf_counter()
    iterator = client.query_iterator(COLLECTION, batch_size=ITERATOR_BATCH, output_fields=["id"])
    seen: list[int] = []
    while True:
        page = iterator.next()
        if not page:
            break
        seen.extend(int(row["id"]) for row in page)
    iterator.close()
    return {"seconds": time.perf_counter() - t0, "rows": len(seen),
            "unique": len(set(seen)), "ordered": seen == sorted(seen)}


COLD_SCRIPT = r"""
import json, logging, sys, time
logging.disable(logging.CRITICAL)
kind, path, coll, dim, repo = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
import numpy as np
q = np.random.default_rng(123).standard_normal((1, dim), dtype=np.float32)
t_imp = time.perf_counter()
if kind == "redkite":
    sys.path.insert(0, repo)
    from redkite import MilvusClient
else:
    from pymilvus import MilvusClient
t0 = time.perf_counter()
c = MilvusClient(path)
if kind == "lite":
    c.load_collection(coll)  # Lite reopens collections as 'released'
res = c.search(coll, data=q, limit=10, output_fields=["id"])
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "import_s": t0 - t_imp, "hits": len(res[0])}))
"""


def cold_open(kind: str, path: Path, dim: int, repeats: int = 3) -> dict:
    runs, errors = [], []
    for _ in range(repeats):
        p = subprocess.run([sys.executable, "-c", COLD_SCRIPT, kind, str(path), COLLECTION, str(dim), str(REPO)],
                           capture_output=True, text=True, timeout=300)
        line = (p.stdout.strip().splitlines() or [""])[-1]
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            errors.append((p.stderr or p.stdout)[-800:])
    if not runs:
        return {"error": errors[-1] if errors else "no output"}
    secs = [r["seconds"] for r in runs]
    return {"median_s": statistics.median(secs), "min_s": min(secs), "runs_s": secs,
            "import_s": statistics.median(r["import_s"] for r in runs), "hits": runs[0]["hits"],
            "errors": errors}


# ---------------------------------------------------------------------- reporting


def build_table(res: dict) -> list[str]:
    systems = res["systems"]
    cols = ["redkite", "lite", "numpy"]

    def cell(sys_name: str, *keys: str, unit: str = "") -> str:
        s = systems.get(sys_name)
        if not isinstance(s, dict) or "error" in s or "skipped" in s:
            return "n/a"
        return fmt(get(s, *keys), unit)

    rows = [("insert rows/s", lambda s: cell(s, "insert_rows_per_s"))]
    for key, (expr, _) in FILTERS.items():
        label = expr or "no filter"
        rows.append((f"search p50 ms [{label}]", lambda s, k=key: cell(s, "search", k, "p50_ms")))
        rows.append((f"search p99 ms [{label}]", lambda s, k=key: cell(s, "search", k, "p99_ms")))
        rows.append((f"recall@10 [{label}]", lambda s, k=key: cell(s, "recall_at_10", k)))
    rows.append((f"query p50 ms [{QUERY_FILTER}]", lambda s: cell(s, "query", "p50_ms")))
    rows.append((f"query_iterator s [all rows, batch {ITERATOR_BATCH}]",
                 lambda s: cell(s, "query_iterator", "seconds")))
    rows.append(("cold open+1st search s", lambda s: cell(s, "cold_open", "median_s")))
    rows.append(("flush s (after insert)", lambda s: cell(s, "flush_s")))
    rows.append(("index", lambda s: (f"{get(systems.get(s), 'index', 'index_type')}/"
                                      f"{get(systems.get(s), 'index', 'metric_type')}")
                 if isinstance(get(systems.get(s), "index"), dict) else "n/a"))
    w0 = max(len(r[0]) for r in rows) + 2
    lines = [f"{'metric':<{w0}}" + "".join(f"{c:>14}" for c in cols), "-" * (w0 + 14 * len(cols))]
    for label, f in rows:
        lines.append(f"{label:<{w0}}" + "".join(f"{f(c):>14}" for c in cols))
    return lines


def evaluate(res: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    s = res["systems"]
    rk, lite, npy = s.get("redkite"), s.get("lite"), s.get("numpy")
    ok = lambda d: isinstance(d, dict) and "error" not in d and "skipped" not in d  # noqa: E731
    ratios: dict[str, Any] = {}
    checks: list[tuple[str, str, str]] = []

    def add(name: str, value: Any, target: str, passed: bool | None) -> None:
        ratios[name] = value
        status = ("INFO" if target == "info" else "SKIP") if passed is None else ("PASS" if passed else "FAIL")
        checks.append((status, name, f"{fmt(value)} (target {target})"))

    if ok(rk) and ok(lite):
        v = rk["insert_rows_per_s"] / lite["insert_rows_per_s"]
        add("insert rows/s redkite/lite", v, f">= {TARGETS['insert_vs_lite']:g}x", v >= TARGETS["insert_vs_lite"])
        for key in FILTERS:
            v = lite["search"][key]["p50_ms"] / rk["search"][key]["p50_ms"]
            t = TARGETS["search_vs_lite"]
            add(f"search p50 lite/redkite [{key}]", v, f">= {t:g}x", v >= t)
        v = lite["query"]["p50_ms"] / rk["query"]["p50_ms"]
        add("query p50 lite/redkite", v, "info", None)
        v = lite["query_iterator"]["seconds"] / rk["query_iterator"]["seconds"]
        add("query_iterator lite/redkite", v, "info", None)
    else:
        add("insert rows/s redkite/lite", None, f">= {TARGETS['insert_vs_lite']:g}x", None)
        add("search p50 lite/redkite [none]", None, f">= {TARGETS['search_vs_lite']:g}x", None)
    if ok(rk) and ok(npy):
        for key in FILTERS:
            v = rk["search"][key]["p50_ms"] / npy["search"][key]["p50_ms"]
            add(f"search p50 redkite/numpy [{key}]", v, f"<= {TARGETS['search_vs_numpy']:g}x",
                v <= TARGETS["search_vs_numpy"])
    else:
        add("search p50 redkite/numpy [none]", None, f"<= {TARGETS['search_vs_numpy']:g}x", None)
    if ok(rk):
        base = rk["search"]["none"]["p50_ms"]
        for key in FILTERS:
            if key == "none":
                continue
            v = rk["search"][key]["p50_ms"] / base
            add(f"redkite filtered/unfiltered p50 [{key}]", v, "<= 1 (+5% noise)",
                v <= TARGETS["filtered_vs_unfiltered"])
        cold = get(rk, "cold_open", "median_s")
        t = TARGETS["cold_open_s"]
        note = "" if res["params"]["rows"] >= 100_000 else f" at {res['params']['rows']} rows"
        add("redkite cold open + first search s" + note, cold, f"<= {t:g}s",
            None if cold is None else cold <= t)
        for key in FILTERS:
            r = rk["recall_at_10"][key]
            add(f"redkite recall@10 vs numpy [{key}]", r, ">= 0.99 (exact search)", r >= 0.99)
        walk = rk["query_iterator"]
        t = TARGETS["query_iterator_s"]
        add(f"redkite query_iterator s{note}", walk["seconds"], f"<= {t:g}s, every row once",
            walk["seconds"] <= t and walk["rows"] == walk["unique"] == res["params"]["rows"]
            and walk["ordered"])
    else:
        add("redkite filtered/unfiltered p50", None, "<= 1", None)
        add("redkite cold open + first search s", None, f"<= {TARGETS['cold_open_s']:g}s", None)
    for name in ("lite", "numpy"):
        if ok(s.get(name)):
            for key in FILTERS:
                v = s[name]["search"][key]["p50_ms"] / s[name]["search"]["none"]["p50_ms"]
                ratios[f"{name} filtered/unfiltered p50 [{key}]"] = v
    return ratios, checks


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--lite-queries", type=int, default=None,
                    help="queries per variant for Lite (default: --queries)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-lite", action="store_true")
    ap.add_argument("--skip-redkite", action="store_true")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-open subprocess runs")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="max seconds per timed search variant and system (stops early, n >= 20)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "embedded.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = ap.parse_args(argv)

    t_all = time.perf_counter()
    print(f"redkite embedded bench: rows={args.rows} dim={args.dim} queries={args.queries} "
          f"metric={METRIC} limit={LIMIT} batch={BATCH}", flush=True)
    data = Data(args.rows, args.dim, args.queries, args.seed)
    batches = data.batches()
    tmp = Path(tempfile.mkdtemp(prefix="redkite-bench-"))
    res: dict[str, Any] = {
        "params": {"rows": args.rows, "dim": args.dim, "queries": args.queries, "metric": METRIC,
                   "limit": LIMIT, "batch": BATCH, "seed": args.seed, "filters": {k: v[0] for k, v in FILTERS.items()},
                   "query_filter": QUERY_FILTER},
        "env": {"python": sys.version.split()[0], "platform": platform.platform(),
                "cpus": os.cpu_count(), "numpy": np.__version__},
        "systems": {},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }

    print("numpy brute force ...", flush=True)
    npy = bench_numpy(data, args.queries)
    truth = npy.pop("truth")
    res["systems"]["numpy"] = npy

    # ---- redkite
    if args.skip_redkite:
        res["systems"]["redkite"] = {"skipped": True}
    else:
        try:
            import redkite  # noqa: F401
            from redkite import DataType as RkDataType
            from redkite import MilvusClient as RkClient
            res["env"]["redkite"] = getattr(redkite, "__version__", "?")
        except Exception as exc:  # noqa: BLE001
            res["systems"]["redkite"] = {"error": f"unavailable: {type(exc).__name__}: {exc}"}
            print(f"redkite unavailable: {exc}", flush=True)
        else:
            print("redkite ...", flush=True)
            path = tmp / "rk.db"
            try:
                r = bench_client("redkite", RkClient, RkDataType, path, data, batches, args.queries,
                                 truth, args.budget)
                if not args.no_cold:
                    r["cold_open"] = cold_open("redkite", path, args.dim)
                res["systems"]["redkite"] = r
            except Exception as exc:  # noqa: BLE001
                res["systems"]["redkite"] = {"error": f"{type(exc).__name__}: {exc}",
                                             "traceback": traceback.format_exc()[-2000:]}
                print(f"redkite failed: {exc}", flush=True)

    # ---- milvus-lite
    if args.skip_lite:
        res["systems"]["lite"] = {"skipped": True}
    else:
        print("milvus-lite ...", flush=True)
        path = tmp / "lite.db"
        try:
            import pymilvus
            from milvus_lite.server_manager import server_manager_instance
            from pymilvus import DataType, MilvusClient
            res["env"]["pymilvus"] = pymilvus.__version__
            r = bench_client("lite", MilvusClient, DataType, path, data, batches,
                             args.lite_queries or args.queries, truth, args.budget)
            # stop this process's Lite server so a fresh process can open the data dir
            server_manager_instance.release_server(str(path))
            if not args.no_cold:
                r["cold_open"] = cold_open("lite", path, args.dim)
            r["note"] = ("FLAT index requested and reported by Lite; flush() after insert "
                         "(unflushed Lite searches are ~20x slower); cold open includes "
                         "load_collection (Lite reopens collections released)")
            res["systems"]["lite"] = r
        except Exception as exc:  # noqa: BLE001
            res["systems"]["lite"] = {"error": f"{type(exc).__name__}: {exc}",
                                      "traceback": traceback.format_exc()[-2000:]}
            print(f"lite failed: {exc}", flush=True)

    ratios, checks = evaluate(res)
    res["ratios"] = ratios
    res["checks"] = [{"status": s, "name": n, "detail": d} for s, n, d in checks]
    res["elapsed_s"] = time.perf_counter() - t_all

    print()
    for line in build_table(res):
        print(line)
    for name in ("redkite", "lite"):
        err = get(res["systems"].get(name), "error")
        if err:
            print(f"\n{name}: {err}")
    print()
    for status, name, detail in checks:
        print(f"{status:<5} {name}: {detail}")
    print(f"\nelapsed {res['elapsed_s']:.1f}s")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float))
    print(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"databases kept in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
