"""Saving and loading indexes: identical results after a round trip, corruption detected."""

from __future__ import annotations

import numpy as np
import pytest

from redkite.engine.index import Bm25Context, CsrMatrix, build_index, load_index
from redkite.engine.index.base import read_trailer, write_trailer
from redkite.errors import StorageCorruptedError

RNG = np.random.default_rng(11)
DENSE = RNG.normal(size=(600, 16)).astype(np.float32)
BINARY = RNG.integers(0, 256, size=(600, 4)).astype(np.uint8)
COUNTS = RNG.integers(1, 6, 600)
SPARSE = CsrMatrix(np.concatenate([[0], np.cumsum(COUNTS)]).astype(np.int64),
                   np.concatenate([np.sort(RNG.choice(50, c, replace=False)) for c in COUNTS])
                   .astype(np.uint32),
                   RNG.integers(1, 4, COUNTS.sum()).astype(np.float32))
QUERY_SPARSE = CsrMatrix(np.array([0, 2, 3]), np.array([3, 7, 20], np.uint32),
                         np.array([1.0, 2.0, 1.0], np.float32))
BM25 = Bm25Context(avgdl=float(SPARSE.values.sum() / 600), idf=lambda t: np.log1p(t + 1.0))

CASES = {
    "HNSW": ("HNSW", "L2", {"M": 8, "efConstruction": 32}, DENSE, DENSE[:5], None),
    "HNSW_SQ": ("HNSW_SQ", "COSINE", {"M": 8, "efConstruction": 32, "refine": True},
                DENSE, DENSE[:5], None),
    "IVF_PQ": ("IVF_PQ", "IP", {"nlist": 8, "m": 4, "nbits": 4}, DENSE, DENSE[:5], None),
    "IVF_RABITQ": ("IVF_RABITQ", "L2", {"nlist": 8, "refine": True}, DENSE, DENSE[:5], None),
    "SCANN": ("SCANN", "L2", {"nlist": 8}, DENSE, DENSE[:5], None),
    "BIN_IVF_FLAT": ("BIN_IVF_FLAT", "JACCARD", {"nlist": 8}, BINARY, BINARY[:5], None),
    "BIN_FLAT": ("BIN_FLAT", "HAMMING", {}, BINARY, BINARY[:5], None),
    "SPARSE": ("SPARSE_INVERTED_INDEX", "BM25", {}, SPARSE, QUERY_SPARSE, BM25),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def built(request):
    index_type, metric, params, data, queries, bm25 = CASES[request.param]
    return build_index(index_type, metric, params, data), queries, bm25


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_gives_identical_results(built, tmp_path, mmap):
    index, queries, bm25 = built
    path = tmp_path / "segment.idx"
    index.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["segment.idx"], "no temp file left"
    loaded = load_index(path, mmap=mmap)
    assert type(loaded) is type(index)
    for attribute in ("index_type", "declared_type", "metric", "params", "num_rows", "dim",
                      "kind", "exact_below"):
        assert getattr(loaded, attribute) == getattr(index, attribute), attribute
    assert loaded.memory_bytes() > 0
    allowed = np.random.default_rng(0).random(index.num_rows) < 0.3
    for mask in (None, allowed):
        want = index.search(queries, 5, {}, mask, bm25=bm25)
        got = loaded.search(queries, 5, {}, mask, bm25=bm25)
        assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0])


def test_sparse_and_binary_load_memory_mapped(tmp_path):
    for name in ("SPARSE", "BIN_IVF_FLAT"):
        index_type, metric, params, data, _, _ = CASES[name]
        build_index(index_type, metric, params, data).save(tmp_path / name)
        loaded = load_index(tmp_path / name, mmap=True)
        arrays = [loaded.post_rows] if name == "SPARSE" else [loaded.words, loaded.row_ids]
        assert all(isinstance(array, np.memmap) for array in arrays)
        assert not any(array.flags.writeable for array in arrays)


def saved(tmp_path, name="HNSW"):
    index_type, metric, params, data, _, _ = CASES[name]
    path = tmp_path / f"{name}.idx"
    build_index(index_type, metric, params, data).save(path)
    return path


@pytest.mark.parametrize("name", ["HNSW", "SPARSE", "BIN_FLAT"])
def test_truncated_file_is_reported_by_name(tmp_path, name):
    path = saved(tmp_path, name)
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 1, 10, 0):
        path.write_bytes(data[:keep])
        for verify in (True, False):
            with pytest.raises(StorageCorruptedError) as caught:
                load_index(path, verify=verify)
            assert str(path) in caught.value.message and caught.value.code == 1001


@pytest.mark.parametrize("name", ["HNSW", "SPARSE"])
def test_altered_byte_fails_the_checksum(tmp_path, name):
    path = saved(tmp_path, name)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StorageCorruptedError, match="checksum"):
        load_index(path)


def test_foreign_file_and_missing_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not an index at all, just some words" * 10)
    with pytest.raises(StorageCorruptedError, match="notes.txt"):
        load_index(path)
    with pytest.raises(StorageCorruptedError, match="missing.idx"):
        load_index(tmp_path / "missing.idx")


def test_faiss_payload_that_faiss_cannot_read(tmp_path):
    path = saved(tmp_path)
    meta_source = load_index(path).describe()
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"IHNf" + bytes(200))
    write_trailer(bad, {**meta_source, "format": "faiss", "effective": {}})
    with pytest.raises(StorageCorruptedError, match="bad.idx.*faiss cannot read"):
        load_index(bad)


def test_description_that_disagrees_with_the_payload(tmp_path):
    path = saved(tmp_path)
    meta = {**load_index(path).describe(), "num_rows": 5, "format": "faiss", "effective": {}}
    payload = path.read_bytes()
    lying = tmp_path / "lying.idx"
    lying.write_bytes(payload[:read_trailer(path)[1]])
    write_trailer(lying, meta)
    with pytest.raises(StorageCorruptedError, match="lying.idx"):
        load_index(lying)

