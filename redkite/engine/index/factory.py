"""Build an index from vectors, or load one from its file.

:func:`build_index` checks the build parameters against the registry (so raw
``{"M": 16}`` and normalized parameters both work), resolves AUTOINDEX to its concrete type
for the vector kind, and hands over to the dense, binary or sparse implementation.
:func:`load_index` reads the description at the end of an index file and loads the
matching implementation, memory-mapped when asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ...errors import ParamError, StorageCorruptedError
from . import registry
from .base import CsrMatrix, VectorIndex, read_trailer
from .binary import BinaryIndex, build_binary
from .dense import DenseIndex, build_dense
from .sparse import SparseIndex, build_sparse

LOADERS = {"float": DenseIndex, "int8": DenseIndex, "binary": BinaryIndex,
           "sparse": SparseIndex}


def vector_kind_of(vectors: Any) -> str:
    """``sparse`` for a CSR triple, ``int8``/``binary`` for int8/uint8 arrays, else ``float``."""
    if isinstance(vectors, (CsrMatrix, tuple)):
        return "sparse"
    dtype = np.asarray(vectors).dtype
    if dtype == np.int8:
        return "int8"
    if dtype == np.uint8:
        return "binary"
    if dtype.kind == "f":
        return "float"
    raise ParamError(f"cannot index vectors of dtype {dtype}: expected float, int8, packed "
                     f"uint8 (binary) or a CSR triple (sparse)")


def build_index(index_type: str, metric: str, params: Mapping[str, Any] | None,
                vectors: Any, *, kind: str | None = None,
                should_stop: Callable[[], bool] | None = None) -> VectorIndex:
    """Build ``index_type`` with ``metric`` over ``vectors`` (rows are labels 0..n-1).

    ``vectors``: float32 (n, d) for float kinds, int8 (n, d), packed uint8 (n, d/8) for
    binary, or a CSR triple (indptr, indices, values) for sparse. ``kind`` overrides the
    kind inferred from the input. ``should_stop`` is polled while a dense index adds its
    rows (:class:`~.dense.BuildCancelled` when it answers true).
    """
    kind = kind or vector_kind_of(vectors)
    dim = None if kind == "sparse" else _dimension(vectors, kind)
    declared, metric, params = registry.check_build_params(index_type, kind, metric, params,
                                                           dim=dim)
    concrete, build_params = declared, params
    if declared == "AUTOINDEX":
        concrete, build_params = registry.resolve_autoindex(kind, metric)
        concrete, _, build_params = registry.check_build_params(concrete, kind, metric,
                                                                build_params, dim=dim)
        build_params.update({k: v for k, v in params.items() if k == "mmap.enabled"})
    if kind in ("float", "int8"):
        if kind == "int8" and np.asarray(vectors).dtype != np.int8:
            raise ParamError(f"INT8_VECTOR data must be int8, got {np.asarray(vectors).dtype}")
        return build_dense(kind, concrete, declared, metric, build_params, vectors,
                           should_stop)
    if kind == "binary":
        return build_binary(concrete, declared, metric, build_params, vectors)
    return build_sparse(concrete, declared, metric, build_params, vectors)


def load_index(path: str | os.PathLike, *, mmap: bool = True,
               verify: bool = True) -> VectorIndex:
    """Load the index saved at ``path``; ``mmap`` maps its codes read-only instead of
    reading them, ``verify`` checks the file's CRC first. A truncated or altered file
    raises StorageCorruptedError naming it."""
    meta, _ = read_trailer(path, verify=verify)
    loader = LOADERS.get(meta.get("kind"))
    if loader is None:
        raise StorageCorruptedError(f"index file {path} is corrupted: unknown vector kind "
                                    f"{meta.get('kind')!r}")
    try:
        return loader.load(path, meta, mmap=mmap)
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageCorruptedError(f"index file {path} is corrupted: bad description "
                                    f"({exc})") from exc


def _dimension(vectors: Any, kind: str) -> int:
    shape = np.shape(vectors)
    if len(shape) != 2:
        raise ParamError(f"vectors must be a 2-d array (n, dim), got shape {shape}")
    return shape[1] * 8 if kind == "binary" else shape[1]
