"""Vector indexes and their parameter rules.

* :mod:`.registry` — which index type fits which vector kind, metric and parameters;
  :func:`normalize_index` and :func:`normalize_search_params` apply those rules.
* :func:`build_index` / :func:`load_index` — a :class:`VectorIndex` over one segment's
  vectors (dense: faiss; binary and sparse: numpy), saved to and loaded from one file.
* :func:`sparse_exact_search` — exact sparse search without an index (growing segments).

This package depends only on numpy, faiss and the shared ``redkite.errors``/``types``.
"""

import os

# Idle OpenMP workers sleep instead of spinning: on a small, shared machine spinning
# threads slow every other search and the writer (set before faiss loads; a user's own
# setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .base import (  # noqa: E402
    Bm25Context, CsrMatrix, VectorIndex, larger_is_closer, worst_distance,
)
from .factory import build_index, load_index, vector_kind_of
from .registry import (AUTOINDEX_CHOICE, INDEX_RULES, check_build_params, metrics_for,
                       normalize_index, normalize_search_params, resolve_autoindex, vector_kind)
from .sparse import sparse_exact_search

__all__ = [
    "AUTOINDEX_CHOICE", "INDEX_RULES", "Bm25Context", "CsrMatrix", "VectorIndex",
    "build_index", "check_build_params", "larger_is_closer", "load_index", "metrics_for",
    "normalize_index", "normalize_search_params", "resolve_autoindex",
    "sparse_exact_search", "vector_kind", "vector_kind_of", "worst_distance",
]
