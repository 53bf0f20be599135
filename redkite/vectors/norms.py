"""Per-row statistics the exact search kernels reuse: L2 norms and bit counts.

Dense types get the L2 norm of their float32 value (for L2 and COSINE); binary vectors get
their number of set bits (for JACCARD). Work goes block by block so converting a half
precision segment to float32 never needs a full-size float32 copy.
"""

from __future__ import annotations

import numpy as np

from .layout import VectorLayout, to_float32

BLOCK_ROWS = 16384
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per element of an unsigned integer array (same shape)."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words)
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    counts = _POPCOUNT8[as_bytes].reshape(*words.shape, words.dtype.itemsize)
    return counts.sum(axis=-1, dtype=np.uint8)


def as_words(packed: np.ndarray) -> np.ndarray:
    """Packed bit rows (uint8, n x w) viewed as the widest unsigned words dividing ``w``."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    width = packed.shape[1]
    for size, dtype in ((8, np.uint64), (4, np.uint32), (2, np.uint16)):
        if width % size == 0:
            return packed.view(dtype)
    return packed


def row_norms(matrix: np.ndarray, layout: VectorLayout) -> np.ndarray:
    """float32 per row: L2 norm (dense types) or number of set bits (binary)."""
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), BLOCK_ROWS):
        block = matrix[start:start + BLOCK_ROWS]
        if layout.is_binary:
            out[start:start + len(block)] = popcount(as_words(block)).sum(axis=1)
        else:
            with np.errstate(over="ignore"):  # a norm beyond float32 is stored as inf
                out[start:start + len(block)] = np.linalg.norm(to_float32(block, layout),
                                                               axis=1)
    return out
