"""Exact inner product between sparse queries and the sparse rows of a segment.

The brute-force kernel behind SPARSE_INVERTED_INDEX / AUTOINDEX on sparse fields: for each
query, every stored entry whose index the query holds contributes ``value * query value``
to its row (a ``searchsorted`` of the entries' indices into the query's sorted indices,
then one ``bincount`` per query). A row sharing no index with the query is not a match:
its score is ``-inf``, so it never comes back as a hit (as in Milvus, whose inverted index
only visits rows listed under the query's indices).
"""

from __future__ import annotations

import numpy as np

from ..storage.sparse_rows import SparseRows


def sparse_ip_scores(queries: SparseRows, rows: SparseRows) -> np.ndarray:
    """``(nq, n)`` float32 inner products, ``-inf`` where a row shares no index."""
    n = len(rows)
    out = np.full((len(queries), n), -np.inf, dtype=np.float32)
    if n == 0 or rows.nnz == 0:
        return out
    row_of_entry = rows.row_ids()
    for q in range(len(queries)):
        start, end = queries.indptr[q], queries.indptr[q + 1]
        if start == end:
            continue
        q_indices = queries.indices[start:end]
        q_values = queries.values[start:end].astype(np.float64)
        slot = np.searchsorted(q_indices, rows.indices)
        slot[slot == len(q_indices)] = 0
        hit = q_indices[slot] == rows.indices
        hit_rows = row_of_entry[hit]
        products = rows.values[hit].astype(np.float64) * q_values[slot[hit]]
        scores = np.bincount(hit_rows, weights=products, minlength=n)
        matched = np.bincount(hit_rows, minlength=n) > 0
        out[q, matched] = scores[matched]
    return out
