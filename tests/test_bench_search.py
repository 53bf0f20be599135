"""The ANN benchmark harness (bench/search.py): ground truth, both sides end to end on a
tiny FLAT collection, and the report when redkite rejects the requested index."""

from __future__ import annotations

import numpy as np
import pytest

from bench import search as bs


def params(**over):
    p = {"rows": 3000, "dim": 16, "queries": 40, "clusters": 20, "seed": 7, "index": "FLAT",
         "m": 8, "efc": 32, "ef_sweep": [16, 32], "threads": 1, "qps_threads": 1,
         "budget": 0.2, "qps_budget": 0.05, "timeout": 60.0, "build_timeout": 10.0}
    p.update(over)
    return p


@pytest.fixture
def work(tmp_path):
    import faiss
    threads = faiss.omp_get_max_threads()  # the serve phases change this process-wide
    p = params()
    bs.make_data(tmp_path, p)
    bs.ground_truth(tmp_path, p)
    yield tmp_path, p
    faiss.omp_set_num_threads(threads)


def test_ground_truth_is_exact_cosine_top10_per_filter(work):
    path, p = work
    base, category = np.load(path / "base.npy"), np.load(path / "category.npy")
    queries = bs.normalized(np.load(path / "queries.npy"))
    scores = queries @ bs.normalized(base).T
    for key, (_, mask_fn) in bs.FILTERS.items():
        masked = scores if mask_fn is None else np.where(mask_fn(category), scores, -np.inf)
        expected = np.argsort(-masked, axis=1)[:, :10]
        truth = np.load(path / f"truth_{key}.npy")
        assert truth.shape == (p["queries"], 10)
        assert bs.recall(truth.tolist(), expected) > 0.999
        if mask_fn is not None:
            assert mask_fn(category[truth]).all()


def test_both_sides_build_and_serve_with_exact_recall(work):
    path, p = work
    for build, side in ((bs.role_faiss_build, bs.FaissSide),
                        (bs.role_redkite_build, bs.RedkiteSide)):
        built = build(path, p)
        assert "error" not in built, built
        out = bs.serve(side(path, p), path, p)
        assert "error" not in out
        assert out["recall_at_10"] == {key: 1.0 for key in bs.FILTERS}
        assert out["qps"]["qps"] > 0 and out["rss_mb"] > 0 and out["first_hits"] == 10
    assert built["count"] == p["rows"] and built["index_ready"]


def test_rejected_index_is_a_failure_row_not_a_crash(work):
    path, p = work
    out = bs.role_redkite_build(path, params(index="HNSW", m=1))  # M must be >= 2
    assert out["stage"] == "create_collection" and "'M'" in out["error"]
    faiss_out = {"build": bs.role_faiss_build(path, p)}
    faiss_out["serve"] = bs.serve(bs.FaissSide(path, p), path, p)
    res = {"params": {**p, "index": "HNSW"},
           "systems": {"redkite": {"build": out, "error": out["error"]}, "faiss": faiss_out}}
    rows = {r[0]: r for r in bs.report_rows(res)}
    assert rows["index type"][-1] == "FAIL"
    assert rows["recall@10 [no filter]"][-1] == "FAIL"
    assert rows["RSS MB after searches"][-1] == "FAIL"
    assert rows["recall@10 [no filter]"][2] == 1.0  # faiss's own numbers are still reported
    assert len(bs.build_table(list(rows.values()))) == len(rows) + 2
