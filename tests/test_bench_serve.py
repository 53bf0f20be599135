"""The server and async benchmark harnesses (bench/serve.py, bench/async_embedded.py) on
tiny data: the numbers they report come from runs that returned the right rows."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from bench import async_embedded as ae
from bench import serve


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    from redkite.server import start_server

    running = start_server(str(tmp_path_factory.mktemp("serve") / "data"), port=0)
    yield f"http://{running.address}"
    running.stop(grace=1.0)


def test_serve_inserts_every_row_both_ways_and_searches_exactly(server_uri):
    data = serve.Data(rows=1500, dim=16, queries=30, seed=3)
    client = serve.client_for(server_uri)
    try:
        out = serve.bench_inserts({"redkite": client}, data, dim=16, repeats=2)["redkite"]
        assert len(out["e2e_s"]) == len(out["raw_s"]) == 2
        assert min(out["e2e_rows_s"], out["raw_rows_s"], out["encode_rows_s"]) > 0
        assert client.list_collections() == [serve.COLLECTION]  # raw copies dropped
        assert serve.check_results({"redkite": client}, data, 10) == {"redkite": 1.0}
        done = serve.search_for(server_uri, data.queries, 0.2, time.time())
        assert done > 0
    finally:
        client.close()


def test_serve_report_marks_each_row_against_the_target():
    system = {"e2e_rows_s": 50.0, "raw_rows_s": 10.0, "qps_1_median": 60.0,
              f"qps_{serve.CLIENTS}_median": 1.0, "encode_rows_s": 1.0, "flush_s": 0.1,
              f"insert_{serve.CLIENTS}_rows_s": 30.0}
    res = {"systems": {"redkite": system, "lite": {**system, "e2e_rows_s": 5.0,
                                                   "qps_1_median": 20.0,
                                                   f"insert_{serve.CLIENTS}_rows_s": 5.0}},
           "recall": {"redkite": 1.0, "lite": 0.9}}
    res["checks"] = serve.evaluate(res)
    assert [(c["name"].split(",")[0], c["status"]) for c in res["checks"]] == [
        ("insert rows/s", "PASS"), ("insert rows/s", "FAIL"), ("insert rows/s", "PASS"),
        ("search QPS", "FAIL"),
        ("search QPS", "FAIL"), ("redkite recall@10 vs numpy", "PASS"),
        ("lite recall@10 vs numpy", "FAIL")]
    assert "10.0x" in serve.table(res)[2]


def test_async_embedded_variants_agree(tmp_path):
    args = ae.parse_args(["--rows", "2000", "--dim", "16", "--searches", "60",
                          "--threads", "4", "--repeats", "1"])
    results = ae.run(args, str(tmp_path / "b.db"))
    assert len(results) == 4
    for res in results.values():
        assert res["same_hits"] and res["compared"] == 60 and not res["cut_by_budget"]
        assert res["searches_s"] > 0
    assert ae.evaluate(results, 4)[-1]["status"] == "PASS"


def test_async_embedded_budget_skips_searches_not_started(tmp_path):
    from redkite import AsyncMilvusClient, MilvusClient

    rng = np.random.default_rng(1)
    path = str(tmp_path / "c.db")
    ae.fill(path, rng.standard_normal((500, 8), dtype=np.float32), "FLAT")
    queries = rng.standard_normal((40, 8), dtype=np.float32)
    with MilvusClient(path) as sync:
        assert ae.sequential(sync, queries, time.perf_counter() - 1) == [None] * 40
        assert ae.thread_pool(sync, queries, time.perf_counter() - 1, 4) == [None] * 40

    async def gathered():
        async with AsyncMilvusClient(path) as client:
            return (await ae.gathered(client, queries, time.perf_counter() - 1),
                    await ae.gathered(client, queries, float("inf")))

    cut, full = asyncio.run(gathered())
    assert sum(hit is not None for hit in cut) < 40  # at most the calls already running
    assert all(len(hit) == 10 for hit in full)
    results = ae.measure({"seq": lambda end: [None] * 3}, repeats=3, budget_s=1.0)
    assert results["seq"]["cut_by_budget"] and results["seq"]["searches_s_runs"] == [0.0]
