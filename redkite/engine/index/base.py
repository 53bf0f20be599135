"""The vector index protocol, its file format, and the helpers every implementation shares.

A :class:`VectorIndex` answers ``search(queries, k, search_params, allowed)`` with two
``(nq, k)`` arrays: distances (float32) and labels (int64 row positions ``0..n-1`` of the
segment the index was built over), best first, padded with label ``-1`` (and the worst
possible distance: ``+inf`` where smaller is closer, ``-inf`` where larger is closer).
Distances follow Milvus: L2 is the squared Euclidean distance, IP the inner product,
COSINE the cosine similarity, HAMMING a bit count, JACCARD ``1 - |a & b| / |a | b|``,
BM25 the BM25 score. ``allowed`` is a boolean row mask (tombstones and filter applied):
only allowed rows are returned, and ``k`` of them whenever ``k`` rows are allowed.

One index is one file: the payload (a faiss index, or aligned numpy arrays), then a JSON
description and a fixed trailer (payload length, description length, CRC-32 of both, magic).
faiss readers stop at the end of their payload, so the file stays readable by faiss with
memory mapping; :func:`read_trailer` rejects a truncated or altered file with
:class:`StorageCorruptedError` naming it.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import faiss
import numpy as np

from ...errors import ParamError, StorageCorruptedError

MAGIC = b"RKVIDX01"
TRAILER = struct.Struct("<QII8s")  # payload length, meta length, crc32, magic
ALIGN = 64
LARGER_IS_CLOSER = frozenset({"IP", "COSINE", "BM25"})
CHUNK_ROWS = 65536
NO_ROWS = np.zeros(0, np.int64)
# Small query batches (under BLAS_MIN_QUERIES) are not scored by a BLAS product: OpenBLAS's
# threaded gemv collapses when several threads call it at once (8 threads searching
# 50k x 128 rows: 931 searches/s alone, 77/s together). faiss's SIMD inner-product kernel
# runs instead (GIL released): split over every core when it is the only scan running
# (as fast as BLAS for one search), on the calling thread alone when others run (so
# concurrent searches scale instead of fighting over the cores).
BLAS_MIN_QUERIES = 8
SPLIT_MIN_ROWS = 32768
_CORES = os.cpu_count() or 1
_scans = 0
_scans_lock = threading.Lock()
_split_pool: ThreadPoolExecutor | None = None


def larger_is_closer(metric: str) -> bool:
    return metric in LARGER_IS_CLOSER


def worst_distance(metric: str) -> float:
    return -np.inf if larger_is_closer(metric) else np.inf


class CsrMatrix(NamedTuple):
    """Sparse rows in CSR form: ``indptr`` int64[n+1], ``indices`` uint32[nnz] (sorted and
    unique within each row), ``values`` float32[nnz]."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:end], self.values[start:end]


@dataclass(frozen=True)
class Bm25Context:
    """What a BM25 search needs besides the index: collection statistics and the IDF.

    ``idf`` is either a callable mapping an array of term ids to their IDF, or a sequence
    with one array per query aligned with that query's ``indices``. A query term's weight is
    its value (the term frequency in the query) times its IDF, as in Milvus. ``doc_len``
    overrides the document lengths (by default the sum of each row's term frequencies).
    ``avgdl`` below 1 counts as 1 (as in knowhere).
    """

    avgdl: float
    idf: Callable[[np.ndarray], np.ndarray] | Sequence[np.ndarray]
    k1: float = 1.2
    b: float = 0.75
    doc_len: np.ndarray | None = None

    def query_weights(self, query_index: int, terms: np.ndarray,
                      values: np.ndarray) -> np.ndarray:
        if callable(self.idf):
            idf = np.asarray(self.idf(terms), dtype=np.float32)
        else:
            idf = np.asarray(self.idf[query_index], dtype=np.float32)
        if idf.shape != terms.shape:
            raise ParamError(f"BM25 idf for query {query_index} has {idf.size} values for "
                             f"{terms.size} query terms")
        return values.astype(np.float32) * idf

    def scale(self, tf: np.ndarray, doc_len: np.ndarray) -> np.ndarray:
        """The BM25 term-frequency part: tf*(k1+1) / (tf + k1*(1 - b + b*dl/avgdl))."""
        avgdl = max(float(self.avgdl), 1.0)
        norm = self.k1 * (1.0 - self.b + self.b * doc_len / avgdl)
        return (tf * (self.k1 + 1.0) / (tf + norm)).astype(np.float32)


class VectorIndex(ABC):
    """A built (or loaded) vector index over the ``num_rows`` rows of one segment.

    ``index_type`` is the concrete type served (AUTOINDEX resolved), ``declared_type`` the
    type the user asked for; ``params`` the normalized build parameters; ``kind`` the
    vector kind; ``exact_below`` the allowed-row fraction under which a filtered search
    skips the index structure and scores every allowed row (the caller may prefer exact
    search over raw vectors below it).
    """

    kind: str
    index_type: str
    declared_type: str
    metric: str
    params: dict
    num_rows: int
    dim: int | None
    exact_below: float = 0.0

    @abstractmethod
    def search(self, queries: Any, k: int, search_params: Mapping[str, Any] | None = None,
               allowed: np.ndarray | None = None, *,
               bm25: Bm25Context | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` allowed rows per query: (distances float32, labels int64), (nq, k)."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the index to one file (atomically: a temporary file renamed into place)."""

    @abstractmethod
    def memory_bytes(self) -> int:
        """Approximate bytes of the index structures (mapped or resident)."""

    def describe(self) -> dict:
        """The JSON description stored in the file (enough to load it again)."""
        return {"kind": self.kind, "index_type": self.index_type,
                "declared_type": self.declared_type, "metric": self.metric,
                "params": self.params, "num_rows": self.num_rows, "dim": self.dim}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.index_type} {self.metric} rows={self.num_rows}"
                f" dim={self.dim}>")


def check_allowed(allowed: np.ndarray | None, num_rows: int) -> np.ndarray | None:
    """``allowed`` as a bool array of ``num_rows``, or None when every row is allowed."""
    if allowed is None:
        return None
    allowed = np.asarray(allowed)
    if allowed.dtype != np.bool_ or allowed.shape != (num_rows,):
        raise ParamError(f"allowed must be a bool array of shape ({num_rows},), got "
                         f"{allowed.dtype} {allowed.shape}")
    return None if allowed.all() else allowed


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParamError(f"k must be a positive integer, got {k!r}")
    return int(k)


def empty_result(nq: int, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    return (np.full((nq, k), worst_distance(metric), np.float32),
            np.full((nq, k), -1, np.int64))


def top_k(scores: np.ndarray, k: int, larger: bool) -> np.ndarray:
    """Column indices of the best ``k`` of each row of ``scores``, best first."""
    keyed = -scores if larger else scores
    k = min(k, keyed.shape[1])
    if k < keyed.shape[1]:
        part = np.argpartition(keyed, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(keyed.shape[1]), keyed.shape)
    order = np.argsort(np.take_along_axis(keyed, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def fill_row(distances: np.ndarray, labels: np.ndarray, q: int, rows: np.ndarray,
             scores: np.ndarray, k: int, larger: bool) -> None:
    """Write the best ``k`` of (``rows``, ``scores``) into row ``q`` of the result arrays."""
    if rows.size == 0:
        return
    best = top_k(scores[None, :], k, larger)[0]
    distances[q, :best.size] = scores[best]
    labels[q, :best.size] = rows[best]


def inner_products(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``queries @ vectors.T`` as float32 (nq, n), for float32 (nq, d) and (n, d) inputs."""
    global _scans
    if (len(queries) >= BLAS_MIN_QUERIES or queries.dtype != np.float32
            or vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) == 0):
        return queries @ vectors.T
    vectors = np.ascontiguousarray(vectors)
    queries = np.ascontiguousarray(queries)
    out = np.empty((len(queries), len(vectors)), dtype=np.float32)
    with _scans_lock:
        alone = _scans == 0
        _scans += 1
    try:
        if alone and _CORES > 1 and len(vectors) >= SPLIT_MIN_ROWS:
            _split_scan(queries, vectors, out)
        else:
            _scan(queries, vectors, out)
    finally:
        with _scans_lock:
            _scans -= 1
    return out


def _scan(queries: np.ndarray, vectors: np.ndarray, out: np.ndarray) -> None:
    """``out[q] = vectors @ queries[q]`` on the calling thread, faiss's kernel per query."""
    dim, count = vectors.shape[1], len(vectors)
    for q in range(len(queries)):
        faiss.fvec_inner_products_ny(faiss.swig_ptr(out[q]), faiss.swig_ptr(queries[q]),
                                     faiss.swig_ptr(vectors), dim, count)


def _split_scan(queries: np.ndarray, vectors: np.ndarray, out: np.ndarray) -> None:
    """:func:`_scan` over row ranges, one per core (this thread takes the first)."""
    global _split_pool
    if _split_pool is None:
        _split_pool = ThreadPoolExecutor(_CORES - 1, thread_name_prefix="redkite-scan")
    bounds = np.linspace(0, len(vectors), _CORES + 1).astype(int)
    # each part writes its own columns of ``out`` (row q of out[:, lo:hi] is contiguous)
    parts = [(queries, vectors[lo:hi], out[:, lo:hi])
             for lo, hi in zip(bounds[:-1], bounds[1:])]
    jobs = [_split_pool.submit(_scan, *part) for part in parts[1:]]
    _scan(*parts[0])
    for job in jobs:
        job.result()


def exact_dense(queries: np.ndarray, fetch: Callable[[np.ndarray], np.ndarray],
                rows: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` of ``queries`` over ``rows`` (vectors given by ``fetch(rows)``).

    ``metric`` is L2 or IP (COSINE callers pass normalized vectors and IP). Rows are
    scored in chunks of :data:`CHUNK_ROWS` so memory stays bounded.
    """
    nq = len(queries)
    larger = metric != "L2"
    best_d, best_i = empty_result(nq, k, "IP" if larger else "L2")
    q_norms = (queries * queries).sum(axis=1)[:, None]
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start:start + CHUNK_ROWS]
        vectors = fetch(chunk)
        scores = inner_products(queries, vectors)
        if not larger:
            scores = np.maximum(q_norms + (vectors * vectors).sum(axis=1)[None, :]
                                - 2.0 * scores, 0.0)
        all_d = np.concatenate([best_d, scores.astype(np.float32)], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(chunk, scores.shape)], axis=1)
        pick = top_k(all_d, k, larger)
        best_d = np.take_along_axis(all_d, pick, axis=1)
        best_i = np.take_along_axis(all_i, pick, axis=1)
    best_i[~np.isfinite(best_d)] = -1
    return best_d.astype(np.float32), best_i.astype(np.int64)


def short_queries(labels: np.ndarray, k: int, allowed_count: int) -> np.ndarray:
    """Indices of the queries that returned fewer than min(k, allowed_count) rows (results
    are packed best first, so the label at position min(k, allowed_count) - 1 tells)."""
    column = labels[:, min(k, allowed_count) - 1]
    if len(column) == 0 or column.min() >= 0:
        return NO_ROWS
    return np.flatnonzero(column < 0)


# --- the file format --------------------------------------------------------------------

def write_trailer(path: Path, meta: dict) -> None:
    """Append the JSON description and the trailer to the payload already in ``path``."""
    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    payload_len = path.stat().st_size
    crc = _crc_file(path, payload_len)
    crc = zlib.crc32(meta_bytes, crc)
    with open(path, "ab") as out:
        out.write(meta_bytes)
        out.write(TRAILER.pack(payload_len, len(meta_bytes), crc, MAGIC))
        out.flush()
        os.fsync(out.fileno())


def read_trailer(path: str | os.PathLike, *, verify: bool = True) -> tuple[dict, int]:
    """The description and payload length of an index file; StorageCorruptedError if the
    file is truncated, not an index file, or (``verify``) fails its checksum."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as src:
            if size < TRAILER.size:
                raise _corrupt(path, "too short to be an index file")
            src.seek(size - TRAILER.size)
            payload_len, meta_len, crc, magic = TRAILER.unpack(src.read(TRAILER.size))
            if magic != MAGIC:
                raise _corrupt(path, "no index trailer (truncated or not an index file)")
            if payload_len + meta_len + TRAILER.size != size:
                raise _corrupt(path, f"size {size} does not match its trailer")
            src.seek(payload_len)
            meta_bytes = src.read(meta_len)
    except OSError as exc:
        raise StorageCorruptedError(f"cannot read index file {path}: {exc}") from exc
    if verify and zlib.crc32(meta_bytes, _crc_file(path, payload_len)) != crc:
        raise _corrupt(path, "checksum mismatch")
    try:
        return json.loads(meta_bytes), payload_len
    except ValueError as exc:
        raise _corrupt(path, "unreadable description") from exc


def _crc_file(path: Path, length: int) -> int:
    crc = 0
    with open(path, "rb") as src:
        remaining = length
        while remaining > 0:
            block = src.read(min(remaining, 1 << 22))
            if not block:
                raise _corrupt(path, "shorter than its payload")
            crc = zlib.crc32(block, crc)
            remaining -= len(block)
    return crc


def _corrupt(path: Path, why: str) -> StorageCorruptedError:
    return StorageCorruptedError(f"index file {path} is corrupted: {why}")


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def publish(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` over ``path`` and make the rename durable."""
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` (64-byte aligned) plus ``meta`` as one index file at ``path``."""
    path = Path(path)
    tmp = temp_path(path)
    layout = {}
    with open(tmp, "wb") as out:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            out.write(b"\0" * (-out.tell() % ALIGN))
            layout[name] = {"offset": out.tell(), "dtype": array.dtype.str,
                            "shape": list(array.shape)}
            out.write(array.tobytes())
    write_trailer(tmp, {**meta, "format": "arrays", "arrays": layout})
    publish(tmp, path)


def read_arrays(path: str | os.PathLike, meta: dict, *, mmap: bool) -> dict[str, np.ndarray]:
    """The arrays of an ``arrays`` index file, memory-mapped read-only when ``mmap``."""
    out = {}
    for name, spec in meta["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if count == 0:
            out[name] = np.zeros(shape, dtype)
        elif mmap:
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=spec["offset"],
                                  shape=shape)
        else:
            out[name] = np.fromfile(path, dtype=dtype, count=count,
                                    offset=spec["offset"]).reshape(shape)
    return out


def gather_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, e)`` for each pair, without a Python loop."""
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shifts = np.repeat(starts.astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    return np.arange(total, dtype=np.int64) + shifts
