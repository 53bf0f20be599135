"""indexes/*: index DDL and description over REST, checked against the engine."""

from __future__ import annotations

import pytest

from .conftest import error, ok

HNSW = {"fieldName": "vector", "indexName": "vec_idx", "metricType": "L2",
        "indexType": "HNSW", "params": {"M": 8, "efConstruction": 64}}


def tagged_schema(auto_id: bool):
    """Fields id (INT64 primary key), vector (FLOAT_VECTOR, dim 2), tag (VARCHAR)."""
    from redkite import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=auto_id)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    return schema


@pytest.fixture
def bare(rest_server):
    """A collection without index, with a few rows."""
    rest_server.client.create_collection("bare", schema=tagged_schema(auto_id=False))
    rest_server.client.insert("bare", [{"id": i, "vector": [i, 1.0], "tag": "t"}
                                       for i in range(4)])
    yield "bare"
    rest_server.client.drop_collection("bare")


def test_index_lifecycle(rest_server, bare):
    post = rest_server.post
    assert ok(post("indexes/list", {"collectionName": bare})) == []
    ok(post("indexes/create", {"collectionName": bare, "indexParams": [
        HNSW, {"fieldName": "tag", "indexName": "tag_idx", "params": {"index_type": "INVERTED"}}]}))
    assert sorted(ok(post("indexes/list", {"collectionName": bare}))) == ["tag_idx", "vec_idx"]
    [info] = ok(post("indexes/describe", {"collectionName": bare, "indexName": "vec_idx"}))
    assert info["indexName"] == "vec_idx" and info["fieldName"] == "vector"
    assert info["indexType"] == "HNSW" and info["metricType"] == "L2"
    assert info["indexState"] == "Finished" and info["totalRows"] == 4
    params = {p["key"]: p["value"] for p in info["indexParams"]}
    assert params["M"] == "8" and params["efConstruction"] == "64"
    [tag] = ok(post("indexes/describe", {"collectionName": bare, "indexName": "tag_idx"}))
    assert tag["indexType"] == "INVERTED" and tag["metricType"] == ""
    engine = rest_server.running.db.describe_index(None, bare, "vec_idx")
    assert engine["index_type"] == "HNSW" and engine["M"] == 8

    rest_server.client.load_collection(bare)
    assert "release" in error(post("indexes/drop", {"collectionName": bare,
                                                    "indexName": "tag_idx"}), 1100)
    rest_server.client.release_collection(bare)
    ok(post("indexes/drop", {"collectionName": bare, "indexName": "tag_idx"}))
    assert ok(post("indexes/list", {"collectionName": bare})) == ["vec_idx"]


def test_index_errors(rest_server, bare):
    post = rest_server.post
    assert "indexParams" in error(post("indexes/create", {"collectionName": bare}), 1802)
    assert "indexParams" in error(post("indexes/create", {"collectionName": bare,
                                                          "indexParams": {"a": 1}}), 1801)
    assert "fieldName" in error(post("indexes/create", {"collectionName": bare,
                                                        "indexParams": [{"indexName": "x"}]}),
                                1802)
    assert "nope" in error(post("indexes/create", {"collectionName": bare, "indexParams": [
        {"fieldName": "nope"}]}), 1100)
    assert "missing" in error(post("indexes/describe", {"collectionName": bare,
                                                        "indexName": "missing"}), 700)
    assert "indexName" in error(post("indexes/drop", {"collectionName": bare}), 1802)


def test_index_properties(rest_server, bare):
    post = rest_server.post
    ok(post("indexes/create", {"collectionName": bare, "indexParams": [HNSW]}))
    ok(post("indexes/alter_properties", {"collectionName": bare, "indexName": "vec_idx",
                                         "properties": {"mmap.enabled": True}}))
    [info] = ok(post("indexes/describe", {"collectionName": bare, "indexName": "vec_idx"}))
    assert info["mmap.enabled"] == "true"
    ok(post("indexes/drop_properties", {"collectionName": bare, "indexName": "vec_idx",
                                        "propertyKeys": ["mmap.enabled"]}))
    [info] = ok(post("indexes/describe", {"collectionName": bare, "indexName": "vec_idx"}))
    assert info["mmap.enabled"] == ""
    assert "configurable" in error(post("indexes/alter_properties", {
        "collectionName": bare, "indexName": "vec_idx", "properties": {"nlist": 4}}), 1100)
