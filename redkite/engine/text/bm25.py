"""BM25: documents as term-frequency rows, collection statistics, and exact scoring.

A BM25 function turns each VARCHAR value into a sparse vector: its analyzed tokens'
term ids (:mod:`.terms`) with their counts in that text. Rows are CSR arrays:
``indptr`` (int64, n + 1), ``indices`` (uint32 term ids, ascending within a row) and
``values`` (float32 counts). A query text becomes the same kind of row.

Scoring uses Milvus's (and Lucene's) BM25::

    score(q, d) = sum over terms t of q:  qtf(t) * idf(t) * tf * (k1 + 1)
                                          / (tf + k1 * (1 - b + b * len(d) / avgdl))
    idf(t)      = log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

where ``tf`` is the count of ``t`` in ``d``, ``qtf`` its count in the query, ``len(d)``
the number of tokens of ``d``, ``N`` the number of documents, ``df(t)`` how many of them
contain ``t`` and ``avgdl`` their mean length. ``idf`` is positive for every term, so
every score is >= 0, and a document scores > 0 exactly when it holds a query term.
``N``, ``df`` and the total length come from :class:`Bm25Stats`, computed per segment
and merged by summing, so scores are the same however the collection is segmented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redkite.errors import ParamError

from .analyzers import Analyzer
from .terms import term_ids

Csr = tuple[np.ndarray, np.ndarray, np.ndarray]  # indptr, indices, values


def texts_to_term_frequencies(texts: list[str], analyzer: Analyzer) -> Csr:
    """CSR term-frequency rows of ``texts`` (None or empty texts give empty rows)."""
    batch = analyzer.analyze(list(texts))
    n = batch.num_rows
    ids = term_ids(batch.tokens).astype(np.int64)
    keys, counts = np.unique((batch.rows << 32) | ids, return_counts=True)
    rows = keys >> 32
    indices = (keys & 0xFFFFFFFF).astype(np.uint32)
    indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
    return indptr, indices, counts.astype(np.float32)


def query_terms(texts: list[str], analyzer: Analyzer) -> Csr:
    """Query texts as CSR rows of term counts (what Milvus sends for a BM25 search)."""
    return texts_to_term_frequencies(texts, analyzer)


def row_lengths(indptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Token count of each row: the sum of its term frequencies (float64)."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    return np.bincount(rows, weights=values, minlength=n)


@dataclass(frozen=True)
class Bm25Stats:
    """Document count, total token count and per-term document frequencies.

    ``terms`` is sorted and unique; ``doc_freq[i]`` counts the documents holding
    ``terms[i]``. Stats of disjoint document sets merge by summing (:meth:`merge`).
    """
    num_docs: int
    total_length: float
    terms: np.ndarray     # uint32, ascending
    doc_freq: np.ndarray  # int64

    @classmethod
    def empty(cls) -> Bm25Stats:
        return cls(0, 0.0, np.zeros(0, np.uint32), np.zeros(0, np.int64))

    @classmethod
    def from_csr(cls, csr: Csr, alive: np.ndarray | None = None) -> Bm25Stats:
        """Stats of the CSR rows, only rows where ``alive`` is true if given."""
        indptr, indices, values = csr
        n = len(indptr) - 1
        rows = np.repeat(np.arange(n), np.diff(indptr))
        if alive is not None:
            alive = np.asarray(alive, dtype=bool)
            keep = alive[rows]
            indices, values, n = indices[keep], values[keep], int(alive.sum())
        terms, doc_freq = np.unique(indices, return_counts=True)
        return cls(int(n), float(np.sum(values, dtype=np.float64)),
                   terms.astype(np.uint32), doc_freq.astype(np.int64))

    def merge(self, *others: Bm25Stats) -> Bm25Stats:
        """Stats of the union of these disjoint document sets."""
        parts = (self, *others)
        terms = np.concatenate([p.terms for p in parts])
        freq = np.concatenate([p.doc_freq for p in parts])
        merged, inverse = np.unique(terms, return_inverse=True)
        doc_freq = np.bincount(inverse, weights=freq, minlength=len(merged)).astype(np.int64)
        return Bm25Stats(sum(p.num_docs for p in parts), sum(p.total_length for p in parts),
                         merged.astype(np.uint32), doc_freq)

    def without(self, removed: Bm25Stats) -> Bm25Stats:
        """Stats of this set minus ``removed``, a subset of it (e.g. its deleted rows)."""
        negated = Bm25Stats(-removed.num_docs, -removed.total_length, removed.terms,
                            -removed.doc_freq)
        merged = self.merge(negated)
        keep = merged.doc_freq > 0
        return Bm25Stats(merged.num_docs, max(merged.total_length, 0.0), merged.terms[keep],
                         merged.doc_freq[keep])

    @property
    def avgdl(self) -> float:
        """Mean document length (1.0 for a collection without tokens)."""
        return self.total_length / self.num_docs if self.total_length > 0 else 1.0

    def document_frequency(self, terms: np.ndarray) -> np.ndarray:
        """df of each term (0 for terms no document holds)."""
        terms = np.asarray(terms, dtype=np.uint32)
        if not len(self.terms):
            return np.zeros(len(terms), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.terms, terms), len(self.terms) - 1)
        return np.where(self.terms[pos] == terms, self.doc_freq[pos], 0)

    def idf(self, terms: np.ndarray) -> np.ndarray:
        """``log(1 + (N - df + 0.5) / (df + 0.5))`` per term (float64, > 0)."""
        df = self.document_frequency(terms).astype(np.float64)
        return np.log1p((self.num_docs - df + 0.5) / (df + 0.5))


def _check_bm25_params(k1: float, b: float) -> None:
    if isinstance(k1, bool) or not isinstance(k1, (int, float)) or not k1 >= 0:
        raise ParamError(f"bm25_k1 must be a non-negative number, got {k1!r}")
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b <= 1:
        raise ParamError(f"bm25_b must be a number in [0, 1], got {b!r}")


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` positive scores, ties by ascending row; padded with id -1, score 0."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > k:
        kth = np.argpartition(-scores[candidates], k - 1)[:k]
        threshold = scores[candidates[kth]].min()
        candidates = candidates[scores[candidates] >= threshold]
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    ids = np.full(k, -1, dtype=np.int64)
    best = np.zeros(k, dtype=np.float32)
    ids[:len(order)] = candidates[order]
    best[:len(order)] = scores[candidates[order]]
    return ids, best


def bm25_scores(docs: Csr, doc_len: np.ndarray | None, queries: Csr, stats: Bm25Stats,
                k1: float = 1.2, b: float = 0.75, allowed: np.ndarray | None = None,
                k: int | None = None):
    """Exact BM25 of every query against every document row.

    ``doc_len`` defaults to each row's token count; ``stats`` are the collection-wide
    statistics (not only these rows'). Rows where ``allowed`` is false score 0. With
    ``k`` None, returns float32 scores of shape (queries, docs); with ``k``, returns
    ``(ids, scores)`` of shape (queries, k): the best rows with a positive score, best
    first (ties by ascending row), padded with id -1 and score 0.
    """
    _check_bm25_params(k1, b)
    indptr, indices, values = docs
    n_docs = len(indptr) - 1
    rows = np.repeat(np.arange(n_docs), np.diff(indptr))
    lengths = row_lengths(indptr, values) if doc_len is None else np.asarray(doc_len, np.float64)
    tf = values.astype(np.float64)
    saturation = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[rows] / stats.avgdl))
    if allowed is not None:
        saturation = saturation * np.asarray(allowed, dtype=bool)[rows]
    q_indptr, q_indices, q_values = queries
    n_queries = len(q_indptr) - 1
    dense = np.zeros((n_queries, n_docs), dtype=np.float32)
    for q in range(n_queries):
        terms = q_indices[q_indptr[q]:q_indptr[q + 1]]
        if not len(terms) or not len(indices):
            continue
        weights = q_values[q_indptr[q]:q_indptr[q + 1]] * stats.idf(terms)
        order = np.argsort(terms)
        terms, weights = terms[order], weights[order]
        pos = np.minimum(np.searchsorted(terms, indices), len(terms) - 1)
        contribution = np.where(terms[pos] == indices, weights[pos], 0.0) * saturation
        dense[q] = np.bincount(rows, weights=contribution, minlength=n_docs)
    if k is None:
        return dense
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ParamError(f"k must be a positive integer, got {k!r}")
    pairs = [_top_k(dense[q], k) for q in range(n_queries)]
    ids = np.array([p[0] for p in pairs], dtype=np.int64).reshape(n_queries, k)
    best = np.array([p[1] for p in pairs], dtype=np.float32).reshape(n_queries, k)
    return ids, best
