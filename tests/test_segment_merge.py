"""Small sealed segments merge once a collection settles, and a merge extends the index of
its largest clean source instead of rebuilding it (fewer segments = fewer index searches
per query; a rebuild of a large HNSW graph costs minutes)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from redkite import DataType, MilvusClient
from redkite.engine.index.factory import build_index
from redkite.engine.storage import compaction

DIM = 16
ROWS = 5000  # above the builder's MIN_INDEX_ROWS (4096)


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((40, DIM)).astype(np.float32) * 3
    return (centres[rng.integers(0, 40, 3 * ROWS)]
            + rng.standard_normal((3 * ROWS, DIM)).astype(np.float32))


def _collection(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("v", index_type="HNSW", metric_type="L2",
                    params={"M": 16, "efConstruction": 64})
    client.create_collection("c", schema=schema, index_params=index)
    return index


def _load(client, vectors, start, stop):
    client.insert("c", [{"id": i, "v": vectors[i]} for i in range(start, stop)])
    client.flush("c")


def _sealed(client):
    collection = client._transport._database().collections[("default", "c")]
    return collection.store


def _wait_for_segments(store, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while len(store.sealed) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(store.sealed)


def _recall(client, vectors, queries, rows):
    hits = client.search("c", queries, limit=10, search_params={"params": {"ef": 128}})
    distances = ((queries[:, None, :] - vectors[None, :rows, :]) ** 2).sum(-1)
    truth = np.argsort(distances, axis=1)[:, :10]
    return np.mean([len({h["id"] for h in hits[q]} & set(truth[q].tolist())) / 10
                    for q in range(len(queries))])


def test_flushed_small_segments_merge_and_the_index_is_extended_not_rebuilt(tmp_path,
                                                                            vectors):
    path = str(tmp_path / "m.db")
    queries = vectors[:: 3 * ROWS // 25][:25] + 0.01
    with MilvusClient(path) as client:
        index = _collection(client)
        _load(client, vectors, 0, 2 * ROWS)
        client.create_index("c", index)  # waits: the first segment has its graph
        store = _sealed(client)
        first = store.sealed[0]
        assert first.num_rows == 2 * ROWS
        _load(client, vectors, 2 * ROWS, 3 * ROWS)  # a second, smaller segment; settled
        assert _wait_for_segments(store, 1) == 1
        merged = store.sealed[0]
        assert merged.num_rows == 3 * ROWS
        assert merged.table.column("id")[0].as_py() == 0  # the indexed rows come first
        (entry,) = store.segment_indexes(merged.segment_id)
        assert entry.index.num_rows == 3 * ROWS
        assert ".m" in entry.file_name  # carried from the first segment's index
        assert client.describe_index("c", "v")["pending_index_rows"] == 0
        assert _recall(client, vectors, queries, 3 * ROWS) >= 0.95
    with MilvusClient(path) as client:  # the carried index file is persisted and verified
        store = _sealed(client)
        assert [s.num_rows for s in store.sealed] == [3 * ROWS]
        assert store.segment_indexes(store.sealed[0].segment_id)
        assert _recall(client, vectors, queries, 3 * ROWS) >= 0.95


def test_a_source_with_deleted_rows_is_not_carried_and_the_merge_is_rebuilt(tmp_path,
                                                                            vectors):
    path = str(tmp_path / "m.db")
    queries = vectors[5::200][:20] + 0.01
    with MilvusClient(path) as client:
        index = _collection(client)
        _load(client, vectors, 0, ROWS)
        client.create_index("c", index)
        client.delete("c", ids=[0, 1, 2])  # row numbers of the merged segment shift
        _load(client, vectors, ROWS, 2 * ROWS)
        store = _sealed(client)
        assert _wait_for_segments(store, 1) == 1
        client.create_index("c", index)  # waits for the builder's fresh graph
        (entry,) = store.segment_indexes(store.sealed[0].segment_id)
        assert ".m" not in entry.file_name
        assert entry.index.num_rows == 2 * ROWS - 3
        hits = client.search("c", queries, limit=10)
        assert not {0, 1, 2} & {h["id"] for q in hits for h in q}


def test_small_segments_wait_for_a_settled_collection_unless_there_are_many():
    class Segment:
        def __init__(self, rows):
            self.num_rows = rows
            self.deleted = np.zeros(rows, bool)
            self.data_file = type("F", (), {"size": rows * 100})()

    two = [Segment(1000), Segment(2000)]
    assert compaction._chosen(two, force=False) == []
    assert compaction._chosen(two, force=False, settled=True) == two
    many = [Segment(1000 + i) for i in range(compaction.MIN_SMALL_SEGMENTS)]
    assert len(compaction._chosen(many, force=False)) == compaction.MIN_SMALL_SEGMENTS
    big = Segment(compaction.MERGE_TARGET_ROWS // 2)  # not small: never merged for size
    assert compaction._chosen([big, two[0]], force=False, settled=True) == []


def test_an_extended_index_answers_like_one_built_over_all_rows(vectors):
    built = build_index("HNSW", "COSINE", {"M": 16, "efConstruction": 64}, vectors[:ROWS])
    grown = built.extended(vectors[ROWS:2 * ROWS])
    assert built.num_rows == ROWS and grown.num_rows == 2 * ROWS  # the source is unchanged
    whole = vectors[: 2 * ROWS] / np.linalg.norm(vectors[: 2 * ROWS], axis=1, keepdims=True)
    queries = vectors[ROWS + 7:: 250][:20]
    _, labels = grown.search(queries, 10, {"ef": 128})
    scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ whole.T
    truth = np.argsort(-scores, axis=1)[:, :10]
    found = np.mean([len(set(labels[q]) & set(truth[q])) / 10 for q in range(len(queries))])
    assert found >= 0.95
    assert (labels[:, 0] >= ROWS).all()  # each query's own (added) row is found first


def test_a_build_stops_between_chunks_when_asked(vectors, monkeypatch):
    from redkite.engine.index import dense

    monkeypatch.setattr(dense, "ADD_CHUNK_ROWS", 1000)
    polls = []

    def stop_after_two() -> bool:
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(dense.BuildCancelled):
        build_index("HNSW", "L2", {"M": 8, "efConstruction": 32}, vectors[:ROWS],
                    should_stop=stop_after_two)
    assert len(polls) == 3  # two chunks added, cancelled before the third


EXIT_SCRIPT = """
import sys, numpy as np
from redkite import MilvusClient
client = MilvusClient(sys.argv[1])
client.create_collection("c", dimension=64, metric_type="L2")  # AUTOINDEX: an HNSW graph
rows = np.random.default_rng(0).standard_normal((60000, 64)).astype(np.float32)
client.insert("c", [{"id": i, "vector": rows[i]} for i in range(len(rows))])
client.flush("c")  # an HNSW build starts in the background; the process exits at once
print("exiting", flush=True)
"""


def test_exiting_during_an_index_build_is_a_clean_exit(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(tmp_path / "x.db")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exiting" in done.stdout
    with MilvusClient(str(tmp_path / "x.db")) as client:  # nothing lost either
        assert client.get_collection_stats("c")["row_count"] == 60000


def test_a_large_segment_is_not_rewritten_for_each_small_one():
    class Segment:
        def __init__(self, rows):
            self.num_rows = rows
            self.deleted = np.zeros(rows, bool)
            self.data_file = type("F", (), {"size": rows * 100})()

    large = Segment(700_000)
    trickle = [Segment(10_000), Segment(12_000)]
    # the two small ones merge with each other; the large one waits until they have grown
    assert compaction._chosen([large, *trickle], force=False, settled=True) == trickle
    grown = [Segment(30_000), Segment(20_000)]  # 50,000 gathered: 16x covers 800,000
    assert compaction._chosen([large, *grown], force=False, settled=True) == [
        *sorted(grown, key=lambda s: s.num_rows), large]
    assert large in compaction._chosen([large, *trickle], force=True)  # compact(): all
