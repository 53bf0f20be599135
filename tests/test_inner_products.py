"""The inner-product kernel under exact search equals numpy's matrix product, whichever
path computes it (BLAS for large batches and for one small batch at a time, faiss per
query for small batches that arrive meanwhile)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from redkite.engine.index import base
from redkite.engine.index.base import BLAS_MIN_QUERIES, inner_products


def _one_thread(queries, vectors):
    out = np.empty((len(queries), len(vectors)), np.float32)
    base._scan(np.ascontiguousarray(queries), np.ascontiguousarray(vectors), out)
    return out


def _split(queries, vectors):
    out = np.empty((len(queries), len(vectors)), np.float32)
    base._split_scan(np.ascontiguousarray(queries), np.ascontiguousarray(vectors), out)
    return out


@pytest.mark.parametrize("nq", [1, 3, BLAS_MIN_QUERIES - 1, BLAS_MIN_QUERIES, 20])
def test_equals_the_matrix_product(nq):
    rng = np.random.default_rng(nq)
    vectors = rng.standard_normal((3000, 24)).astype(np.float32)
    queries = rng.standard_normal((nq, 24)).astype(np.float32)
    for compute in (inner_products, _one_thread, _split):
        got = compute(queries, vectors)
        assert got.shape == (nq, 3000) and got.dtype == np.float32
        np.testing.assert_allclose(got, queries @ vectors.T, rtol=1e-5, atol=1e-4)


def test_strided_inputs_and_no_rows():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((1000, 16)).astype(np.float32)
    queries = rng.standard_normal((4, 32)).astype(np.float32)[:, ::2]  # not contiguous
    rows = vectors[::3]
    for compute in (inner_products, _one_thread, _split):
        np.testing.assert_allclose(compute(queries, rows), queries @ rows.T,
                                   rtol=1e-5, atol=1e-4)
    assert inner_products(queries, vectors[:0]).shape == (4, 0)


def test_concurrent_callers_get_their_own_answers():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((20000, 32)).astype(np.float32)
    queries = rng.standard_normal((16, 32)).astype(np.float32)
    expected = queries @ vectors.T
    failures = []

    def worker(q):
        for _ in range(20):
            got = inner_products(queries[q:q + 1], vectors)
            if not np.allclose(got[0], expected[q], rtol=1e-5, atol=1e-4):
                failures.append(q)

    threads = [threading.Thread(target=worker, args=(q,)) for q in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
