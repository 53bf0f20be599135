"""Sparse search semantics: BM25 scores, drop ratios, the exact scan, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redkite.engine.index import Bm25Context, CsrMatrix, build_index, sparse_exact_search
from redkite.errors import ParamError


def csr(rows: list[dict[int, float]]) -> CsrMatrix:
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    indices = np.array([t for r in rows for t in sorted(r)], np.uint32)
    values = np.array([r[t] for r in rows for t in sorted(r)], np.float32)
    return CsrMatrix(indptr, indices, values)


# Three documents as term -> term frequency; lengths 3, 1 and 4.
DOCS = csr([{1: 2, 2: 1}, {1: 1}, {2: 3, 3: 1}])
QUERY = csr([{1: 1, 3: 2}])  # term 1 once, term 3 twice


def hand_bm25(k1: float, b: float) -> list[float]:
    """BM25 of QUERY against DOCS, written out term by term (N=3, avgdl=8/3)."""
    avgdl = 8 / 3
    idf1 = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # term 1 is in 2 documents
    idf3 = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # term 3 is in 1 document

    def part(tf: float, dl: float) -> float:
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    return [1 * idf1 * part(2, 3), 1 * idf1 * part(1, 1), 2 * idf3 * part(1, 4)]


def idf_of(terms: np.ndarray) -> np.ndarray:
    df = np.array([0, 2, 2, 1])[terms]
    return np.log(1 + (3 - df + 0.5) / (df + 0.5))


@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (2.0, 0.0), (0.5, 1.0)])
def test_bm25_matches_the_hand_computed_scores(k1, b):
    expected = hand_bm25(k1, b)
    order = list(np.argsort(expected)[::-1])
    context = Bm25Context(avgdl=8 / 3, idf=idf_of, k1=k1, b=b)
    index = build_index("SPARSE_INVERTED_INDEX", "BM25", {"bm25_k1": k1, "bm25_b": b}, DOCS)
    for distances, labels in (index.search(QUERY, 3, bm25=context),
                              sparse_exact_search(DOCS, 3, QUERY, 3, "BM25", bm25=context)):
        assert list(labels[0]) == order
        assert np.allclose(distances[0], sorted(expected, reverse=True), rtol=1e-6)


def test_bm25_idf_may_be_given_per_query_and_doc_lengths_overridden():
    aligned = Bm25Context(avgdl=8 / 3, idf=[idf_of(np.array([1, 3]))])
    by_callable = Bm25Context(avgdl=8 / 3, idf=idf_of)
    index = build_index("AUTOINDEX", "BM25", {}, DOCS)
    assert index.index_type == "SPARSE_INVERTED_INDEX" and index.params["bm25_k1"] == 1.2
    a, b = index.search(QUERY, 3, bm25=aligned), index.search(QUERY, 3, bm25=by_callable)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    longer = Bm25Context(avgdl=8 / 3, idf=idf_of, doc_len=np.array([3.0, 100.0, 4.0]))
    assert index.search(QUERY, 3, bm25=longer)[0][0][2] < a[0][0][2]


def test_bm25_needs_its_context_and_ip_refuses_one():
    bm25_index = build_index("SPARSE_INVERTED_INDEX", "BM25", {}, DOCS)
    with pytest.raises(ParamError, match="Bm25Context"):
        bm25_index.search(QUERY, 3)
    ip_index = build_index("SPARSE_INVERTED_INDEX", "IP", {}, DOCS)
    with pytest.raises(ParamError, match="metric IP"):
        ip_index.search(QUERY, 3, bm25=Bm25Context(avgdl=1.0, idf=idf_of))
    with pytest.raises(ParamError, match="idf"):
        bm25_index.search(QUERY, 3, bm25=Bm25Context(avgdl=1.0, idf=[np.ones(5)]))


def test_only_rows_sharing_a_term_are_returned():
    index = build_index("SPARSE_WAND", "IP", {}, DOCS)
    distances, labels = index.search(csr([{3: 1.0}]), 3)
    assert list(labels[0]) == [2, -1, -1] and distances[0][1] == -np.inf


def test_drop_ratio_search_drops_the_smallest_query_weights():
    rng = np.random.default_rng(3)
    docs = csr([{int(t): float(v) for t, v in zip(rng.choice(30, 6, replace=False),
                                                 rng.random(6))} for _ in range(300)])
    query = csr([{2: 0.1, 5: 0.2, 9: 0.9, 11: 1.0}])
    kept = csr([{9: 0.9, 11: 1.0}])
    index = build_index("SPARSE_INVERTED_INDEX", "IP", {}, docs)
    dropped = index.search(query, 10, {"drop_ratio_search": 0.5})
    assert np.array_equal(dropped[1], index.search(kept, 10)[1])
    assert np.array_equal(dropped[1], sparse_exact_search(docs, 300, query, 10, "IP",
                                                          drop_ratio_search=0.5)[1])


def test_drop_ratio_build_prunes_the_smallest_postings():
    docs = csr([{1: 0.05}, {1: 0.9}, {1: 0.01, 2: 0.8}, {1: 0.7}])
    pruned = build_index("SPARSE_INVERTED_INDEX", "IP", {"drop_ratio_build": 0.4}, docs)
    labels = pruned.search(csr([{1: 1.0}]), 4)[1][0]
    assert list(labels) == [1, 3, -1, -1]  # 0.05 and 0.01 (the smallest 40%) are gone
    full = build_index("SPARSE_INVERTED_INDEX", "IP", {}, docs)
    assert list(full.search(csr([{1: 1.0}]), 4)[1][0]) == [1, 3, 0, 2]


def test_exact_search_reads_only_the_first_n_rows():
    distances, labels = sparse_exact_search(DOCS, 2, csr([{2: 1.0}]), 3, "IP")
    assert list(labels[0]) == [0, -1, -1] and distances[0][0] == pytest.approx(1.0)
    allowed = np.array([False, True])
    assert list(sparse_exact_search(DOCS, 2, csr([{1: 1.0}]), 2, "IP", allowed)[1][0]) == [1, -1]
    with pytest.raises(ParamError, match="L2"):
        sparse_exact_search(DOCS, 3, QUERY, 3, "L2")
    with pytest.raises(ParamError, match="n=4"):
        sparse_exact_search(DOCS, 4, QUERY, 3, "IP")


@pytest.mark.parametrize("bad,words", [
    ((np.array([0, 2]), np.array([3, 1]), np.ones(2)), "sorted and unique"),
    ((np.array([0, 2]), np.array([3, 3]), np.ones(2)), "sorted and unique"),
    ((np.array([0, 3]), np.array([1, 2]), np.ones(2)), "indptr[-1]=3"),
    ((np.array([1, 2]), np.array([1]), np.ones(1)), "start at 0"),
    ((np.array([0, 1]), np.array([-1]), np.ones(1)), "indices must lie"),
    ((np.array([0, 1]), np.array([1]), np.array([np.nan])), "finite"),
    ("not a matrix", "CSR triple"),
])
def test_malformed_sparse_input_is_rejected(bad, words):
    with pytest.raises(ParamError, match=words.replace("[", r"\[").replace("]", r"\]")):
        build_index("SPARSE_INVERTED_INDEX", "IP", {}, CsrMatrix(*bad) if isinstance(bad, tuple)
                    else (bad,), kind="sparse")


def test_rows_may_be_empty_and_sorting_is_per_row():
    docs = CsrMatrix(np.array([0, 2, 2, 3]), np.array([5, 9, 1], np.uint32),
                     np.array([1.0, 2.0, 3.0], np.float32))
    index = build_index("SPARSE_INVERTED_INDEX", "IP", {}, docs)
    assert list(index.search(csr([{1: 1.0, 9: 1.0}]), 3)[1][0]) == [2, 0, -1]


def test_exact_search_may_skip_revalidating_stored_rows():
    query = csr([{1: 1.0, 2: 0.5}])
    checked = sparse_exact_search(DOCS, 3, query, 3, "IP")
    trusted = sparse_exact_search(DOCS, 3, query, 3, "IP", check_data=False)
    assert np.array_equal(checked[1], trusted[1]) and np.array_equal(checked[0], trusted[0])
