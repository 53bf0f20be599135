"""ANN indexes inside the engine: built per sealed segment in the background, persisted,
reloaded memory-mapped, used by search, kept correct under filters, deletes and compaction."""

from __future__ import annotations

import os

import numpy as np
import pytest

from redkite import DataType, MilvusClient, ParamError
from redkite.errors import StorageCorruptedError

DIM = 16
ROWS = 6000  # above the builder's MIN_INDEX_ROWS (4096)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((30, DIM)).astype(np.float32) * 4
    vectors = centres[rng.integers(0, 30, ROWS)] + rng.standard_normal((ROWS, DIM)).astype(
        np.float32)
    queries = vectors[rng.choice(ROWS, 20, replace=False)] + 0.05
    return vectors.astype(np.float32), queries.astype(np.float32)


def make(client, vectors, index_type="HNSW", params=None, metric="L2"):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("cat", DataType.INT64)
    index = client.prepare_index_params()
    index.add_index("v", index_type=index_type, metric_type=metric,
                    params=params if params is not None else {"M": 16, "efConstruction": 64})
    client.create_collection("c", schema=schema, index_params=index)
    client.insert("c", [{"id": i, "v": vectors[i], "cat": i % 100} for i in range(len(vectors))])
    client.flush("c")
    client.create_index("c", index)  # same definition: waits until the segments are built


def exact_top(vectors, queries, k, keep=None):
    distances = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    if keep is not None:
        distances = np.where(keep[None, :], distances, np.inf)
    return np.argsort(distances, axis=1)[:, :k]


def recall(hits, truth):
    return np.mean([len({h["id"] for h in hits[q]} & set(truth[q].tolist())) / truth.shape[1]
                    for q in range(len(truth))])


def index_files(path):
    return [n for _, _, files in os.walk(path) for n in files if n.endswith(".idx")]


def test_sealed_segments_get_an_index_that_search_uses_and_reopen_keeps(tmp_path, data):
    vectors, queries = data
    path = str(tmp_path / "d.db")
    with MilvusClient(path) as c:
        make(c, vectors)
        described = c.describe_index("c", "v")
        assert described["index_type"] == "HNSW" and described["state"] == "Finished"
        assert described["indexed_rows"] == described["total_rows"] == ROWS
        assert described["pending_index_rows"] == 0
        truth = exact_top(vectors, queries, 10)
        assert recall(c.search("c", queries, limit=10,
                               search_params={"params": {"ef": 128}}), truth) >= 0.95
        assert len(index_files(path)) == 1
    with MilvusClient(path) as c:  # loaded from its file, not rebuilt
        assert c.describe_index("c", "v")["pending_index_rows"] == 0
        assert recall(c.search("c", queries, limit=10), truth) >= 0.9


@pytest.mark.parametrize("share", [0.10, 0.01])
def test_filtered_search_returns_only_matching_rows_with_high_recall(tmp_path, data, share):
    vectors, queries = data
    with MilvusClient(str(tmp_path / "d.db")) as c:
        make(c, vectors)
        cats = np.arange(ROWS) % 100
        limit = int(share * 100)
        hits = c.search("c", queries, limit=10, filter=f"cat < {limit}",
                        output_fields=["cat"], search_params={"params": {"ef": 64}})
        assert all(len(q) == 10 for q in hits)
        assert all(h["entity"]["cat"] < limit for q in hits for h in q)
        assert recall(hits, exact_top(vectors, queries, 10, cats < limit)) >= 0.95


def test_deleted_rows_never_come_back_from_the_index(tmp_path, data):
    vectors, queries = data
    with MilvusClient(str(tmp_path / "d.db")) as c:
        make(c, vectors)
        first = c.search("c", queries[:5], limit=5)
        gone = sorted({h["id"] for q in first for h in q})
        c.delete("c", ids=gone)
        again = c.search("c", queries[:5], limit=5)
        assert not {h["id"] for q in again for h in q} & set(gone)
        assert all(len(q) == 5 for q in again)


def test_search_parameters_are_checked_against_the_index(tmp_path, data):
    vectors, _ = data
    with MilvusClient(str(tmp_path / "d.db")) as c:
        make(c, vectors[:500])
        for params, message in (({"ef": 5}, "ef"), ({"nprobe": 8}, "nprobe"),
                                ({"efSearch": 10}, "efSearch")):
            with pytest.raises(ParamError, match=message):
                c.search("c", vectors[:1], limit=10, search_params={"params": params})


def test_drop_index_removes_its_files_and_a_new_definition_is_built(tmp_path, data):
    vectors, queries = data
    path = str(tmp_path / "d.db")
    with MilvusClient(path) as c:
        make(c, vectors)
        assert len(index_files(path)) == 1
        c.release_collection("c")
        c.drop_index("c", "v")
        assert index_files(path) == []
        index = c.prepare_index_params()
        index.add_index("v", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 16})
        c.create_index("c", index)
        c.load_collection("c")
        assert c.describe_index("c", "v")["index_type"] == "IVF_FLAT"
        assert len(index_files(path)) == 1
        hits = c.search("c", queries, limit=10, search_params={"params": {"nprobe": 16}})
        assert recall(hits, exact_top(vectors, queries, 10)) == 1.0


def test_compaction_rebuilds_the_index_of_merged_rows(tmp_path, data):
    vectors, queries = data
    path = str(tmp_path / "d.db")
    with MilvusClient(path) as c:
        make(c, vectors)
        c.delete("c", ids=list(range(0, ROWS, 3)))  # 33% deleted: worth compacting
        c.compact("c")
        index = c.prepare_index_params()
        index.add_index("v", index_type="HNSW", metric_type="L2",
                        params={"M": 16, "efConstruction": 64})
        c.create_index("c", index)  # the same definition: waits for the rebuilt segments
        described = c.describe_index("c", "v")
        assert described["total_rows"] == ROWS - len(range(0, ROWS, 3))
        assert described["pending_index_rows"] == 0
        keep = np.arange(ROWS) % 3 != 0
        hits = c.search("c", queries, limit=10, search_params={"params": {"ef": 128}})
        assert recall(hits, exact_top(vectors, queries, 10, keep)) >= 0.95


def test_a_damaged_index_file_is_reported_at_open(tmp_path, data):
    vectors, _ = data
    path = str(tmp_path / "d.db")
    with MilvusClient(path) as c:
        make(c, vectors)
    name = next(os.path.join(root, n) for root, _, files in os.walk(path)
                for n in files if n.endswith(".idx"))
    with open(name, "r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(StorageCorruptedError, match=os.path.basename(name)):
        MilvusClient(path)


def test_evaluate_recall_measures_the_index_against_exact_search(tmp_path, data):
    vectors, _ = data
    with MilvusClient(str(tmp_path / "d.db")) as c:
        make(c, vectors, params={"M": 4, "efConstruction": 8})  # a deliberately weak graph
        low = c.evaluate_recall("c", sample_size=50, limit=50,
                                search_params={"params": {"ef": 50}})
        high = c.evaluate_recall("c", sample_size=50, limit=50,
                                 search_params={"params": {"ef": 1000}})
        assert low["queries"] == 50 and low["k"] == 50 and low["index_type"] == "HNSW"
        assert low["indexed_segments"] == low["segments"] == 1
        assert 0 < low["recall"] < high["recall"] <= 1.0
        assert set(low["latency_ms"]) == {"index", "exact"}
        assert low["latency_ms"]["exact"]["p50"] > 0
        filtered = c.evaluate_recall("c", sample_size=10, filter="cat == 3")
        assert filtered["queries"] == 10
        with pytest.raises(ParamError, match="sample_size"):
            c.evaluate_recall("c", sample_size=0)
        with pytest.raises(ParamError, match="ef"):
            c.evaluate_recall("c", search_params={"params": {"ef": 1}})
