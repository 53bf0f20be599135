"""Insert / upsert / delete / get / query / search through MilvusClient on an embedded db."""

from __future__ import annotations

import numpy as np
import pytest

from redkite import (
    DataNotMatchException, DataType, FieldNotExistException, MilvusClient, MilvusException,
    ParamError,
)
from redkite.errors import CollectionNotExistException, PartitionNotExistException

DIM = 8


@pytest.fixture
def client(tmp_path):
    with MilvusClient(str(tmp_path / "d.db")) as c:
        yield c


@pytest.fixture
def vectors():
    return np.random.default_rng(1).standard_normal((200, DIM)).astype(np.float32)


def make_rows(vectors, start=0):
    return [{"id": start + i, "vector": vectors[i], "n": i, "color": ["red", "blue"][i % 2]}
            for i in range(len(vectors))]


def count(client, name, **kwargs):
    return client.query(name, filter="", output_fields=["count(*)"], **kwargs)[0]["count(*)"]


def test_insert_returns_count_and_ids(client, vectors):
    client.create_collection("c", dimension=DIM)
    result = client.insert("c", make_rows(vectors[:5]))
    assert result["insert_count"] == 5 and result["ids"] == [0, 1, 2, 3, 4]
    assert client.insert("c", [])["insert_count"] == 0
    single = client.insert("c", {"id": 99, "vector": vectors[0].tolist()})
    assert single["ids"] == [99]


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_search_distances_match_numpy(client, vectors, metric):
    client.create_collection("c", dimension=DIM, metric_type=metric)
    client.insert("c", make_rows(vectors))
    queries = vectors[:3] + 0.01
    result = client.search("c", data=queries, limit=5)
    dots = queries @ vectors.T
    if metric == "L2":
        expected = ((queries[:, None, :] - vectors[None]) ** 2).sum(-1)
        order = np.argsort(expected, axis=1)[:, :5]
    elif metric == "IP":
        expected = dots
        order = np.argsort(-expected, axis=1)[:, :5]
    else:
        expected = dots / np.outer(np.linalg.norm(queries, axis=1),
                                   np.linalg.norm(vectors, axis=1))
        order = np.argsort(-expected, axis=1)[:, :5]
    assert len(result) == 3
    for q, hits in enumerate(result):
        assert [h["id"] for h in hits] == order[q].tolist()
        np.testing.assert_allclose([h["distance"] for h in hits], expected[q, order[q]],
                                   rtol=1e-4, atol=1e-4)


def test_search_shapes_offset_and_output_fields(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors))
    full = client.search("c", data=[vectors[0].tolist()], limit=6)[0]
    paged = client.search("c", data=[vectors[0]], limit=3, offset=3)[0]
    assert [h["id"] for h in paged] == [h["id"] for h in full][3:6]
    hit = client.search("c", data=[vectors[0]], limit=1, output_fields=["color", "n"])[0][0]
    assert hit["id"] == 0 and hit.id == 0 and hit.pk == 0
    assert hit["entity"] == {"color": "red", "n": 0}
    assert hit["color"] == "red" and hit.fields == {"color": "red", "n": 0}
    assert hit.distance == hit["distance"] == pytest.approx(1.0, abs=1e-5)
    bare = client.search("c", data=[vectors[0]], limit=1)[0][0]
    assert bare["entity"] == {}
    star = client.search("c", data=[vectors[0]], limit=1, output_fields=["*"])[0][0]
    assert set(star["entity"]) == {"id", "vector", "n", "color"}


def test_search_rejects_bad_requests(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:10]))
    with pytest.raises(ParamError, match="limit"):
        client.search("c", data=[vectors[0]], limit=0)
    with pytest.raises(ParamError, match="illegal"):
        client.search("c", data=vectors[0].tolist())
    with pytest.raises(MilvusException, match="dim"):
        client.search("c", data=[[1.0, 2.0]])
    with pytest.raises(ParamError, match="metric type not match"):
        client.search("c", data=[vectors[0]], search_params={"metric_type": "L2"})
    with pytest.raises(ParamError, match="does not take search parameter"):
        client.search("c", data=[vectors[0]], search_params={"params": {"nprobe": 8}})
    with pytest.raises(ParamError, match="16384"):
        client.search("c", data=[vectors[0]], limit=16000, offset=1000)
    with pytest.raises(ParamError, match="not a field"):
        client.search("c", data=[vectors[0]], group_by_field="color")


def test_get_and_query(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:20]))
    got = client.get("c", ids=[3, 1, 77])
    assert [r["id"] for r in got] == [1, 3]
    assert set(got[0]) == {"id", "vector", "n", "color"}
    np.testing.assert_allclose(got[0]["vector"], vectors[1], rtol=1e-6)
    assert client.get("c", ids=5, output_fields=["n"]) == [{"id": 5, "n": 5}]
    assert client.get("c", ids=[]) == []
    rows = client.query("c", filter="n >= 10", output_fields=["n"], limit=3, offset=2)
    assert rows == [{"id": 12, "n": 12}, {"id": 13, "n": 13}, {"id": 14, "n": 14}]
    assert count(client, "c") == 20
    with pytest.raises(ParamError, match="limit"):
        client.query("c", filter="")
    with pytest.raises(ParamError, match="Ambiguous"):
        client.query("c", filter="n > 1", ids=[1])


def test_unknown_output_field_is_an_error_without_dynamic_field(client, vectors):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params("vector", index_type="FLAT", metric_type="L2")
    client.create_collection("c", schema=schema, index_params=index)
    client.insert("c", [{"id": 1, "vector": vectors[0]}])
    with pytest.raises(FieldNotExistException, match="nope"):
        client.query("c", filter="id > 0", output_fields=["nope"])


def test_upsert_replaces_rows(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:10]))
    result = client.upsert("c", [{"id": 3, "vector": vectors[50], "n": 300},
                                 {"id": 500, "vector": vectors[51], "n": 500}])
    assert result["upsert_count"] == 2 and result["ids"] == [3, 500]
    assert count(client, "c") == 11
    assert client.get("c", ids=[3], output_fields=["n"]) == [{"id": 3, "n": 300}]
    hit = client.search("c", data=[vectors[50]], limit=1)[0][0]
    assert hit["id"] == 3


def test_delete_by_ids_and_filter(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:20]))
    assert client.delete("c", ids=[1, 2, 999])["delete_count"] == 2
    assert client.delete("c", filter="n >= 15")["delete_count"] == 5
    assert count(client, "c") == 13
    assert client.get("c", ids=[1, 16]) == []
    assert all(h["id"] not in (1, 2, 15) for h in client.search("c", data=vectors[:3],
                                                                limit=20)[0])
    with pytest.raises(ParamError, match="Ambiguous"):
        client.delete("c", ids=[3], filter="n > 1")


def test_auto_id(client, vectors):
    client.create_collection("a", dimension=DIM, auto_id=True)
    first = client.insert("a", [{"vector": v} for v in vectors[:5]])["ids"]
    second = client.insert("a", [{"vector": v} for v in vectors[5:10]])["ids"]
    assert len(set(first + second)) == 10
    assert first == sorted(first) and min(second) > max(first)
    with pytest.raises(DataNotMatchException, match="auto_id"):
        client.insert("a", [{"id": 1, "vector": vectors[0]}])


def test_partitions(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.create_partition("c", "p1")
    assert client.has_partition("c", "p1") and client.list_partitions("c") == ["_default", "p1"]
    client.insert("c", make_rows(vectors[:10]))
    client.insert("c", make_rows(vectors[10:15], start=100), partition_name="p1")
    assert count(client, "c", partition_names=["p1"]) == 5
    assert client.get_partition_stats("c", "p1") == {"row_count": 5}
    hits = client.search("c", data=[vectors[0]], limit=20, partition_names=["p1"])[0]
    assert {h["id"] for h in hits} == set(range(100, 105))
    with pytest.raises(PartitionNotExistException):
        client.insert("c", make_rows(vectors[:1]), partition_name="nope")
    client.release_collection("c")
    client.drop_partition("c", "p1")
    client.load_collection("c")
    assert client.list_partitions("c") == ["_default"] and count(client, "c") == 10


def test_load_and_release(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:5]))
    client.release_collection("c")
    with pytest.raises(MilvusException, match="not loaded"):
        client.search("c", data=[vectors[0]])
    client.create_partition("c", "p")
    client.load_partitions("c", ["p"])
    assert client.get_load_state("c", partition_name="p")["state"].name == "Loaded"
    assert client.get_load_state("c", partition_name="_default")["state"].name == "NotLoad"
    with pytest.raises(MilvusException, match="not loaded"):
        client.query("c", filter="id > 0", partition_names=["_default"])
    client.load_collection("c")
    assert count(client, "c") == 5


@pytest.mark.parametrize("bad_row, message", [
    ({"id": 1, "vector": [0.1] * 3}, "dim"),
    ({"id": 1, "vector": "abc"}, "float_vector"),
    ({"id": "x", "vector": [0.1] * DIM}, "id"),
    ({"id": 1}, "vector"),
    ({"vector": [0.1] * DIM}, "id"),
    ({"id": 1, "vector": [0.1] * DIM, "i8": 300}, "i8"),
    ({"id": 1, "vector": [0.1] * DIM, "s": "x" * 20}, "max_length"),
    ({"id": 1, "vector": [0.1] * DIM, "unknown": 1}, "unknown"),
    ({"id": 1, "vector": [float("nan")] * DIM}, "NaN"),
    ({"id": 1, "vector": [0.1] * DIM, "i8": True}, "bool"),
])
def test_bad_rows_raise_and_change_nothing(client, bad_row, message):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("i8", DataType.INT8, nullable=True)
    schema.add_field("s", DataType.VARCHAR, max_length=10, nullable=True)
    index = client.prepare_index_params("vector", index_type="FLAT", metric_type="L2")
    client.create_collection("c", schema=schema, index_params=index)
    client.insert("c", [{"id": 0, "vector": [0.0] * DIM}])
    good = {"id": 5, "vector": [0.5] * DIM}
    with pytest.raises(MilvusException, match=message) as caught:
        client.insert("c", [good, bad_row])
    assert caught.value.code != 0
    assert client.query("c", filter="id >= 0", output_fields=["id"]) == [{"id": 0}]


def test_unknown_collection_errors(client):
    with pytest.raises(CollectionNotExistException) as caught:
        client.insert("nope", [{"id": 1}])
    assert caught.value.code == 100
    with pytest.raises(CollectionNotExistException):
        client.describe_collection("nope")
    assert client.has_collection("nope") is False
    client.drop_collection("nope")  # no error, as in Milvus


def test_collection_lifecycle(client, vectors):
    client.create_collection("c", dimension=DIM)
    client.insert("c", make_rows(vectors[:5]))
    client.rename_collection("c", "d")
    assert client.list_collections() == ["d"]
    assert client.get_collection_stats("d") == {"row_count": 5}
    client.truncate_collection("d")
    assert client.get_collection_stats("d") == {"row_count": 0}
    client.create_alias("d", "alias_d")
    assert client.describe_alias("alias_d")["collection_name"] == "d"
    client.insert("alias_d", make_rows(vectors[:2]))
    assert count(client, "alias_d") == 2
    client.flush("d")
    assert isinstance(client.compact("d"), int)
    client.drop_collection("d")
    assert client.list_collections() == []


def test_reopen_keeps_everything(tmp_path, vectors):
    path = str(tmp_path / "r.db")
    with MilvusClient(path) as c:
        c.create_collection("c", dimension=DIM)
        c.create_partition("c", "p")
        c.insert("c", make_rows(vectors[:30]))
        c.insert("c", make_rows(vectors[30:40], start=1000), partition_name="p")
        c.delete("c", ids=[0, 1000])
    with MilvusClient(path) as c:
        assert count(c, "c") == 38
        assert c.list_partitions("c") == ["_default", "p"]
        assert c.get("c", ids=[0, 1000]) == []
        assert c.search("c", data=[vectors[5]], limit=1)[0][0]["id"] == 5


def test_databases(client, vectors):
    client.create_database("other")
    assert client.list_databases() == ["default", "other"]
    client.use_database("other")
    client.create_collection("c", dimension=DIM)
    client.use_database("default")
    assert client.list_collections() == []
    with pytest.raises(MilvusException):
        client.use_database("missing")


@pytest.mark.parametrize("pk_type", ["int", "str"])
def test_a_primary_key_keeps_one_row_across_seal_compaction_and_reopen(tmp_path, vectors, pk_type):
    key = (lambda i: i) if pk_type == "int" else (lambda i: f"k{i:03d}")
    path = str(tmp_path / "d.db")
    with MilvusClient(path) as c:
        extra = {} if pk_type == "int" else {"id_type": "string", "max_length": 16}
        c.create_collection("c", dimension=DIM, **extra)
        for generation in range(3):  # three versions of keys 0..49, one sealed per round
            c.insert("c", [{"id": key(i), "vector": vectors[i], "gen": generation}
                           for i in range(50)])
            c.flush("c")
        c.compact("c")
        c.upsert("c", [{"id": key(i), "vector": vectors[i], "gen": 9} for i in range(0, 50, 5)])
        assert count(c, "c") == 50
    with MilvusClient(path) as c:  # replayed from the WAL and the sealed files
        rows = c.query("c", filter="", limit=100, output_fields=["gen"])
        assert len(rows) == 50 and len({r["id"] for r in rows}) == 50
        assert {r["gen"] for r in rows if r["id"] == key(5)} == {9}
        assert {r["gen"] for r in rows if r["id"] == key(6)} == {2}
        assert c.delete("c", ids=[key(5), key(6)])["delete_count"] == 2
        assert count(c, "c") == 48
