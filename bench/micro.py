"""Micro-benchmarks of two column-at-a-time paths that per-row code would make slow.

* the ``english`` analyzer over 20,000 short texts (what BM25 inserts and ``text_match``
  run), in tokens/s;
* 20,000 x 128 FLOAT_VECTOR values from a Milvus ``FieldData`` to Arrow and back (what
  every gRPC insert and search reply does), in MB/s; a per-element Python loop over the
  same values is timed beside it as the reference.

Targets (formerly timed unit tests, moved here because speed lives in benchmarks): the
analyzer tokenizes 20,000 texts in under 2 s; the vector conversion takes under 0.5 s
(the per-element loop is reported for scale). Run: ``python -m bench.micro``; prints a table and writes
``bench/results/micro.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from redkite.engine.text import get_analyzer  # noqa: E402
from redkite.protocol import schema_pb2  # noqa: E402
from redkite.protocol.columns import field_data_from_arrow, field_data_to_arrow  # noqa: E402
from redkite.schema import FieldSchema  # noqa: E402
from redkite.types import DataType  # noqa: E402

WORDS = ["alpha", "Beta", "gamma", "delta", "epsilon", "running", "jumps", "the"]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def analyzer_bench(texts: int, repeats: int) -> dict:
    corpus = [" ".join(WORDS[(i + j) % 8] for j in range(12)) + f" n{i}" for i in range(texts)]
    analyzer = get_analyzer({"type": "english"})
    tokens = len(analyzer.analyze(corpus).tokens)
    seconds = best_of(lambda: analyzer.analyze(corpus), repeats)
    return {"texts": texts, "tokens": tokens, "seconds": seconds,
            "tokens_per_s": tokens / seconds, "target_s": 2.0, "pass": seconds < 2.0}


def vector_bench(rows: int, dim: int, repeats: int) -> dict:
    flat = np.random.default_rng(0).random(rows * dim, dtype=np.float32)
    field = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v")
    field.vectors.dim = dim
    field.vectors.float_vector.data.extend(flat.tolist())
    wire = field.SerializeToString()
    schema = FieldSchema("v", DataType.FLOAT_VECTOR, dim=dim)

    def columnar():
        column = field_data_to_arrow(schema_pb2.FieldData.FromString(wire))
        field_data_from_arrow("v", column, schema)

    def per_element():
        values = schema_pb2.FieldData.FromString(wire).vectors.float_vector.data
        rows_out = [[values[r * dim + c] for c in range(dim)] for r in range(rows)]
        back = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v")
        for row in rows_out:
            back.vectors.float_vector.data.extend(row)

    fast = best_of(columnar, repeats)
    slow = best_of(per_element, 1)
    megabytes = flat.nbytes / 1e6
    return {"rows": rows, "dim": dim, "columnar_s": fast, "per_element_s": slow,
            "columnar_mb_per_s": megabytes / fast, "speedup": slow / fast,
            "target_s": 0.5, "pass": fast < 0.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "micro.json")
    args = parser.parse_args()
    results = {"analyzer": analyzer_bench(20_000, args.repeats),
               "vector_conversion": vector_bench(20_000, 128, args.repeats)}
    a, v = results["analyzer"], results["vector_conversion"]
    print("micro benchmarks")
    print(f"{'path':<34}{'result':>22}{'target':>16}  status")
    print(f"{'english analyzer, 20k texts':<34}{a['seconds']:>20.3f} s{'< 2 s':>16}  "
          f"{'PASS' if a['pass'] else 'FAIL'}  ({a['tokens_per_s']:,.0f} tokens/s)")
    print(f"{'FieldData <-> Arrow, 20k x 128':<34}{v['columnar_s'] * 1e3:>19.1f} ms"
          f"{'< 500 ms':>16}  {'PASS' if v['pass'] else 'FAIL'}  "
          f"({v['speedup']:.0f}x the per-element loop, {v['columnar_mb_per_s']:,.0f} MB/s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
