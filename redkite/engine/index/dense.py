"""Dense vector indexes (float and int8 vectors) served by faiss.

=============  ======================================================================
FLAT           ``IndexFlat`` (exact)
IVF_FLAT       ``IndexIVFFlat``
IVF_SQ8        ``IndexIVFScalarQuantizer`` with 8-bit codes
IVF_PQ         ``IndexIVFPQ`` (``m`` sub-quantizers of ``nbits`` bits)
IVF_RABITQ     ``IndexIVFRaBitQ``, optionally re-ranked by a refine index (``refine_type``)
SCANN          ``IndexIVFPQFastScan`` (``dim / sub_dim`` 4-bit sub-quantizers) re-ranked
               over the raw vectors when ``with_raw_data`` (``IndexRefineFlat``). faiss has
               no ScaNN: this reproduces its structure (partitioning, fast-scan
               quantization, exact re-ranking of ``reorder_k`` candidates), not its
               anisotropic quantizer.
HNSW           ``IndexHNSWFlat``
HNSW_SQ        ``IndexHNSWSQ`` (SQ6/SQ8/FP16/BF16 codes), optional refine
HNSW_PQ        ``IndexHNSWPQ``, optional refine
=============  ======================================================================

COSINE is served as inner product over L2-normalized vectors (build and query), so its
distances are cosine similarities. int8 vectors are searched as float32.

Filtered search passes the ``allowed`` mask to faiss as an ``IDSelectorBitmap`` in the
search parameters, so the index returns only allowed rows; under 10% allowed rows an HNSW
walk widens ``ef`` (see FILTER_EF_FRACTION). Queries that still come back
with fewer than ``min(k, allowed rows)`` results (a graph walk or the probed IVF lists
held too few allowed rows), and every query when the allowed fraction is below
``exact_below``, are answered exhaustively over the index's own codes: all lists probed
for IVF indexes, every allowed row scored for HNSW indexes. IVF training uses
``min(nlist, n // 39)`` lists (at least one), as knowhere does for small segments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import faiss
import numpy as np

from ...errors import ParamError, StorageCorruptedError
from . import registry
from .base import (VectorIndex, check_allowed, check_k, empty_result, exact_dense, publish,
                   short_queries, temp_path, worst_distance, write_trailer)

SQ_TYPES = {"SQ6": faiss.ScalarQuantizer.QT_6bit, "SQ8": faiss.ScalarQuantizer.QT_8bit,
            "FP16": faiss.ScalarQuantizer.QT_fp16, "BF16": faiss.ScalarQuantizer.QT_bf16}
IVF_TYPES = frozenset({"IVF_FLAT", "IVF_SQ8", "IVF_PQ", "IVF_RABITQ", "SCANN"})
HNSW_TYPES = frozenset({"HNSW", "HNSW_SQ", "HNSW_PQ"})
DENSE_TYPES = IVF_TYPES | HNSW_TYPES | {"FLAT"}
MIN_POINTS_PER_LIST = 39
FASTSCAN_NBITS = 4
# Allowed-row fractions under which a filtered search scores every allowed row instead of
# walking the graph / probing a few lists. Measured on 100k x 128 clustered vectors
# (bench/index_faiss.py): a filtered HNSW walk keeps recall@10 >= 0.97 down to 5% allowed
# rows but falls to 0.77 at 2% and 0.47 at 1%, where scoring the allowed rows costs about
# as much as the walk (0.2 ms at 2%).
EXACT_BELOW = {"FLAT": 0.0, **{t: 0.03 for t in HNSW_TYPES}, **{t: 0.02 for t in IVF_TYPES}}
# A filtered HNSW walk widens ef by FILTER_EF_FRACTION / fraction (at most
# FILTER_EF_MAX_SCALE times): the walk visits about as many allowed candidates as an
# unfiltered one. On 100k x 128 data of 1000 gaussian clusters (bench/search.py), ef 64 at
# 10% allowed gives recall@10 0.69 unwidened and >= 0.95 widened; at 1% the exact path runs.
FILTER_EF_FRACTION = 1.0
FILTER_EF_MAX_SCALE = 16.0
# A visited graph node costs about this many scanned rows (bookkeeping, random access).
WALK_COST_FACTOR = 2.0
# Below this many queries faiss runs on the calling thread only (one query cannot use more
# than one thread, and the OpenMP fork costs a few microseconds).
PARALLEL_MIN_QUERIES = 8
# Below this many rows a build runs on one thread: training and graph building on a small
# segment gain nothing from a second thread, and spinning OpenMP workers on a busy machine
# made 2000-row builds ten times slower in our runs.
PARALLEL_MIN_BUILD_ROWS = 20000
PARALLEL_MIN_WORK = 1_000_000  # queries x rows
# Builds add rows in chunks of this many, checking between chunks whether the database is
# closing: a build then stops within a few seconds instead of running on in a daemon
# thread that the interpreter would kill mid-faiss at exit (an abort, not a clean exit).
ADD_CHUNK_ROWS = 16384
MAX_THREADS = faiss.omp_get_max_threads()


def set_threads(nq: int, rows: int) -> None:
    """One OpenMP thread for small batches or small segments, all of them otherwise.

    The setting is per calling thread (an OpenMP internal control variable), so concurrent
    searches on other threads are not affected.
    """
    small = nq < PARALLEL_MIN_QUERIES or nq * rows < PARALLEL_MIN_WORK
    faiss.omp_set_num_threads(1 if small else MAX_THREADS)


class DenseIndex(VectorIndex):
    """A faiss index over float32 (or int8, converted) vectors of one segment."""

    def __init__(self, index: faiss.Index, *, kind: str, index_type: str, declared_type: str,
                 metric: str, params: dict, effective: dict, keep: tuple = ()) -> None:
        self.index = index
        self.kind = kind
        self.index_type = index_type
        self.declared_type = declared_type
        self.metric = metric
        self.params = dict(params)
        self.effective = dict(effective)
        self.num_rows = int(index.ntotal)
        self.dim = int(index.d)
        self.exact_below = EXACT_BELOW[index_type]
        self._keep = keep  # faiss sub-indexes built in Python must outlive the index
        self._refine = isinstance(index, faiss.IndexRefine)
        base = faiss.downcast_index(index.base_index if self._refine else index)
        self._nlist = int(base.nlist) if isinstance(base, faiss.IndexIVF) else 0
        self._rabitq = isinstance(base, faiss.IndexIVFRaBitQ)
        self._hnsw = isinstance(base, faiss.IndexHNSW)

    # --- search -----------------------------------------------------------------------

    def search(self, queries: Any, k: int, search_params: dict | None = None,
               allowed: np.ndarray | None = None, *, bm25=None):
        if bm25 is not None:
            raise ParamError(f"a {self.index_type} index on dense vectors has no BM25 metric")
        k = check_k(k)
        queries = self.prepare_queries(queries)
        params = registry.normalize_search_params(self.declared_type, self.metric,
                                                  search_params, limit=k)
        allowed = check_allowed(allowed, self.num_rows)
        count = self.num_rows if allowed is None else int(np.count_nonzero(allowed))
        if count == 0 or len(queries) == 0:
            return empty_result(len(queries), k, self.metric)
        set_threads(len(queries), self.num_rows)
        fraction = count / self.num_rows
        if allowed is not None and (count < self.exact_below * self.num_rows
                                    or self._scan_is_cheaper(k, params, fraction, count)):
            return self._exhaustive(queries, k, params, allowed)
        distances, labels = self._faiss_search(queries, k, params, allowed, exhaustive=False,
                                               fraction=fraction)
        short = short_queries(labels, k, count)
        if short.size:
            distances[short], labels[short] = self._exhaustive(queries[short], k, params,
                                                               allowed)
        return distances, labels

    def prepare_queries(self, queries: Any) -> np.ndarray:
        """Queries as C-contiguous float32 (nq, dim), normalized for COSINE."""
        queries = np.asarray(queries)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ParamError(f"queries must have shape (nq, {self.dim}), got {queries.shape}")
        if self.kind == "int8" and queries.dtype != np.int8:
            raise ParamError(f"queries on an INT8_VECTOR index must be int8, got "
                             f"{queries.dtype}")
        return as_float_rows(queries, self.metric == "COSINE")

    def _faiss_search(self, queries: np.ndarray, k: int, params: dict,
                      allowed: np.ndarray | None, *, exhaustive: bool, fraction: float = 1.0):
        bitmap = None if allowed is None else np.packbits(allowed, bitorder="little")
        selector = None if bitmap is None else faiss.IDSelectorBitmap(
            self.num_rows, faiss.swig_ptr(bitmap))
        search_params = self._search_parameters(k, params, selector, exhaustive, fraction)
        distances, labels = self.index.search(queries, k, params=search_params)
        if labels[:, -1].min() < 0:
            distances[labels < 0] = worst_distance(self.metric)
        return distances, labels

    def _search_parameters(self, k: int, params: dict, selector, exhaustive: bool,
                           fraction: float):
        if self._nlist:
            nlist = self._nlist
            nprobe = nlist if exhaustive else min(int(params.get("nprobe", 8)), nlist)
            if self._rabitq:
                base_params = faiss.IVFRaBitQSearchParameters()
                base_params.nprobe = nprobe
                base_params.qb = int(params.get("rbq_bits_query", 0))
            else:
                base_params = faiss.SearchParametersIVF(nprobe=nprobe)
        elif self._hnsw:
            base_params = faiss.SearchParametersHNSW(
                efSearch=self._filtered_ef(k, params, fraction))
        else:
            base_params = faiss.SearchParameters()
        if selector is not None:
            base_params.sel = selector
        if not self._refine:
            return base_params
        return faiss.IndexRefineSearchParameters(k_factor=self._k_factor(k, params),
                                                 base_index_params=base_params)

    def _filtered_ef(self, k: int, params: dict, fraction: float) -> int:
        ef = self._ef(k, params)
        if fraction < FILTER_EF_FRACTION:
            ef = int(ef * min(FILTER_EF_MAX_SCALE, FILTER_EF_FRACTION / fraction))
        return ef

    def _scan_is_cheaper(self, k: int, params: dict, fraction: float, count: int) -> bool:
        """A filtered graph walk visits about ef x M nodes (each a distance computation
        plus graph bookkeeping); scoring the ``count`` allowed rows costs ``count``
        distances in one matrix product. Take the scan when it is the smaller job."""
        if not self._hnsw:
            return False
        walk = self._filtered_ef(k, params, fraction) * int(self.params.get("M", 16))
        return count <= WALK_COST_FACTOR * walk

    def _ef(self, k: int, params: dict) -> int:
        if "ef" in params:
            return int(params["ef"])
        if "level" in params:
            return registry.autoindex_ef(params["level"], k)
        return max(k, registry.EF_MIN_DEFAULT)

    def _k_factor(self, k: int, params: dict) -> float:
        if self.index_type == "SCANN":
            return max(1.0, float(params.get("reorder_k", k)) / k)
        return float(params.get("refine_k", 1.0))

    def _exhaustive(self, queries: np.ndarray, k: int, params: dict,
                    allowed: np.ndarray | None):
        """Answer ``queries`` over every (allowed) row: all IVF lists, or every HNSW node."""
        if self.index_type not in HNSW_TYPES:
            return self._faiss_search(queries, k, params, allowed, exhaustive=True)
        rows = (np.arange(self.num_rows, dtype=np.int64) if allowed is None
                else np.flatnonzero(allowed).astype(np.int64))
        metric = "L2" if self.metric == "L2" else "IP"
        return exact_dense(queries, self._reconstruct, rows, k, metric)

    def _reconstruct(self, rows: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(rows)

    # --- persistence and accounting ---------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        tmp = temp_path(path)
        faiss.write_index(self.index, str(tmp))
        write_trailer(tmp, {**self.describe(), "format": "faiss",
                            "effective": self.effective})
        publish(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike, meta: dict, *, mmap: bool) -> "DenseIndex":
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            raise StorageCorruptedError(f"index file {path} is corrupted: faiss cannot "
                                        f"read it ({str(exc).splitlines()[0]})") from exc
        if index.ntotal != meta["num_rows"] or index.d != meta["dim"]:
            raise StorageCorruptedError(f"index file {path} is corrupted: it holds "
                                        f"{index.ntotal} x {index.d}, its description "
                                        f"{meta['num_rows']} x {meta['dim']}")
        return cls(index, kind=meta["kind"], index_type=meta["index_type"],
                   declared_type=meta["declared_type"], metric=meta["metric"],
                   params=meta["params"], effective=meta["effective"])

    def memory_bytes(self) -> int:
        return faiss_bytes(self.index)

    # --- growth -------------------------------------------------------------------------

    def extended(self, vectors: Any,
                 should_stop: Callable[[], bool] | None = None) -> "DenseIndex":
        """A new in-memory index: this one's rows (labels ``0..n-1``) followed by
        ``vectors`` (labels ``n..``), built by adding to a copy of the trained structure
        (graph, lists, quantizers) instead of rebuilding it. The index it came from is
        left as it was (it may be memory-mapped read-only). ``should_stop`` is polled
        between chunks of rows (:class:`BuildCancelled` when it answers true)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ParamError(f"cannot extend a {self.dim}-d {self.index_type} index with "
                             f"vectors of shape {vectors.shape}")
        copy = faiss.deserialize_index(faiss.serialize_index(self.index))
        data = as_float_rows(vectors, self.metric == "COSINE")
        faiss.omp_set_num_threads(1 if len(data) < PARALLEL_MIN_BUILD_ROWS else MAX_THREADS)
        add_in_chunks(copy, data, should_stop)
        return DenseIndex(copy, kind=self.kind, index_type=self.index_type,
                          declared_type=self.declared_type, metric=self.metric,
                          params=self.params, effective=self.effective)


def as_float_rows(vectors: np.ndarray, normalize: bool) -> np.ndarray:
    """``vectors`` as a C-contiguous float32 matrix, L2-normalized when ``normalize``."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    if normalize:
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return rows


def faiss_bytes(index: faiss.Index) -> int:
    """Approximate bytes held by a faiss index: codes, ids, graph links, centroids."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        return faiss_bytes(index.base_index) + faiss_bytes(index.refine_index)
    if isinstance(index, faiss.IndexHNSW):
        hnsw = index.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return graph + faiss_bytes(index.storage)
    if isinstance(index, faiss.IndexIVF):
        return index.ntotal * (index.code_size + 8) + faiss_bytes(index.quantizer)
    return int(index.ntotal * index.sa_code_size())


# --- building -----------------------------------------------------------------------------

class BuildCancelled(Exception):
    """A build stopped because its ``should_stop`` answered true (the database closes)."""


def add_in_chunks(index: faiss.Index, data: np.ndarray,
                  should_stop: Callable[[], bool] | None) -> None:
    """``index.add(data)``, :data:`ADD_CHUNK_ROWS` rows at a time, polling ``should_stop``."""
    for start in range(0, len(data), ADD_CHUNK_ROWS):
        if should_stop is not None and should_stop():
            raise BuildCancelled("the index build was cancelled: the database is closing")
        index.add(data[start:start + ADD_CHUNK_ROWS])


def build_dense(kind: str, index_type: str, declared_type: str, metric: str, params: dict,
                vectors: np.ndarray,
                should_stop: Callable[[], bool] | None = None) -> DenseIndex:
    """Build a dense index of ``index_type`` over ``vectors`` (float32, or int8 for kind
    ``int8``) with normalized build ``params``."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise ParamError(f"cannot build {index_type} over vectors of shape {vectors.shape}: "
                         f"need at least one row of dimension >= 1")
    n, dim = vectors.shape
    data = as_float_rows(vectors, metric == "COSINE")
    fmetric = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT
    faiss.omp_set_num_threads(1 if n < PARALLEL_MIN_BUILD_ROWS else MAX_THREADS)
    if index_type in ("HNSW_SQ", "HNSW_PQ"):
        index, effective, keep = _build_quantized_hnsw(index_type, fmetric, params, data,
                                                       should_stop)
    else:
        index, effective, keep = _make(index_type, fmetric, params, n, dim)
        if not index.is_trained:
            index.train(_training_rows(data, effective))
        add_in_chunks(index, data, should_stop)
    return DenseIndex(index, kind=kind, index_type=index_type, declared_type=declared_type,
                      metric=metric, params=params, effective=effective, keep=keep)


def _build_quantized_hnsw(index_type: str, fmetric: int, params: dict, data: np.ndarray,
                          should_stop: Callable[[], bool] | None = None):
    """HNSW_SQ / HNSW_PQ whose graph is built over the float vectors, then given quantized
    storage (as knowhere does: faiss's PQ symmetric distances would mis-build an IP graph,
    and exact distances make a better graph for either)."""
    n, dim = data.shape
    donor = faiss.IndexHNSWFlat(dim, params["M"], fmetric)
    donor.hnsw.efConstruction = int(params["efConstruction"])
    add_in_chunks(donor, data, should_stop)
    effective = {}
    if index_type == "HNSW_SQ":
        base = faiss.IndexHNSWSQ(dim, SQ_TYPES[params["sq_type"]], params["M"], fmetric)
    else:
        _check_divides(index_type, "m", params["m"], dim)
        base = faiss.IndexHNSWPQ(dim, params["m"], params["M"], params["nbits"], fmetric)
        effective["pq_train_rows"] = 1 << params["nbits"]
        _quiet_clustering(base)
    base.train(_training_rows(data, effective))
    base.storage.add(data)
    base.hnsw = donor.hnsw
    base.ntotal = n
    refine = _refine_index(index_type, params, fmetric, dim)
    if refine is None:
        return base, effective, ()
    if not refine.is_trained:
        refine.train(data)
    refine.add(data)
    return faiss.IndexRefine(base, refine), effective, (base, refine)


def _make(index_type: str, fmetric: int, params: dict, n: int, dim: int):
    """(empty faiss index, effective parameters, Python-held sub-indexes)."""
    if index_type == "FLAT":
        return faiss.IndexFlat(dim, fmetric), {}, ()
    if index_type == "HNSW":
        index = faiss.IndexHNSWFlat(dim, params["M"], fmetric)
        index.hnsw.efConstruction = int(params["efConstruction"])
        return index, {}, ()
    if index_type not in IVF_TYPES:
        raise ParamError(f"index type {index_type} is not a dense index type")
    nlist = max(1, min(int(params["nlist"]), n // MIN_POINTS_PER_LIST))
    quantizer = faiss.IndexFlat(dim, fmetric)
    effective = {"nlist": nlist}
    if index_type == "IVF_FLAT":
        base = faiss.IndexIVFFlat(quantizer, dim, nlist, fmetric)
    elif index_type == "IVF_SQ8":
        base = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, SQ_TYPES["SQ8"], fmetric)
    elif index_type == "IVF_PQ":
        _check_divides(index_type, "m", params["m"], dim)
        base = faiss.IndexIVFPQ(quantizer, dim, nlist, params["m"], params["nbits"], fmetric)
        effective["pq_train_rows"] = 1 << params["nbits"]
    elif index_type == "IVF_RABITQ":
        base = faiss.IndexIVFRaBitQ(quantizer, dim, nlist, fmetric)
    else:
        _check_divides(index_type, "sub_dim", params["sub_dim"], dim)
        base = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, dim // params["sub_dim"],
                                        FASTSCAN_NBITS, fmetric)
        effective["pq_train_rows"] = 1 << FASTSCAN_NBITS
    _quiet_clustering(base)
    refine = _refine_index(index_type, params, fmetric, dim)
    if refine is None:
        return base, effective, (quantizer,)
    return faiss.IndexRefine(base, refine), effective, (quantizer, base, refine)


def _refine_index(index_type: str, params: dict, fmetric: int, dim: int):
    if index_type == "SCANN":
        return faiss.IndexFlat(dim, fmetric) if params["with_raw_data"] else None
    if not params.get("refine"):
        return None
    refine_type = params["refine_type"]
    if refine_type == "FP32":
        return faiss.IndexFlat(dim, fmetric)
    return faiss.IndexScalarQuantizer(dim, SQ_TYPES[refine_type], fmetric)


def _check_divides(index_type: str, name: str, value: int, dim: int) -> None:
    if dim % value:
        raise ParamError(f"parameter {name!r} of index type {index_type} must divide the "
                         f"vector dimension: dim {dim} is not a multiple of {value}")


def _quiet_clustering(index: faiss.Index) -> None:
    """Let k-means run on small segments without faiss's stderr warnings."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIVF):
        index.cp.min_points_per_centroid = 1
    pq = getattr(index, "pq", None)
    if pq is None and isinstance(index, faiss.IndexHNSW):
        pq = getattr(faiss.downcast_index(index.storage), "pq", None)
    if pq is not None:
        pq.cp.min_points_per_centroid = 1


def _training_rows(data: np.ndarray, effective: dict) -> np.ndarray:
    """The training set: ``data``, repeated when PQ needs more points than the segment has."""
    need = effective.get("pq_train_rows", 0)
    if len(data) >= need:
        return data
    return np.ascontiguousarray(np.resize(data, (need, data.shape[1])))
