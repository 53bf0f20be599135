"""ANN benchmark: redkite's embedded engine vs raw faiss, same data, same run.

* data: ``--rows`` x ``--dim`` float32 vectors around ``--clusters`` gaussian centres
  (seeded; centres N(0, 1), points centre + 1.5 N(0, 1), so ef matters), an INT64
  ``category`` in 0..99, ``--queries`` held-out vectors from the same distribution; exact
  cosine ground truth (faiss brute force) per filter;
* build, ``--threads`` threads on both sides, same HNSW ``--m`` / ``--efc``: redkite =
  ``insert`` of 10,000-row batches of dicts, ``flush()``, then ``describe_index`` polled
  until ``pending_index_rows == 0`` and ``indexed_rows == total_rows`` (build time = end of
  insert -> index ready); faiss = normalise + ``IndexHNSWFlat(d, M, METRIC_INNER_PRODUCT)``
  ``.add`` + ``write_index``;
* search (COSINE, ``limit=10``): per system the smallest ef of ``--ef-sweep`` reaching
  recall@10 >= 0.95 without filter, then p50/p99 single-query latency (one thread) at that
  ef with no filter, a 10% filter (``category < 10``) and a 1% filter (``category == 7``).
  Raw faiss filters with a precomputed ``IDSelectorBitmap``; redkite evaluates the filter;
* QPS: 100 query vectors per call, ``--qps-threads`` threads on both sides;
* each system builds in one fresh process and serves in another, so one system's memory
  never pollutes the other's RSS; RSS = the serving process after the whole search
  workload (psutil), peak RSS = ``VmHWM`` of that process;
* cold open: a fresh process doing ``MilvusClient(path)`` / ``faiss.read_index(path,
  IO_FLAG_MMAP)`` + first search (library imports timed separately), median of
  1 + ``--cold-repeats`` processes.

Targets (the search issue): redkite p50 <= 5x raw faiss at recall@10 >= 0.95, recall@10 >=
0.95 at the 10% and 1% filters, RSS <= 1.5x raw faiss, cold open of 1M rows <= 1 s.

Run: ``python -m bench.search`` (100k rows, HNSW; what ``make bench`` runs),
``python -m bench.search --rows 1000000`` (1M rows; faiss's HNSW build alone takes ~6 min
on 2 cores),
``python -m bench.search --index FLAT --rows 20000`` (exact search on both sides, a quick
check of the harness). Every subprocess has a timeout (``--timeout``). Prints a table
with PASS/FAIL per target and writes ``bench/results/search.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/search.py` puts bench/ first, not the repo
    sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    FILTERS, LIMIT, METRIC, fmt, get, recall, summary, timed_variants,
)

COLLECTION = "ann"
BATCH = 10_000
QPS_NQ = 100
CHUNK = 100_000          # rows per step of data generation and ground truth
SPREAD = 1.5             # noise scale around a cluster centre (centres are N(0, 1)); with
                         # 1000 clusters, faiss HNSW needs ef ~64 for recall@10 0.95 at 100k
COLD_EF = 64             # ef of the cold-open first search (HNSW)
RESULT_PREFIX = "RESULT "
TARGETS = {"recall": 0.95, "p50_vs_faiss": 5.0, "rss_vs_faiss": 1.5, "cold_open_s": 1.0}
SIDES = ("redkite", "faiss")


def log(role: str, msg: str) -> None:
    print(f"[{role}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    try:
        import psutil
        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # Linux fallback: resident pages from /proc
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (getrusage's ru_maxrss would include the parent's
    RSS at fork, which Linux keeps across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB; non-Linux


def dir_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def normalized(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def set_threads(n: int) -> int | str:
    """Set faiss's OpenMP threads if faiss is loaded (by raw faiss, or by redkite's vector
    search, which runs in-process); otherwise the child's OMP_NUM_THREADS stays in force, so
    the bench never loads faiss into a redkite process that does not use it. BLAS threads
    are fixed per child through the environment."""
    faiss = sys.modules.get("faiss")
    if faiss is None:
        return f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} (faiss not loaded)"
    faiss.omp_set_num_threads(n)
    return n


# --------------------------------------------------------------------------- data


def _sample(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    assign = rng.integers(0, centres.shape[0], n)
    noise = rng.standard_normal((n, centres.shape[1]), dtype=np.float32)
    return centres[assign] + np.float32(SPREAD) * noise


def make_data(work: Path, p: dict) -> None:
    """base.npy (rows x dim), category.npy, queries.npy in ``work``, generated in chunks."""
    rng = np.random.default_rng(p["seed"])
    centres = rng.standard_normal((p["clusters"], p["dim"]), dtype=np.float32)
    base = np.lib.format.open_memmap(work / "base.npy", mode="w+", dtype=np.float32,
                                     shape=(p["rows"], p["dim"]))
    for start in range(0, p["rows"], CHUNK):
        stop = min(p["rows"], start + CHUNK)
        base[start:stop] = _sample(rng, centres, stop - start)
    base.flush()
    del base
    np.save(work / "category.npy", rng.integers(0, 100, p["rows"], dtype=np.int64))
    np.save(work / "queries.npy", _sample(rng, centres, p["queries"]))


def _merge_topk(best: tuple[np.ndarray, np.ndarray] | None, d: np.ndarray,
                i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if best is not None:
        d, i = np.concatenate([best[0], d], axis=1), np.concatenate([best[1], i], axis=1)
    order = np.argsort(-d, axis=1, kind="stable")[:, :LIMIT]
    return np.take_along_axis(d, order, axis=1), np.take_along_axis(i, order, axis=1)


def ground_truth(work: Path, p: dict) -> None:
    """Exact top-10 by cosine for every query and filter -> truth_<filter>.npy."""
    import faiss
    base = np.load(work / "base.npy", mmap_mode="r")
    category = np.load(work / "category.npy")
    queries = normalized(np.load(work / "queries.npy"))
    best: dict[str, Any] = {key: None for key in FILTERS}
    for start in range(0, p["rows"], CHUNK):
        stop = min(p["rows"], start + CHUNK)
        xb = normalized(base[start:stop])
        for key, (_, mask_fn) in FILTERS.items():
            local = (np.arange(stop - start) if mask_fn is None
                     else np.flatnonzero(mask_fn(category[start:stop])))
            if local.size == 0:
                continue
            d, i = faiss.knn(queries, xb[local], min(LIMIT, local.size),
                             metric=faiss.METRIC_INNER_PRODUCT)
            best[key] = _merge_topk(best[key], d, (local[i] + start).astype(np.int64))
    for key, val in best.items():
        np.save(work / f"truth_{key}.npy", val[1])


# ------------------------------------------------------------------------- build


def role_faiss_build(work: Path, p: dict) -> dict:
    import faiss
    faiss.omp_set_num_threads(p["threads"])
    xb = np.load(work / "base.npy")
    t0 = time.perf_counter()
    faiss.normalize_L2(xb)  # in place
    if p["index"] == "HNSW":
        index = faiss.IndexHNSWFlat(p["dim"], p["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = p["efc"]
    else:
        index = faiss.IndexFlatIP(p["dim"])
    index.add(xb)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    faiss.write_index(index, str(work / "index.faiss"))
    return {"index": type(index).__name__, "build_s": build_s, "insert_s": None,
            "total_s": build_s, "save_s": time.perf_counter() - t0,
            "disk_mb": dir_mb(work / "index.faiss"), "peak_rss_mb": peak_rss_mb()}


def index_ready(desc: dict | None, rows: int) -> bool:
    if not desc:
        return False
    return (desc.get("pending_index_rows") == 0 and desc.get("total_rows") == rows
            and desc.get("indexed_rows") == rows)


def wait_for_index(client: Any, rows: int, timeout_s: float) -> dict:
    """Poll describe_index until every row is indexed (or the timeout passes)."""
    t0 = time.perf_counter()
    polls, desc = 0, None
    while True:
        desc = client.describe_index(COLLECTION, "vector")
        polls += 1
        if index_ready(desc, rows):
            return {"ready": True, "wait_s": time.perf_counter() - t0, "polls": polls,
                    "describe": desc}
        if time.perf_counter() - t0 > timeout_s:
            return {"ready": False, "wait_s": time.perf_counter() - t0, "polls": polls,
                    "describe": desc}
        time.sleep(0.05 if polls < 100 else 0.5)


def build_params(p: dict) -> dict:
    return {"M": p["m"], "efConstruction": p["efc"]} if p["index"] == "HNSW" else {}


def create_redkite_collection(client: Any, p: dict) -> None:
    from redkite import DataType
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=p["dim"])
    schema.add_field("category", DataType.INT64)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type=p["index"], metric_type=METRIC, params=build_params(p))
    client.create_collection(COLLECTION, schema=schema, index_params=ip)


def role_redkite_build(work: Path, p: dict) -> dict:
    from redkite import MilvusClient
    from redkite.errors import MilvusException
    threads = set_threads(p["threads"])
    client = MilvusClient(str(work / "rk.db"))
    try:
        create_redkite_collection(client, p)
    except MilvusException as exc:
        return {"error": f"create_collection with index_type={p['index']} rejected: "
                         f"{type(exc).__name__}: {exc}", "stage": "create_collection"}
    base, category = np.load(work / "base.npy"), np.load(work / "category.npy")
    insert_s = 0.0
    for start in range(0, p["rows"], BATCH):
        stop = min(p["rows"], start + BATCH)
        rows = [{"id": i, "vector": v, "category": c} for i, v, c in
                zip(range(start, stop), base[start:stop], category[start:stop].tolist())]
        t0 = time.perf_counter()
        client.insert(COLLECTION, rows)
        insert_s += time.perf_counter() - t0
    t_end = time.perf_counter()
    client.flush(COLLECTION)
    flush_s = time.perf_counter() - t_end
    waited = wait_for_index(client, p["rows"], p["build_timeout"])
    build_s = time.perf_counter() - t_end
    count = client.query(COLLECTION, filter="", output_fields=["count(*)"])[0]["count(*)"]
    t0 = time.perf_counter()
    client.close()
    out = {"index": waited["describe"], "insert_s": insert_s, "flush_s": flush_s,
           "build_s": build_s, "total_s": insert_s + build_s, "index_ready": waited["ready"],
           "index_polls": waited["polls"], "count": int(count), "close_s": time.perf_counter() - t0,
           "disk_mb": dir_mb(work / "rk.db"), "peak_rss_mb": peak_rss_mb(), "omp_threads": threads}
    if not waited["ready"]:
        out["error"] = (f"index not ready {p['build_timeout']:.0f}s after insert: describe_index "
                        f"= {waited['describe']}")
    return out


# ------------------------------------------------------------------------- serve


class FaissSide:
    """Raw faiss: the saved index read back with IO_FLAG_MMAP, filters as bitmaps."""

    def __init__(self, work: Path, p: dict) -> None:
        self.work, self.p = work, p
        self.queries = normalized(np.load(work / "queries.npy"))  # raw faiss needs unit queries
        self.selectors: dict[str, Any] = {}
        self.cache: dict[tuple, Any] = {}

    def import_modules(self) -> None:
        import faiss  # noqa: F401

    def open(self) -> dict:
        import faiss
        path = str(self.work / "index.faiss")
        try:
            self.index, mode = faiss.read_index(path, faiss.IO_FLAG_MMAP), "IO_FLAG_MMAP"
        except RuntimeError:
            self.index, mode = faiss.read_index(path), "read_index (mmap unsupported)"
        return {"open_mode": mode, "index": type(self.index).__name__}

    def prepare_filters(self) -> None:
        import faiss
        category = np.load(self.work / "category.npy")
        for key, (_, mask_fn) in FILTERS.items():
            if mask_fn is not None:
                bitmap = np.packbits(mask_fn(category), bitorder="little")
                self.selectors[key] = (faiss.IDSelectorBitmap(bitmap), bitmap)

    def _params(self, ef: int | None, key: str) -> Any:
        import faiss
        if (ef, key) not in self.cache:
            sel = self.selectors[key][0] if key in self.selectors else None
            if ef is not None:
                self.cache[(ef, key)] = faiss.SearchParametersHNSW(efSearch=ef, sel=sel)
            else:
                self.cache[(ef, key)] = faiss.SearchParameters(sel=sel) if sel else None
        return self.cache[(ef, key)]

    def search(self, lo: int, hi: int, ef: int | None, key: str) -> list:
        _, ids = self.index.search(self.queries[lo:hi], LIMIT, params=self._params(ef, key))
        return ids.tolist()


class RedkiteSide:
    """redkite through its public API: MilvusClient(path).search(...)."""

    def __init__(self, work: Path, p: dict) -> None:
        self.work, self.p = work, p
        self.queries = np.load(work / "queries.npy")

    def import_modules(self) -> None:
        import redkite  # noqa: F401

    def open(self) -> dict:
        from redkite import MilvusClient
        self.client = MilvusClient(str(self.work / "rk.db"))
        return {}

    def prepare_filters(self) -> None:
        desc = self.client.describe_index(COLLECTION, "vector")
        if not index_ready(desc, self.p["rows"]):  # index not persisted: wait for a rebuild
            waited = wait_for_index(self.client, self.p["rows"], self.p["build_timeout"])
            self.index_on_open = {"ready_at_open": False, **waited}
            if not waited["ready"]:
                raise RuntimeError(f"index not ready after reopen: {waited['describe']}")
        else:
            self.index_on_open = {"ready_at_open": True, "describe": desc}

    def search(self, lo: int, hi: int, ef: int | None, key: str) -> list:
        params = {"params": {"ef": ef}} if ef is not None else {}
        res = self.client.search(COLLECTION, data=self.queries[lo:hi], limit=LIMIT,
                                 filter=FILTERS[key][0], search_params=params)
        return [hits.ids for hits in res]


def cold_open(side: Any, p: dict) -> dict:
    t0 = time.perf_counter()
    side.import_modules()
    import_s = time.perf_counter() - t0
    rss_imports = rss_mb()
    t0 = time.perf_counter()
    info = side.open()
    first = side.search(0, 1, COLD_EF if p["index"] == "HNSW" else None, "none")
    return {"cold_open_s": time.perf_counter() - t0, "import_s": import_s,
            "rss_after_imports_mb": rss_imports, "first_hits": len(first[0]), **info}


def batched(side: Any, n: int, ef: int | None, key: str) -> list:
    out: list = []
    for lo in range(0, n, QPS_NQ):
        out.extend(side.search(lo, min(n, lo + QPS_NQ), ef, key))
    return out


def choose_ef(side: Any, p: dict, truth: dict) -> tuple[int | None, dict]:
    """Smallest ef of the sweep whose unfiltered recall@10 reaches the target (else the
    largest); FLAT has no ef."""
    if p["index"] != "HNSW":
        return None, {}
    sweep: dict[str, float] = {}
    for ef in p["ef_sweep"]:
        sweep[str(ef)] = recall(batched(side, p["queries"], ef, "none"), truth["none"])
        if sweep[str(ef)] >= TARGETS["recall"]:
            return ef, sweep
    return p["ef_sweep"][-1], sweep


def measure_qps(side: Any, p: dict, ef: int | None) -> dict:
    n = p["queries"] - p["queries"] % QPS_NQ or p["queries"]
    side.search(0, min(n, QPS_NQ), ef, "none")  # warm-up
    calls, t0 = 0, time.perf_counter()
    while True:
        lo = (calls * QPS_NQ) % n
        side.search(lo, min(n, lo + QPS_NQ), ef, "none")
        calls += 1
        elapsed = time.perf_counter() - t0
        if (elapsed >= p["qps_budget"] and calls >= 5) or calls >= 1000:
            break
    return {"qps": calls * QPS_NQ / elapsed, "calls": calls, "nq": QPS_NQ}


def serve(side: Any, work: Path, p: dict) -> dict:
    out = cold_open(side, p)
    truth = {key: np.load(work / f"truth_{key}.npy") for key in FILTERS}
    side.prepare_filters()
    out["index_on_open"] = getattr(side, "index_on_open", None)
    threads = out["omp_threads"] = {"sweep": set_threads(p["qps_threads"])}
    ef, out["ef_sweep"] = choose_ef(side, p, truth)
    out["ef"] = ef
    threads["latency"] = set_threads(1)
    fns = {key: (lambda i, k=key: side.search(i, i + 1, ef, k)[0]) for key in FILTERS}
    timed = timed_variants(fns, p["queries"], p["budget"])
    out["search"] = {key: summary(timed[key][0]) for key in FILTERS}
    out["recall_at_10"] = {key: recall(timed[key][1], truth[key]) for key in FILTERS}
    threads["qps"] = set_threads(p["qps_threads"])
    out["qps"] = measure_qps(side, p, ef)
    out["rss_mb"] = rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


ROLES: dict[str, Callable[[Path, dict], dict]] = {
    "faiss-build": role_faiss_build,
    "redkite-build": role_redkite_build,
    "faiss-serve": lambda w, p: serve(FaissSide(w, p), w, p),
    "redkite-serve": lambda w, p: serve(RedkiteSide(w, p), w, p),
    "faiss-cold": lambda w, p: cold_open(FaissSide(w, p), p),
    "redkite-cold": lambda w, p: cold_open(RedkiteSide(w, p), p),
}


def child_main(role: str, work: Path) -> int:
    p = json.loads((work / "params.json").read_text())
    try:
        out = ROLES[role](work, p)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as this side's failure
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-2000:]}
    print(RESULT_PREFIX + json.dumps(out, default=float), flush=True)
    return 0


# ------------------------------------------------------------------------ parent


def run_child(role: str, work: Path, threads: int, timeout_s: float) -> dict:
    """Run one role in a fresh interpreter; its last RESULT line is the answer."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "bench.search", "--role", role, "--work", str(work)]
    print(f"  {role} ...", flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
                              timeout=timeout_s)
        stdout, late = proc.stdout, ""
    except subprocess.TimeoutExpired as exc:  # run() has killed the child
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        late = f"{role} did not exit within {timeout_s:.0f}s"
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if not lines:
        return {"error": late or f"{role} exited {proc.returncode} without a result: "
                                 f"{stdout[-800:]}"}
    out = json.loads(lines[-1][len(RESULT_PREFIX):])
    if late:  # the result was printed, then the process hung (e.g. a non-daemon thread)
        out.setdefault("error", f"{late} after printing its result")
    out["process_s"] = time.perf_counter() - t0
    return out


def bench_side(name: str, work: Path, p: dict, cold_repeats: int) -> dict:
    out: dict[str, Any] = {"build": run_child(f"{name}-build", work, p["threads"], p["timeout"])}
    if "error" in out["build"]:
        out["error"] = f"build: {out['build']['error']}"
        return out
    out["serve"] = run_child(f"{name}-serve", work, 1, p["timeout"])
    if "error" in out["serve"]:
        out["error"] = f"serve: {out['serve']['error']}"
        return out
    colds = [run_child(f"{name}-cold", work, 1, p["timeout"]) for _ in range(cold_repeats)]
    secs = [out["serve"]["cold_open_s"]] + [c["cold_open_s"] for c in colds if "error" not in c]
    imps = [out["serve"]["import_s"]] + [c["import_s"] for c in colds if "error" not in c]
    out["cold"] = {"median_s": statistics.median(secs), "runs_s": secs,
                   "import_s": statistics.median(imps),
                   "errors": [c["error"] for c in colds if "error" in c]}
    return out


# ---------------------------------------------------------------------- reporting


def _ratio(a: Any, b: Any) -> float | None:
    ok = all(isinstance(x, (int, float)) and x == x for x in (a, b))
    return a / b if ok and b else None


def _status(passed: bool | None, target: str) -> str:
    if target in ("", "info"):
        return "INFO"
    return "SKIP" if passed is None else ("PASS" if passed else "FAIL")


def report_rows(res: dict) -> list[tuple[str, Any, Any, Any, str, str]]:
    """(metric, redkite, faiss, redkite/faiss, target, status) per table row."""
    rk, fs = res["systems"]["redkite"], res["systems"]["faiss"]
    rk_ok = "error" not in rk
    rows: list[tuple[str, Any, Any, Any, str, str]] = []

    def add(label: str, path: tuple, target: str = "info",
            check: Callable[[Any, Any, Any], bool] | None = None) -> None:
        a, b = get(rk, *path), get(fs, *path)
        r = _ratio(a, b)
        if target == "info":
            passed = None
        elif not rk_ok or a is None:
            passed = False  # redkite could not produce the number: a failed target
        else:
            passed = None if check is None else check(a, b, r)
        rows.append((label, a, b, r, target, _status(passed, target)))

    idx = get(rk, "build", "index")
    rk_type = idx.get("index_type") if isinstance(idx, dict) else None
    type_ok = rk_type is not None and rk_type.upper() == res["params"]["index"]
    rows.append(("index type", rk_type or "n/a", get(fs, "build", "index"), None,
                 f"== {res['params']['index']}", "PASS" if type_ok else "FAIL"))
    add("insert s (10k-row batches)", ("build", "insert_s"))
    add("index ready s after insert", ("build", "build_s"))
    add("insert + index s", ("build", "total_s"))
    add("search ef (recall@10 >= 0.95)", ("serve", "ef"))
    reopened = get(rk, "serve", "index_on_open", "ready_at_open")
    rows.append(("index ready at reopen", {True: "yes", False: "no"}.get(reopened, "n/a"), "yes",
                 None, "yes", "PASS" if reopened else "FAIL"))
    good_recall = lambda a, b, r: a >= TARGETS["recall"]  # noqa: E731
    for key, (expr, _) in FILTERS.items():
        label = expr or "no filter"
        add(f"recall@10 [{label}]", ("serve", "recall_at_10", key), ">= 0.95", good_recall)
        if key == "none":
            fast = lambda a, b, r: r is not None and r <= TARGETS["p50_vs_faiss"] \
                and get(rk, "serve", "recall_at_10", "none") >= TARGETS["recall"]  # noqa: E731
            add(f"p50 ms [{label}]", ("serve", "search", key, "p50_ms"), "<= 5x faiss", fast)
        else:
            add(f"p50 ms [{label}]", ("serve", "search", key, "p50_ms"))
        add(f"p99 ms [{label}]", ("serve", "search", key, "p99_ms"))
    add(f"QPS (nq={QPS_NQ}, {res['params']['qps_threads']} threads)", ("serve", "qps", "qps"))
    add("RSS MB after searches", ("serve", "rss_mb"), "<= 1.5x faiss",
        lambda a, b, r: r is not None and r <= TARGETS["rss_vs_faiss"])
    add("RSS MB after imports", ("serve", "rss_after_imports_mb"))
    add("peak RSS MB (serving process)", ("serve", "peak_rss_mb"))
    add("peak RSS MB (build process)", ("build", "peak_rss_mb"))
    cold_target = "<= 1 s" + ("" if res["params"]["rows"] >= 1_000_000 else " (set for 1M)")
    add("cold open + 1st search s", ("cold", "median_s"), cold_target,
        lambda a, b, r: a <= TARGETS["cold_open_s"])
    add("import s (not in cold open)", ("cold", "import_s"))
    add("on-disk MB", ("build", "disk_mb"))
    return rows


def build_table(rows: list[tuple]) -> list[str]:
    w0 = max(len(r[0]) for r in rows) + 2
    head = f"{'metric':<{w0}}{'redkite':>14}{'faiss':>15}{'rk/faiss':>10}  {'target':<24}status"
    lines = [head, "-" * len(head)]
    for label, a, b, r, target, status in rows:
        lines.append(f"{label:<{w0}}{fmt(a):>14}{fmt(b):>15}{fmt(r):>10}  {target:<24}{status}")
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000, help="held-out query vectors")
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--index", choices=("HNSW", "FLAT"), default="HNSW")
    ap.add_argument("--m", type=int, default=16, help="HNSW M")
    ap.add_argument("--efc", type=int, default=128, help="HNSW efConstruction")
    ap.add_argument("--ef-sweep", type=lambda s: [int(x) for x in s.split(",")],
                    default=[16, 32, 64, 128, 256, 512], help="search ef values, ascending")
    ap.add_argument("--threads", type=int, default=2, help="threads for index builds")
    ap.add_argument("--qps-threads", type=int, default=2, help="threads for nq=100 calls")
    ap.add_argument("--budget", type=float, default=20.0,
                    help="max seconds per timed single-query variant (stops early, n >= 20)")
    ap.add_argument("--qps-budget", type=float, default=5.0)
    ap.add_argument("--cold-repeats", type=int, default=2,
                    help="extra cold-open processes per system")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per subprocess (default: max(600, rows * 0.004))")
    ap.add_argument("--skip-redkite", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "search.json")
    ap.add_argument("--keep", action="store_true", help="keep the data and databases")
    ap.add_argument("--role", choices=sorted(ROLES), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def params_of(args: argparse.Namespace) -> dict:
    timeout = args.timeout or max(600.0, args.rows * 0.004)
    return {"rows": args.rows, "dim": args.dim, "queries": args.queries,
            "clusters": args.clusters, "spread": SPREAD, "seed": args.seed,
            "index": args.index, "m": args.m, "efc": args.efc, "ef_sweep": args.ef_sweep,
            "metric": METRIC, "limit": LIMIT, "batch": BATCH, "threads": args.threads,
            "qps_threads": args.qps_threads, "budget": args.budget, "qps_budget": args.qps_budget,
            "timeout": timeout, "build_timeout": max(60.0, timeout - 120),
            "filters": {k: v[0] for k, v in FILTERS.items()}}


def print_report(res: dict) -> None:
    print()
    for line in build_table(report_rows(res)):
        print(line)
    for name in SIDES:
        sweep = get(res["systems"][name], "serve", "ef_sweep")
        if sweep:
            print(f"{name} ef sweep (ef: recall@10): "
                  + ", ".join(f"{ef}: {r:.3f}" for ef, r in sweep.items()))
    for name in SIDES:
        notes = [v for v in (get(res["systems"][name], "serve", "omp_threads") or {}).values()
                 if isinstance(v, str)]
        if notes:
            print(f"note: {name} serving process: {notes[0]}")
    for name in SIDES:
        err = get(res["systems"][name], "error")
        if err:
            print(f"\n{name} FAILED: {err}")
    print(f"\nelapsed {res['elapsed_s']:.1f}s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role:
        return child_main(args.role, args.work)
    t_all = time.perf_counter()
    p = params_of(args)
    print(f"redkite search bench: rows={p['rows']} dim={p['dim']} index={p['index']} "
          f"M={p['m']} efConstruction={p['efc']} queries={p['queries']} metric={METRIC}",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="redkite-search-bench-"))
    (work / "params.json").write_text(json.dumps(p))
    res: dict[str, Any] = {
        "params": p, "systems": {}, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "env": {"python": sys.version.split()[0], "platform": platform.platform(),
                "cpus": os.cpu_count(), "numpy": np.__version__}}
    try:
        t0 = time.perf_counter()
        make_data(work, p)
        ground_truth(work, p)
        res["data_s"] = time.perf_counter() - t0
        print(f"data + ground truth: {res['data_s']:.1f}s", flush=True)
        print("faiss:", flush=True)
        res["systems"]["faiss"] = bench_side("faiss", work, p, args.cold_repeats)
        if args.skip_redkite:
            res["systems"]["redkite"] = {"error": "skipped (--skip-redkite)"}
        else:
            print("redkite:", flush=True)
            res["systems"]["redkite"] = bench_side("redkite", work, p, args.cold_repeats)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    rows = report_rows(res)
    res["checks"] = [{"metric": r[0], "redkite": r[1], "faiss": r[2], "ratio": r[3],
                      "target": r[4], "status": r[5]} for r in rows]
    res["elapsed_s"] = time.perf_counter() - t_all
    print_report(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=float))
    print(f"wrote {args.out}" + (f"; data kept in {work}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
