"""Index benchmark: redkite's HNSW wrapper vs a raw faiss ``IndexHNSWFlat``.

Same data, same queries, same parameters for both:

* data: ``--rows`` x ``--dim`` float32 vectors drawn around 200 Gaussian centres (seeded),
  ``--queries`` query vectors drawn the same way; metric L2;
* HNSW with ``M=16``, ``efConstruction=128``; search ``ef=64``, ``k=10``;
* build time; recall@10 against numpy brute force; p50 latency of single-query searches
  (one vector per call) with no filter and with 10% and 1% ``allowed`` row masks (raw faiss
  gets the same masks as an ``IDSelectorBitmap``; the wrapper widens ef under 10% allowed
  rows and scores the allowed rows exhaustively under 3%);
* a thread check: raw faiss single-query p50 with 1 vs all OpenMP threads.

Run: ``python bench/index_faiss.py`` (``--rows 20000`` for a quick run). Prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/index_faiss.py` puts bench/ first
    sys.path.insert(0, str(REPO))

import faiss  # noqa: E402

from redkite.engine.index import build_index  # noqa: E402

CENTRES = 200
M, EF_CONSTRUCTION, EF, K = 16, 128, 64, 10
FRACTIONS = (1.0, 0.10, 0.01)


def clustered(rng: np.random.Generator, centres: np.ndarray, count: int) -> np.ndarray:
    picks = rng.integers(0, len(centres), count)
    noise = rng.normal(size=(count, centres.shape[1]))
    return (centres[picks] + 0.35 * noise).astype(np.float32)


def exact_top_k(data: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    norms = (data * data).sum(axis=1)
    out = []
    for start in range(0, len(queries), 100):
        q = queries[start:start + 100]
        dist = norms[None, :] - 2.0 * q @ data.T
        if allowed is not None:
            dist[:, ~allowed] = np.inf
        part = np.argpartition(dist, K, axis=1)[:, :K]
        order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1)
        out.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(out)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def timed_single(search, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Labels of one-query-per-call searches and their p50 latency in milliseconds."""
    labels, times = [], []
    for query in queries:
        start = time.perf_counter()
        labels.append(search(query[None, :]))
        times.append(time.perf_counter() - start)
    return np.concatenate(labels), statistics.median(times) * 1e3


def raw_search(index: faiss.Index, allowed: np.ndarray | None):
    def search(query: np.ndarray) -> np.ndarray:
        params = faiss.SearchParametersHNSW(efSearch=EF)
        if allowed is not None:
            bitmap = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
            return index.search(query, K, params=params)[1]
        return index.search(query, K, params=params)[1]
    return search


def wrapper_search(index, allowed: np.ndarray | None):
    return lambda query: index.search(query, K, {"ef": EF}, allowed)[1]


def thread_check(index: faiss.Index, queries: np.ndarray) -> dict[int, float]:
    out = {}
    for threads in (1, faiss.omp_get_max_threads()):
        faiss.omp_set_num_threads(threads)
        out[threads] = timed_single(raw_search(index, None), queries)[1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    centres = rng.normal(size=(CENTRES, args.dim)).astype(np.float32)
    data, queries = clustered(rng, centres, args.rows), clustered(rng, centres, args.queries)
    masks = {f: None if f == 1.0 else rng.random(args.rows) < f for f in FRACTIONS}
    truths = {f: exact_top_k(data, queries, m) for f, m in masks.items()}

    start = time.perf_counter()
    raw = faiss.IndexHNSWFlat(args.dim, M)
    raw.hnsw.efConstruction = EF_CONSTRUCTION
    raw.add(data)
    raw_build = time.perf_counter() - start
    start = time.perf_counter()
    wrapped = build_index("HNSW", "L2", {"M": M, "efConstruction": EF_CONSTRUCTION}, data)
    wrapped_build = time.perf_counter() - start

    threads = thread_check(raw, queries)
    rows = []
    for name, index, build, make in (("redkite HNSW", wrapped, wrapped_build, wrapper_search),
                                     ("faiss IndexHNSWFlat", raw, raw_build, raw_search)):
        faiss.omp_set_num_threads(1)
        cells = [name, f"{build:.1f}"]
        for fraction, mask in masks.items():
            labels, p50 = timed_single(make(index, mask), queries)
            cells += [f"{recall(labels, truths[fraction]):.3f}", f"{p50:.3f}"]
        rows.append(cells)
    print(f"{args.rows} x {args.dim} clustered, L2, M={M} efConstruction={EF_CONSTRUCTION} "
          f"ef={EF} k={K}, {args.queries} single-vector queries, OpenMP threads=1")
    header = ["index", "build s", "recall", "p50 ms", "recall 10%", "p50 ms 10%",
              "recall 1%", "p50 ms 1%"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for line in [header] + rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(line, widths)))
    print("raw faiss single-query p50 by OpenMP threads: "
          + ", ".join(f"{t} thread(s) {ms:.3f} ms" for t, ms in threads.items()))


if __name__ == "__main__":
    main()
