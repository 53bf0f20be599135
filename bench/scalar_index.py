"""Scalar-index benchmark: filters on one large sealed segment with and without an index.

* segment level: a ``--rows`` (default 1,000,000) row table, INT64 ``x`` uniform in
  0..99,999, VARCHAR ``s`` = ``"k%06d"`` of a uniform 0..999,999 and JSON ``j`` =
  ``{"k": <int in 0..99,999>}`` (indexed as DOUBLE on ``j["k"]``); each filter is
  evaluated on the same rows as a scan (its typed columns already memoized, as on a sealed
  segment after the first query) and with ``scalar_indexes`` (its sorted structure built
  once beforehand: the build time is reported separately);
* end to end: the same rows in a collection, flushed, ``query(filter, output_fields=
  ["id"])`` before and after ``create_index`` on ``x`` and ``s`` (``--skip-collection``
  to leave it out).

Scan and index runs alternate (so background load hits both alike, but each evicts the
other's data from the CPU caches); the "alone" columns time each in its own loop.

Run: ``python -m bench.scalar_index`` (``--rows 200000`` for a quick run). Prints a table
of median milliseconds and speedups and writes ``bench/results/scalar_index.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import summary, timed_loop, timed_variants  # noqa: E402
from redkite import DataType, MilvusClient  # noqa: E402
from redkite.engine.expr import FieldInfo, TableSource, compile_filter  # noqa: E402
from redkite.types import DataType as D  # noqa: E402

FILTERS = {
    "x == 7": "x == 7",
    "x in [10 values]": "x in [3, 17, 101, 5000, 12345, 33333, 50000, 70001, 88888, 99999]",
    "x range 0.1%": "x >= 500 and x < 600",
    "x range 10%": "x < 10000",
    's == "k000123"': 's == "k000123"',
    's like "k0001%"': 's like "k0001%"',
    's in [3 values]': 's in ["k000001", "k500000", "k999999"]',
    's range 1%': 's >= "k10" and s < "k11"',
    'j["k"] == 7': 'j["k"] == 7',
    'j["k"] range 0.1%': 'j["k"] >= 500 and j["k"] < 600',
}
FIELDS = {"id": FieldInfo("id", D.INT64, is_primary=True), "x": FieldInfo("x", D.INT64),
          "s": FieldInfo("s", D.VARCHAR), "j": FieldInfo("j", D.JSON)}
INDEXES = {"x": "STL_SORT", "s": "TRIE", ("j", ("k",)): "DOUBLE"}


class IndexedSource(TableSource):
    """A table offering scalar indexes, as a sealed segment view does."""

    def __init__(self, table: pa.Table, indexes: dict[str, str]) -> None:
        super().__init__(table)
        self.scalar_indexes = indexes


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 1_000_000, rows)
    strings = np.char.add("k", np.char.zfill(codes.astype(str), 6))
    xs = rng.integers(0, 100_000, rows)
    return pa.table({"id": pa.array(np.arange(rows)), "x": pa.array(xs),
                     "s": pa.array(strings.tolist(), pa.string()),
                     "j": pa.array([f'{{"k": {k}}}' for k in xs[::-1].tolist()], pa.string())})


def segment_level(table: pa.Table, budget_s: float) -> dict:
    scan, indexed = TableSource(table), IndexedSource(table, INDEXES)
    compiled = {name: compile_filter(text, FIELDS) for name, text in FILTERS.items()}
    builds, first_use = {}, (("x", "x == 0"), ("s", 's == ""'), ("j", 'j["k"] == 0'))
    for _, text in first_use:  # the scan's typed columns and JSON paths, memoized
        compile_filter(text, FIELDS).evaluate(scan)
    for field, text in first_use:  # sorting (and, for j, decoding the JSON) once
        start = time.perf_counter()
        compile_filter(text, FIELDS).evaluate(indexed)
        builds[field] = (time.perf_counter() - start) * 1e3
    out = {"build_ms": builds, "filters": {}}
    for name, flt in compiled.items():
        assert np.array_equal(flt.evaluate(scan), flt.evaluate(indexed)), name
        variants = {"scan": lambda i, f=flt: f.evaluate(scan),
                    "index": lambda i, f=flt: f.evaluate(indexed)}
        timed = timed_variants(variants, 200, budget_s)
        alone = {k: summary(timed_loop(fn, 200, budget_s / 2)[0])["p50_ms"]
                 for k, fn in variants.items()}
        out["filters"][name] = {
            "selected": int(flt.evaluate(indexed).sum()),
            "scan_ms": summary(timed["scan"][0])["p50_ms"],
            "index_ms": summary(timed["index"][0])["p50_ms"],
            "scan_alone_ms": alone["scan"], "index_alone_ms": alone["index"]}
    return out


def collection_level(table: pa.Table, budget_s: float) -> dict:
    directory = Path(tempfile.mkdtemp(prefix="rk-scalar-bench-"))
    client = MilvusClient(str(directory / "b.db"))
    try:
        schema = client.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
        schema.add_field("x", DataType.INT64)
        schema.add_field("s", DataType.VARCHAR, max_length=16)
        schema.add_field("j", DataType.JSON)
        spec = client.prepare_index_params()
        spec.add_index("v", index_type="FLAT", metric_type="L2")
        client.create_collection("c", schema=schema, index_params=spec)
        ids, xs, ss, js = (table.column(n).to_pylist() for n in ("id", "x", "s", "j"))
        for start in range(0, len(ids), 50_000):
            client.insert("c", [{"id": ids[i], "v": [0.0, 1.0], "x": xs[i], "s": ss[i],
                                 "j": {"k": int(js[i][6:-1])}}
                                for i in range(start, min(start + 50_000, len(ids)))])
        client.flush("c")

        def query(text):
            return lambda i: client.query("c", text, output_fields=["id"], limit=16384)

        before = {n: summary(timed_variants({"q": query(t)}, 50, budget_s)["q"][0])["p50_ms"]
                  for n, t in FILTERS.items()}
        spec = client.prepare_index_params()
        spec.add_index("x", index_type="STL_SORT")
        spec.add_index("s", index_type="TRIE")
        spec.add_index("j", index_type="INVERTED",
                       params={"json_path": 'j["k"]', "json_cast_type": "DOUBLE"})
        client.create_index("c", spec)
        after = {n: summary(timed_variants({"q": query(t)}, 50, budget_s)["q"][0])["p50_ms"]
                 for n, t in FILTERS.items()}
        return {name: {"scan_ms": before[name], "index_ms": after[name]} for name in FILTERS}
    finally:
        client.close()
        shutil.rmtree(directory, ignore_errors=True)


def print_table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    alone = "scan_alone_ms" in next(iter(rows.values()))
    print(f"{'filter':<22}{'rows':>9}{'scan ms':>10}{'index ms':>10}{'speedup':>9}"
          + (f"{'alone: scan':>13}{'index':>8}{'speedup':>9}" if alone else ""))
    for name, row in rows.items():
        line = (f"{name:<22}{row.get('selected', ''):>9}{row['scan_ms']:>10.3f}"
                f"{row['index_ms']:>10.3f}{row['scan_ms'] / row['index_ms']:>8.1f}x")
        if alone:
            line += (f"{row['scan_alone_ms']:>13.3f}{row['index_alone_ms']:>8.3f}"
                     f"{row['scan_alone_ms'] / row['index_alone_ms']:>8.1f}x")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per variant")
    parser.add_argument("--skip-collection", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" /
                        "scalar_index.json")
    args = parser.parse_args()
    table = make_table(args.rows)
    result = {"rows": args.rows, "segment": segment_level(table, args.budget)}
    print(f"rows: {args.rows}; index build on first use: "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in result["segment"]["build_ms"].items()))
    print_table("one sealed segment (evaluate the filter)", result["segment"]["filters"])
    if not args.skip_collection:
        result["collection"] = collection_level(table, args.budget)
        print_table("collection query(filter, output_fields=['id'])", result["collection"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
