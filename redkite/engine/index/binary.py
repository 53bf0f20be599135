"""Binary vector indexes (BINARY_VECTOR): BIN_FLAT and BIN_IVF_FLAT, HAMMING and JACCARD.

Vectors are packed bytes (``dim / 8`` per row). Codes are kept padded to whole 64-bit words
so a distance is a XOR/AND/OR and a popcount per word, column-at-a-time in numpy:
HAMMING is ``popcount(a ^ b)``, JACCARD ``1 - popcount(a & b) / popcount(a | b)`` (0 for two
all-zero vectors). faiss has no Jaccard for binary vectors, so both metrics are computed
here; faiss trains the BIN_IVF_FLAT centroids (binary k-means) and assigns rows to lists.

BIN_IVF_FLAT stores the codes grouped by list (``list_offsets``, ``row_ids``), probes the
``nprobe`` lists nearest to each query (Hamming distance to the centroids) and scores their
rows exactly. Queries that come back with fewer than ``min(k, allowed rows)`` results are
answered again over every list, so filtered search returns ``k`` rows whenever it can.
"""

from __future__ import annotations

import os
from typing import Any

import faiss
import numpy as np

from ...errors import ParamError, StorageCorruptedError
from . import registry
from .base import (VectorIndex, check_allowed, check_k, empty_result, fill_row, gather_ranges,
                   read_arrays, short_queries, write_arrays)

MIN_POINTS_PER_LIST = 39
WORD = 8
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a (m, W) uint64 matrix, as int64."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _POPCOUNT8[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


def binary_distances(query: np.ndarray, codes: np.ndarray, metric: str) -> np.ndarray:
    """HAMMING or JACCARD distances (float32) of one query (W words) to ``codes`` (m, W)."""
    if metric == "HAMMING":
        return popcount_rows(codes ^ query).astype(np.float32)
    inter = popcount_rows(codes & query)
    union = popcount_rows(codes | query)
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return (1.0 - similarity).astype(np.float32)


def pack_words(vectors: np.ndarray, nbytes: int) -> np.ndarray:
    """Packed uint8 rows padded with zero bytes to whole 64-bit words, as (n, W) uint64."""
    rows = np.asarray(vectors)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != nbytes:
        raise ParamError(f"binary vectors must be packed uint8 of shape (n, {nbytes}), got "
                         f"{rows.dtype} {rows.shape}")
    pad = -nbytes % WORD
    if pad:
        rows = np.concatenate([rows, np.zeros((len(rows), pad), np.uint8)], axis=1)
    return np.ascontiguousarray(rows).view(np.uint64)


class BinaryIndex(VectorIndex):
    """BIN_FLAT (one list holding every row) or BIN_IVF_FLAT over packed binary vectors."""

    def __init__(self, *, index_type: str, declared_type: str, metric: str, params: dict,
                 dim: int, words: np.ndarray, row_ids: np.ndarray | None,
                 list_offsets: np.ndarray, centroids: np.ndarray | None,
                 effective: dict) -> None:
        self.kind = "binary"
        self.index_type = index_type
        self.declared_type = declared_type
        self.metric = metric
        self.params = dict(params)
        self.effective = dict(effective)
        self.dim = dim
        self.num_rows = len(words)
        self.exact_below = 0.0 if index_type == "BIN_FLAT" else 0.01
        self.words = words
        self.row_ids = row_ids
        self.list_offsets = list_offsets
        self.centroids = centroids
        self.quantizer = None
        if centroids is not None:
            self.quantizer = faiss.IndexBinaryFlat(dim)
            self.quantizer.add(np.ascontiguousarray(centroids))

    @property
    def nbytes_per_row(self) -> int:
        return self.dim // 8

    def search(self, queries: Any, k: int, search_params: dict | None = None,
               allowed: np.ndarray | None = None, *, bm25=None):
        if bm25 is not None:
            raise ParamError("binary vectors have no BM25 metric")
        k = check_k(k)
        query_words = pack_words(queries, self.nbytes_per_row)
        params = registry.normalize_search_params(self.declared_type, self.metric,
                                                  search_params, limit=k)
        allowed = check_allowed(allowed, self.num_rows)
        count = self.num_rows if allowed is None else int(np.count_nonzero(allowed))
        distances, labels = empty_result(len(query_words), k, self.metric)
        if count == 0:
            return distances, labels
        nlist = len(self.list_offsets) - 1
        nprobe = min(int(params.get("nprobe", 8)), nlist)
        if allowed is not None and count < self.exact_below * self.num_rows:
            nprobe = nlist
        self._search_lists(query_words, k, nprobe, allowed, distances, labels)
        short = short_queries(labels, k, count)
        if short.size and nprobe < nlist:
            sub_d, sub_l = empty_result(len(short), k, self.metric)
            self._search_lists(query_words[short], k, nlist, allowed, sub_d, sub_l)
            distances[short], labels[short] = sub_d, sub_l
        return distances, labels

    def _search_lists(self, query_words: np.ndarray, k: int, nprobe: int,
                      allowed: np.ndarray | None, distances: np.ndarray,
                      labels: np.ndarray) -> None:
        nlist = len(self.list_offsets) - 1
        probes = None
        if nprobe < nlist:
            probes = self.quantizer.search(query_words.view(np.uint8)[:, :self.nbytes_per_row],
                                           nprobe)[1]
        for q, query in enumerate(query_words):
            positions = self._positions(None if probes is None else probes[q])
            rows = positions if self.row_ids is None else self.row_ids[positions]
            if allowed is not None:
                keep = allowed[rows]
                positions, rows = positions[keep], rows[keep]
            scores = binary_distances(query, self.words[positions], self.metric)
            fill_row(distances, labels, q, rows.astype(np.int64), scores, k, larger=False)

    def _positions(self, probes: np.ndarray | None) -> np.ndarray:
        """Positions (in list order) of the rows of the probed lists (all when None)."""
        if probes is None:
            return np.arange(self.num_rows, dtype=np.int64)
        probes = probes[probes >= 0]
        return gather_ranges(self.list_offsets[probes], self.list_offsets[probes + 1])

    def save(self, path: str | os.PathLike) -> None:
        arrays = {"words": self.words, "list_offsets": self.list_offsets}
        if self.row_ids is not None:
            arrays.update(row_ids=self.row_ids, centroids=self.centroids)
        write_arrays(path, arrays, {**self.describe(), "effective": self.effective})

    @classmethod
    def load(cls, path: str | os.PathLike, meta: dict, *, mmap: bool) -> "BinaryIndex":
        arrays = read_arrays(path, meta, mmap=mmap)
        words = arrays["words"]
        if words.shape[0] != meta["num_rows"] or words.dtype != np.uint64:
            raise StorageCorruptedError(f"index file {path} is corrupted: codes of shape "
                                        f"{words.shape}, {meta['num_rows']} rows described")
        return cls(index_type=meta["index_type"], declared_type=meta["declared_type"],
                   metric=meta["metric"], params=meta["params"], dim=meta["dim"],
                   words=words, row_ids=arrays.get("row_ids"),
                   list_offsets=arrays["list_offsets"], centroids=arrays.get("centroids"),
                   effective=meta["effective"])

    def memory_bytes(self) -> int:
        parts = (self.words, self.row_ids, self.list_offsets, self.centroids)
        return int(sum(part.nbytes for part in parts if part is not None))


def build_binary(index_type: str, declared_type: str, metric: str, params: dict,
                 vectors: np.ndarray) -> BinaryIndex:
    """Build BIN_FLAT or BIN_IVF_FLAT over packed uint8 ``vectors`` of shape (n, dim/8)."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.dtype != np.uint8 or 0 in vectors.shape:
        raise ParamError(f"cannot build {index_type} over {vectors.dtype} vectors of shape "
                         f"{vectors.shape}: need packed uint8 rows, at least one")
    n, nbytes = vectors.shape
    dim = nbytes * 8
    words = pack_words(vectors, nbytes)
    common = dict(index_type=index_type, declared_type=declared_type, metric=metric,
                  params=params, dim=dim)
    if index_type == "BIN_FLAT":
        return BinaryIndex(**common, words=words, row_ids=None,
                           list_offsets=np.array([0, n], np.int64), centroids=None,
                           effective={})
    if index_type != "BIN_IVF_FLAT":
        raise ParamError(f"index type {index_type} is not a binary index type")
    nlist = max(1, min(int(params["nlist"]), n // MIN_POINTS_PER_LIST))
    centroids, assignment = _train_lists(np.ascontiguousarray(vectors), dim, nlist)
    order = np.argsort(assignment, kind="stable")
    offsets = np.zeros(nlist + 1, np.int64)
    np.cumsum(np.bincount(assignment, minlength=nlist), out=offsets[1:])
    return BinaryIndex(**common, words=np.ascontiguousarray(words[order]),
                       row_ids=order.astype(np.int64), list_offsets=offsets,
                       centroids=centroids, effective={"nlist": nlist})


def _train_lists(vectors: np.ndarray, dim: int, nlist: int) -> tuple[np.ndarray, np.ndarray]:
    """Binary k-means centroids (nlist, dim/8) and each row's list."""
    quantizer = faiss.IndexBinaryFlat(dim)
    ivf = faiss.IndexBinaryIVF(quantizer, dim, nlist)
    ivf.cp.min_points_per_centroid = 1
    ivf.train(vectors)
    centroids = np.ascontiguousarray(quantizer.reconstruct_n(0, nlist))
    assignment = quantizer.search(vectors, 1)[1][:, 0]
    return centroids, assignment.astype(np.int64)
