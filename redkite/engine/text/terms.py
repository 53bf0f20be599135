"""Token -> term id, as Milvus computes it for BM25 sparse vectors.

Milvus hashes every analyzed token with ``typeutil.HashString2LessUint32``: the CRC-32
(IEEE) checksum of the token's first 100 UTF-8 bytes, modulo ``2**32 - 1``. redkite
uses the same function, so the sparse vectors it stores for a BM25 output field carry
the term ids a Milvus server would store for the same tokens. Different tokens can
share an id (a 32-bit hash); Milvus accepts the same collisions.
"""

from __future__ import annotations

import zlib

import numpy as np

_PREFIX_BYTES = 100
_MODULUS = 0xFFFFFFFF


def term_id(token: str) -> int:
    """The uint32 term id of one token."""
    return zlib.crc32(token.encode("utf-8")[:_PREFIX_BYTES]) % _MODULUS


def term_ids(tokens: list[str]) -> np.ndarray:
    """uint32 term ids of ``tokens``; each distinct token is hashed once."""
    if not tokens:
        return np.zeros(0, dtype=np.uint32)
    distinct = dict.fromkeys(tokens)
    ids = {token: term_id(token) for token in distinct}
    return np.fromiter(map(ids.__getitem__, tokens), dtype=np.uint32, count=len(tokens))
