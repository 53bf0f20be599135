"""Exact HAMMING and JACCARD distances between packed binary vectors.

Rows are packed bits (uint8, ``dim // 8`` per row), compared as the widest unsigned words
that divide the row, a block of rows at a time (sized so the query x block intermediate
stays near ``BLOCK_BYTES``). Both distances are smaller-is-closer:

* HAMMING: the number of differing bits;
* JACCARD: ``1 - |a & b| / |a | b|`` (0 when both vectors have no bit set).
"""

from __future__ import annotations

import numpy as np

from ...vectors.norms import as_words, popcount

BLOCK_BYTES = 32 << 20


def binary_distances(queries: np.ndarray, query_bits: np.ndarray, rows: np.ndarray,
                     row_bits: np.ndarray, metric: str) -> np.ndarray:
    """``(nq, n)`` float32 distances; ``*_bits`` are the set-bit counts per row."""
    q_words = as_words(queries)
    out = np.empty((len(queries), len(rows)), dtype=np.float32)
    step = max(1, BLOCK_BYTES // max(1, q_words.nbytes))
    for start in range(0, len(rows), step):
        block = as_words(rows[start:start + step])
        stop = start + len(block)
        if metric == "HAMMING":
            differ = popcount(q_words[:, None, :] ^ block[None, :, :]).sum(axis=2)
            out[:, start:stop] = differ
        else:
            common = popcount(q_words[:, None, :] & block[None, :, :]).sum(axis=2)
            union = query_bits[:, None] + row_bits[None, start:stop] - common
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, start:stop] = np.where(union > 0, 1.0 - common / union, 0.0)
    return out
