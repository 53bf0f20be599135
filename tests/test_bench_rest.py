"""The REST benchmark harness (bench/rest.py) end to end on a tiny collection: both server
processes, every measurement present and plausible, and the printed table."""

from __future__ import annotations

import argparse

from bench import rest as br


def test_rest_bench_measures_both_faces(tmp_path, capsys):
    args = argparse.Namespace(rows=400, dim=8, batch=100, queries=20, threads=2, budget=0.3,
                              out=tmp_path / "rest.json")
    result = br.run(args)
    assert set(result["insert_rows_per_s"]) == {"rest", "grpc"}
    assert all(rate > 0 for rate in result["insert_rows_per_s"].values())
    assert set(result["search_latency"]) == {"rest", "grpc_frontdoor", "grpc_direct"}
    assert all(s["n"] >= 20 and s["p50_ms"] > 0 for s in result["search_latency"].values())
    assert all(q > 0 for q in result["search_qps"].values())
    br.print_table(result)
    table = capsys.readouterr().out
    assert "insert rows/s" in table and "front door overhead" in table
