"""Each index type against exact numpy search, unfiltered and with allowed-row masks."""

from __future__ import annotations

import numpy as np
import pytest

from redkite.engine.index import CsrMatrix, build_index, sparse_exact_search
from redkite.errors import ParamError

N, DIM, K, NQ = 2000, 32, 10, 40
HNSW_BUILD = {"M": 16, "efConstruction": 64}


def clustered(seed: int, n: int, dim: int = DIM) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(25, dim)) * 3
    return (centres[rng.integers(0, 25, n)] + rng.normal(size=(n, dim))).astype(np.float32)


DATA = clustered(1, N)
QUERIES = clustered(2, NQ)


def exact(metric: str, allowed: np.ndarray | None = None, data=DATA, queries=QUERIES):
    data, queries = data.astype(np.float64), queries.astype(np.float64)
    if metric == "L2":
        scores = -((queries[:, None, :] - data[None, :, :]) ** 2).sum(axis=2)
    else:
        if metric == "COSINE":
            data = data / np.linalg.norm(data, axis=1, keepdims=True)
            queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        scores = queries @ data.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :K], scores


def recall(labels: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(labels, truth)]))


# index type, build params, search params, minimum recall@10 (L2 / IP / COSINE)
DENSE_CASES = [
    ("FLAT", {}, {}, 1.0),
    ("IVF_FLAT", {"nlist": 32}, {"nprobe": 32}, 1.0),
    ("IVF_SQ8", {"nlist": 32}, {"nprobe": 32}, 0.9),
    ("IVF_PQ", {"nlist": 32, "m": 8}, {"nprobe": 32}, 0.5),
    ("IVF_RABITQ", {"nlist": 32}, {"nprobe": 32}, 0.35),
    ("IVF_RABITQ", {"nlist": 32, "refine": True, "refine_type": "SQ8"},
     {"nprobe": 32, "refine_k": 4}, 0.85),
    ("SCANN", {"nlist": 32}, {"nprobe": 32, "reorder_k": 50}, 0.85),
    ("HNSW", HNSW_BUILD, {"ef": 64}, 0.95),
    ("HNSW_SQ", {**HNSW_BUILD, "sq_type": "SQ8"}, {"ef": 64}, 0.85),
    ("HNSW_SQ", {**HNSW_BUILD, "sq_type": "SQ6", "refine": True, "refine_type": "FP16"},
     {"ef": 64, "refine_k": 3}, 0.95),
    ("HNSW_PQ", {**HNSW_BUILD, "m": 8, "nbits": 6}, {"ef": 64}, 0.2),
    ("HNSW_PQ", {**HNSW_BUILD, "m": 8, "nbits": 6, "refine": True},
     {"ef": 64, "refine_k": 5}, 0.8),
    ("AUTOINDEX", {}, {"level": 1}, 0.95),
]
DENSE_IDS = [f"{t}-{'refine' if b.get('refine') else 'plain'}" for t, b, _, _ in DENSE_CASES]


@pytest.fixture(scope="module")
def dense_indexes():
    return {(i, metric): build_index(case[0], metric, case[1], DATA)
            for i, case in enumerate(DENSE_CASES) for metric in ("L2", "IP", "COSINE")}


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
@pytest.mark.parametrize("case", range(len(DENSE_CASES)), ids=DENSE_IDS)
def test_dense_recall_against_exact(dense_indexes, case, metric):
    index_type, _, search_params, minimum = DENSE_CASES[case]
    index = dense_indexes[(case, metric)]
    distances, labels = index.search(QUERIES, K, search_params)
    assert labels.shape == (NQ, K) and labels.dtype == np.int64
    assert distances.dtype == np.float32
    truth, scores = exact(metric)
    assert recall(labels, truth) >= minimum
    order = distances if metric == "L2" else -distances
    assert np.all(np.diff(order, axis=1) >= -1e-5), "results must be best first"
    build = DENSE_CASES[case][1]
    if index_type in ("FLAT", "IVF_FLAT", "HNSW", "AUTOINDEX") or (
            build.get("refine") and "refine_type" not in build):
        # Exact vectors behind the distances (FP32 refine re-ranks over them): they are
        # Milvus's own (squared L2, inner product, cosine similarity).
        expected = np.take_along_axis(scores, labels, axis=1)
        expected = -expected if metric == "L2" else expected
        assert np.allclose(distances, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.01])
@pytest.mark.parametrize("case", range(len(DENSE_CASES)), ids=DENSE_IDS)
def test_filtered_search_returns_only_allowed_rows_and_full_k(dense_indexes, case, fraction):
    index = dense_indexes[(case, "L2")]
    allowed = np.random.default_rng(int(fraction * 100)).random(N) < fraction
    distances, labels = index.search(QUERIES, K, DENSE_CASES[case][2], allowed)
    assert np.all(labels >= 0), "k rows are allowed, so k rows come back"
    assert np.all(allowed[labels])
    assert np.all(np.isfinite(distances))
    truth, _ = exact("L2", allowed)
    minimum = min(DENSE_CASES[case][3], 0.9) - 0.1
    assert recall(labels, truth) >= minimum


def test_fewer_allowed_rows_than_k_pads_with_minus_one(dense_indexes):
    allowed = np.zeros(N, bool)
    allowed[[3, 500, 1999]] = True
    for case in range(len(DENSE_CASES)):
        distances, labels = dense_indexes[(case, "IP")].search(QUERIES[:3], K, {}, allowed)
        assert np.all(np.sort(labels[:, :3], axis=1) == [3, 500, 1999]), DENSE_IDS[case]
        assert np.all(labels[:, 3:] == -1) and np.all(distances[:, 3:] == -np.inf)
    nothing = dense_indexes[(0, "L2")].search(QUERIES[:2], K, {}, np.zeros(N, bool))
    assert np.all(nothing[1] == -1) and np.all(nothing[0] == np.inf)


def test_k_larger_than_the_segment():
    small = DATA[:7]
    for index_type in ("FLAT", "HNSW", "IVF_FLAT"):
        distances, labels = build_index(index_type, "L2", {}, small).search(QUERIES[:2], 10)
        assert sorted(labels[0][:7]) == list(range(7)) and np.all(labels[:, 7:] == -1)


def test_autoindex_level_widens_the_search():
    index = build_index("AUTOINDEX", "COSINE", {}, DATA)
    assert (index.index_type, index.declared_type) == ("HNSW", "AUTOINDEX")
    assert index.params == {"M": 18, "efConstruction": 240}
    truth, _ = exact("COSINE")
    assert recall(index.search(QUERIES, K, {"level": 5})[1], truth) >= 0.98


def test_int8_vectors_are_searched_as_float():
    data = np.random.default_rng(5).integers(-128, 128, size=(500, 16)).astype(np.int8)
    queries = data[:20]
    truth, _ = exact("L2", data=data.astype(np.float32), queries=queries.astype(np.float32))
    for index_type in ("HNSW", "HNSW_SQ", "AUTOINDEX"):
        index = build_index(index_type, "L2", HNSW_BUILD if index_type != "AUTOINDEX" else {},
                            data)
        assert index.kind == "int8"
        distances, labels = index.search(queries, K, {"ef": 64})
        assert recall(labels, truth) >= 0.9
        assert np.allclose(distances[:, 0], 0.0, atol=1e-3 if index_type == "HNSW" else 50)
    with pytest.raises(ParamError, match="int8"):
        index.search(queries.astype(np.float32), K)
    with pytest.raises(ParamError, match="IVF_FLAT"):
        build_index("IVF_FLAT", "L2", {}, data)


def test_bad_inputs_are_param_errors(dense_indexes):
    index = dense_indexes[(0, "L2")]
    with pytest.raises(ParamError, match=r"\(nq, 32\)"):
        index.search(np.zeros((2, 31), np.float32), K)
    with pytest.raises(ParamError, match="allowed"):
        index.search(QUERIES, K, {}, np.ones(N - 1, bool))
    with pytest.raises(ParamError, match="allowed"):
        index.search(QUERIES, K, {}, np.ones(N, np.uint8))
    with pytest.raises(ParamError, match="k must be"):
        index.search(QUERIES, 0)
    with pytest.raises(ParamError, match="'ef'"):
        dense_indexes[(7, "L2")].search(QUERIES, K, {"ef": 5})
    with pytest.raises(ParamError, match="dim 30"):
        build_index("IVF_PQ", "L2", {"m": 4}, np.zeros((100, 30), np.float32))


def test_tiny_segments_still_train():
    rows = DATA[:20]
    for index_type, params in [("IVF_PQ", {"m": 8, "nlist": 128}), ("SCANN", {}),
                               ("HNSW_PQ", {"m": 8, **HNSW_BUILD}), ("IVF_RABITQ", {})]:
        index = build_index(index_type, "L2", params, rows)
        assert index.num_rows == 20 and index.memory_bytes() > 0
        labels = index.search(rows[:3], 5)[1]
        assert np.all(labels >= 0)
    assert build_index("IVF_FLAT", "L2", {"nlist": 128}, rows).effective["nlist"] == 1


def random_binary(seed: int, n: int, nbytes: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, nbytes)).astype(np.uint8)


def binary_truth(data, queries, metric, allowed=None):
    bits = np.unpackbits(data, axis=1).astype(bool)
    qbits = np.unpackbits(queries, axis=1).astype(bool)
    if metric == "HAMMING":
        dist = (qbits[:, None, :] != bits[None]).sum(axis=2).astype(np.float64)
    else:
        inter = (qbits[:, None, :] & bits[None]).sum(axis=2)
        union = (qbits[:, None, :] | bits[None]).sum(axis=2)
        dist = 1.0 - inter / np.maximum(union, 1)
    if allowed is not None:
        dist[:, ~allowed] = np.inf
    return dist


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_bin_flat_is_exact(metric):
    data, queries = random_binary(3, 1500), random_binary(4, 20)
    index = build_index("BIN_FLAT", metric, {}, data)
    dist = binary_truth(data, queries, metric)
    distances, labels = index.search(queries, K)
    assert np.allclose(distances, np.sort(dist, axis=1)[:, :K])
    assert np.allclose(np.take_along_axis(dist, labels, axis=1), distances)
    allowed = np.random.default_rng(1).random(1500) < 0.05
    distances, labels = index.search(queries, K, {}, allowed)
    assert np.all(allowed[labels])
    dist = binary_truth(data, queries, metric, allowed)
    assert np.allclose(distances, np.sort(dist, axis=1)[:, :K])


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_bin_ivf_flat(metric):
    data = random_binary(5, 2000, 4)
    queries = data[:20] ^ np.uint8(1)
    index = build_index("BIN_IVF_FLAT", metric, {"nlist": 16}, data)
    assert index.effective["nlist"] == 16
    exact_d = np.sort(binary_truth(data, queries, metric), axis=1)[:, :K]
    assert np.allclose(index.search(queries, K, {"nprobe": 16})[0], exact_d)
    near = index.search(queries, K, {"nprobe": 4})[0]
    assert np.mean(np.isclose(near[:, 0], exact_d[:, 0])) >= 0.9
    for fraction in (0.5, 0.1, 0.01):
        allowed = np.random.default_rng(7).random(2000) < fraction
        labels = index.search(queries, K, {"nprobe": 1}, allowed)[1]
        assert np.all(labels >= 0) and np.all(allowed[labels])


def test_binary_autoindex_and_jaccard_of_empty_vectors():
    data = np.zeros((3, 2), np.uint8)
    data[1, 0] = 0b1
    index = build_index("AUTOINDEX", "JACCARD", {}, data)
    assert index.index_type == "BIN_FLAT"
    distances, labels = index.search(np.zeros((1, 2), np.uint8), 3)
    assert list(distances[0]) == [0.0, 0.0, 1.0] and labels[0][2] == 1


def random_csr(seed: int, n: int, vocab: int, per_row: int) -> CsrMatrix:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, per_row, n)
    indices = np.concatenate([np.sort(rng.choice(vocab, c, replace=False)) for c in counts])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return CsrMatrix(indptr, indices.astype(np.uint32),
                     rng.random(indptr[-1]).astype(np.float32))


def dense_of(csr: CsrMatrix, vocab: int) -> np.ndarray:
    out = np.zeros((csr.n_rows, vocab))
    rows = np.repeat(np.arange(csr.n_rows), np.diff(csr.indptr))
    out[rows, csr.indices] = csr.values
    return out


@pytest.mark.parametrize("index_type", ["SPARSE_INVERTED_INDEX", "SPARSE_WAND", "AUTOINDEX"])
def test_sparse_index_equals_exact_inner_product(index_type):
    data, queries = random_csr(1, 1500, 400, 25), random_csr(2, 15, 400, 8)
    index = build_index(index_type, "IP", {}, data)
    distances, labels = index.search(queries, K)
    scores = dense_of(queries, 400) @ dense_of(data, 400).T
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    assert np.array_equal(labels, expected)
    assert np.allclose(distances, np.take_along_axis(scores, expected, axis=1), rtol=1e-5)
    exact_d, exact_l = sparse_exact_search(data, data.n_rows, queries, K, "IP")
    assert np.array_equal(exact_l, labels) and np.allclose(exact_d, distances)
    for fraction in (0.5, 0.1, 0.01):
        allowed = np.random.default_rng(3).random(1500) < fraction
        got = index.search(queries, K, {}, allowed)
        want = sparse_exact_search(data, data.n_rows, queries, K, "IP", allowed)
        assert np.array_equal(got[1], want[1]) and np.all(allowed[got[1][got[1] >= 0]])
        masked = np.where(allowed[None, :] & (scores != 0), scores, -np.inf)
        assert np.array_equal((got[1] >= 0).sum(axis=1),
                              np.minimum(K, np.isfinite(masked).sum(axis=1)))


def test_concurrent_searches_agree_with_serial_ones(dense_indexes):
    from concurrent.futures import ThreadPoolExecutor
    hnsw, ivf = dense_indexes[(7, "L2")], dense_indexes[(1, "L2")]
    allowed = np.random.default_rng(9).random(N) < 0.2
    jobs = [(index, q, mask) for index in (hnsw, ivf) for q in range(NQ)
            for mask in (None, allowed)]

    def run(job):
        index, q, mask = job
        params = {"ef": 64} if index is hnsw else {"nprobe": 4}
        return index.search(QUERIES[q:q + 1], K, params, mask)[1]

    serial = [run(job) for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(run, jobs))
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))
    assert (hnsw.exact_below, ivf.exact_below, dense_indexes[(0, "L2")].exact_below) == (
        0.03, 0.02, 0.0)
