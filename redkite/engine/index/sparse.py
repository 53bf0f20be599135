"""Sparse vector search (SPARSE_FLOAT_VECTOR): an inverted index and an exact scan.

SPARSE_INVERTED_INDEX keeps, per term, its postings (row ids and values) in numpy arrays.
A query accumulates ``weight(term) * value`` over the postings of its terms (one gather and
one ``bincount`` per query) and keeps the ``k`` best rows. SPARSE_WAND uses the same exact
term-at-a-time accumulation: no pruning, so both return the exact inner product (or BM25)
ranking when ``drop_ratio_search`` and ``drop_ratio_build`` are 0; ``inverted_index_algo``
and ``dim_max_score_ratio`` are accepted (they only tune pruning in Milvus) and change
nothing here. Only rows sharing at least one term with the query are candidates, as in
Milvus, so a search may return fewer than ``k`` rows.

* ``drop_ratio_build`` drops, at build, the smallest fraction of all stored values (by
  absolute value); document lengths for BM25 are taken before the drop.
* ``drop_ratio_search`` drops the smallest fraction of each query's weights.
* BM25: postings hold raw term frequencies; a row scores
  ``sum_t qw(t) * tf*(k1+1) / (tf + k1*(1 - b + b*dl/avgdl))`` where ``qw(t)`` is the query
  term frequency times its IDF (see :class:`~.base.Bm25Context`).

:func:`sparse_exact_search` scores the rows of a CSR matrix directly (no index), with the
same results, for growing segments.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...errors import ParamError, StorageCorruptedError
from . import registry
from .base import (Bm25Context, CsrMatrix, VectorIndex, check_allowed, check_k, empty_result,
                   fill_row, gather_ranges, read_arrays, write_arrays)

MAX_TERM = 2**32 - 1


def as_csr(matrix: Any, what: str = "sparse vectors") -> CsrMatrix:
    """``matrix`` (a CsrMatrix or an (indptr, indices, values) triple) checked and typed."""
    try:
        indptr, indices, values = matrix
    except (TypeError, ValueError):
        raise ParamError(f"{what} must be a CSR triple (indptr, indices, values)") from None
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices)
    values = np.asarray(values, dtype=np.float32)
    if indptr.ndim != 1 or indptr.size == 0 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ParamError(f"{what}: indptr must start at 0 and never decrease")
    nnz = int(indptr[-1])
    if indices.shape != (nnz,) or values.shape != (nnz,):
        raise ParamError(f"{what}: indices and values must hold indptr[-1]={nnz} entries, "
                         f"got {indices.shape} and {values.shape}")
    if nnz and (indices.min() < 0 or indices.max() > MAX_TERM - 1):
        raise ParamError(f"{what}: indices must lie in [0, {MAX_TERM - 1}]")
    indices = indices.astype(np.uint32, copy=False)
    if not np.all(np.isfinite(values)):
        raise ParamError(f"{what}: values must be finite")
    steps = np.diff(indices.astype(np.int64))
    row_starts = np.zeros(nnz, bool)
    row_starts[indptr[:-1][indptr[:-1] < nnz]] = True
    if np.any(steps[~row_starts[1:]] <= 0):
        raise ParamError(f"{what}: indices must be sorted and unique within each row")
    return CsrMatrix(indptr, indices, values)


def row_lengths(csr: CsrMatrix) -> np.ndarray:
    """Sum of each row's values (BM25 document length), float32."""
    sums = np.zeros(csr.n_rows, np.float64)
    counts = np.diff(csr.indptr)
    nonempty = counts > 0
    if np.any(nonempty):
        sums[nonempty] = np.add.reduceat(csr.values.astype(np.float64),
                                         csr.indptr[:-1][nonempty])
    return sums.astype(np.float32)


def drop_mask(values: np.ndarray, ratio: float) -> np.ndarray:
    """Which entries survive dropping the smallest ``ratio`` of ``values`` (by magnitude)."""
    if ratio <= 0 or values.size == 0:
        return np.ones(values.shape, bool)
    magnitude = np.abs(values)
    cut = int(ratio * values.size)
    threshold = np.partition(magnitude, cut)[cut]
    return magnitude >= threshold


def accumulate(rows: np.ndarray, contributions: np.ndarray,
               n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``rows`` and the float64 sum of their ``contributions``."""
    if rows.size * 8 < n:
        unique, inverse = np.unique(rows, return_inverse=True)
        return unique, np.bincount(inverse, weights=contributions, minlength=unique.size)
    sums = np.bincount(rows, weights=contributions, minlength=n)
    touched = np.flatnonzero(np.bincount(rows, minlength=n))
    return touched, sums[touched]


def query_weights(queries: CsrMatrix, q: int, metric: str, bm25: Bm25Context | None,
                  drop_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Terms and weights of query ``q`` after BM25 weighting and ``drop_ratio``."""
    terms, values = queries.row(q)
    weights = values if metric != "BM25" else bm25.query_weights(q, terms, values)
    keep = drop_mask(weights, drop_ratio)
    return terms[keep], weights[keep].astype(np.float64)


def check_bm25(metric: str, bm25: Bm25Context | None, num_rows: int) -> None:
    if metric == "BM25" and bm25 is None:
        raise ParamError("a BM25 search needs a Bm25Context (avgdl and IDF)")
    if metric != "BM25" and bm25 is not None:
        raise ParamError(f"a Bm25Context was given to a search with metric {metric}")
    if bm25 is not None and bm25.doc_len is not None and bm25.doc_len.shape != (num_rows,):
        raise ParamError(f"Bm25Context.doc_len must have shape ({num_rows},), got "
                         f"{bm25.doc_len.shape}")


class SparseIndex(VectorIndex):
    """SPARSE_INVERTED_INDEX / SPARSE_WAND: per-term postings in numpy arrays."""

    def __init__(self, *, index_type: str, declared_type: str, metric: str, params: dict,
                 num_rows: int, terms: np.ndarray, term_ptr: np.ndarray,
                 post_rows: np.ndarray, post_vals: np.ndarray, doc_len: np.ndarray) -> None:
        self.kind = "sparse"
        self.index_type = index_type
        self.declared_type = declared_type
        self.metric = metric
        self.params = dict(params)
        self.num_rows = num_rows
        self.dim = None
        self.exact_below = 0.0
        self.terms = terms
        self.term_ptr = term_ptr
        self.post_rows = post_rows
        self.post_vals = post_vals
        self.doc_len = doc_len

    def search(self, queries: Any, k: int, search_params: dict | None = None,
               allowed: np.ndarray | None = None, *, bm25: Bm25Context | None = None):
        k = check_k(k)
        queries = as_csr(queries, "queries")
        params = registry.normalize_search_params(self.declared_type, self.metric,
                                                  search_params, limit=k)
        allowed = check_allowed(allowed, self.num_rows)
        check_bm25(self.metric, bm25, self.num_rows)
        doc_len = self.doc_len if bm25 is None or bm25.doc_len is None else bm25.doc_len
        distances, labels = empty_result(queries.n_rows, k, self.metric)
        drop = float(params.get("drop_ratio_search", 0.0))
        for q in range(queries.n_rows):
            terms, weights = query_weights(queries, q, self.metric, bm25, drop)
            rows, contributions = self._postings(terms, weights, bm25, doc_len)
            rows, scores = accumulate(rows, contributions, self.num_rows)
            if allowed is not None:
                keep = allowed[rows]
                rows, scores = rows[keep], scores[keep]
            fill_row(distances, labels, q, rows, scores.astype(np.float32), k, larger=True)
        return distances, labels

    def _postings(self, terms: np.ndarray, weights: np.ndarray, bm25: Bm25Context | None,
                  doc_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and ``weight * value`` of every posting of the query's ``terms``."""
        slot = np.searchsorted(self.terms, terms)
        found = slot < len(self.terms)
        found[found] = self.terms[slot[found]] == terms[found]
        slot, weights = slot[found], weights[found]
        starts, ends = self.term_ptr[slot], self.term_ptr[slot + 1]
        positions = gather_ranges(starts, ends)
        rows = self.post_rows[positions].astype(np.int64)
        values = self.post_vals[positions]
        if bm25 is not None:
            values = bm25.scale(values, doc_len[rows])
        return rows, np.repeat(weights, ends - starts) * values

    def save(self, path: str | os.PathLike) -> None:
        write_arrays(path, {"terms": self.terms, "term_ptr": self.term_ptr,
                            "post_rows": self.post_rows, "post_vals": self.post_vals,
                            "doc_len": self.doc_len}, self.describe())

    @classmethod
    def load(cls, path: str | os.PathLike, meta: dict, *, mmap: bool) -> "SparseIndex":
        arrays = read_arrays(path, meta, mmap=mmap)
        if (arrays["doc_len"].shape != (meta["num_rows"],)
                or arrays["term_ptr"].shape != (arrays["terms"].size + 1,)
                or arrays["post_rows"].shape != arrays["post_vals"].shape):
            raise StorageCorruptedError(f"index file {path} is corrupted: its arrays do not "
                                        f"fit together")
        return cls(index_type=meta["index_type"], declared_type=meta["declared_type"],
                   metric=meta["metric"], params=meta["params"], num_rows=meta["num_rows"],
                   **arrays)

    def memory_bytes(self) -> int:
        return int(sum(a.nbytes for a in (self.terms, self.term_ptr, self.post_rows,
                                           self.post_vals, self.doc_len)))


def build_sparse(index_type: str, declared_type: str, metric: str, params: dict,
                 matrix: Any) -> SparseIndex:
    """Build the postings of a CSR matrix (values: weights, or term frequencies for BM25)."""
    csr = as_csr(matrix)
    n = csr.n_rows
    if n == 0:
        raise ParamError(f"cannot build {index_type} over 0 rows")
    doc_len = row_lengths(csr)
    row_of = np.repeat(np.arange(n, dtype=np.int32), np.diff(csr.indptr))
    keep = drop_mask(csr.values, float(params.get("drop_ratio_build", 0.0)))
    indices, values, row_of = csr.indices[keep], csr.values[keep], row_of[keep]
    order = np.argsort(indices, kind="stable")
    sorted_terms = indices[order]
    terms, counts = np.unique(sorted_terms, return_counts=True)
    term_ptr = np.zeros(len(terms) + 1, np.int64)
    np.cumsum(counts, out=term_ptr[1:])
    return SparseIndex(index_type=index_type, declared_type=declared_type, metric=metric,
                       params=params, num_rows=n, terms=terms.astype(np.uint32),
                       term_ptr=term_ptr, post_rows=row_of[order],
                       post_vals=values[order].astype(np.float32), doc_len=doc_len)


def sparse_exact_search(csr: Any, n: int, queries_csr: Any, k: int, metric: str,
                        allowed: np.ndarray | None = None, bm25: Bm25Context | None = None,
                        *, drop_ratio_search: float = 0.0,
                        check_data: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` of the first ``n`` rows of ``csr`` for each query (no index).

    Same conventions as :meth:`SparseIndex.search`: metric IP or BM25, only rows sharing a
    term with the query are candidates, labels padded with -1 and distances with -inf.
    Each query matches its terms against every stored entry (``searchsorted``) and sums per
    row, so the cost is O(nnz log q) per query with no build step. ``check_data=False``
    skips re-validating ``csr`` (rows the caller already checked on insert).
    """
    metric = str(metric).upper()
    if metric not in registry.SPARSE_METRICS:
        raise ParamError(f"metric type {metric} not supported for sparse vectors, supported: "
                         f"{list(registry.SPARSE_METRICS)}")
    k = check_k(k)
    full = as_csr(csr) if check_data else CsrMatrix(*csr)
    if not 0 <= n <= full.n_rows:
        raise ParamError(f"n={n} is outside the {full.n_rows} rows of the matrix")
    end = int(full.indptr[n])
    data = CsrMatrix(full.indptr[:n + 1], full.indices[:end], full.values[:end])
    queries = as_csr(queries_csr, "queries")
    allowed = check_allowed(allowed, n)
    check_bm25(metric, bm25, n)
    doc_len = row_lengths(data) if bm25 is None or bm25.doc_len is None else bm25.doc_len
    row_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(data.indptr))
    distances, labels = empty_result(queries.n_rows, k, metric)
    for q in range(queries.n_rows):
        terms, weights = query_weights(queries, q, metric, bm25, drop_ratio_search)
        order = np.argsort(terms)
        terms, weights = terms[order], weights[order]
        slot = np.searchsorted(terms, data.indices)
        hit = slot < len(terms)
        hit[hit] = terms[slot[hit]] == data.indices[hit]
        entries = np.flatnonzero(hit)
        values = data.values[entries]
        rows = row_of[entries]
        if bm25 is not None:
            values = bm25.scale(values, doc_len[rows])
        rows, scores = accumulate(rows, weights[slot[entries]] * values, n)
        if allowed is not None:
            keep = allowed[rows]
            rows, scores = rows[keep], scores[keep]
        fill_row(distances, labels, q, rows, scores.astype(np.float32), k, larger=True)
    return distances, labels
