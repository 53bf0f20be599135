"""partitions/*: partition DDL, loading and statistics over REST, checked against gRPC."""

from __future__ import annotations

from .conftest import error, ok


def test_partition_lifecycle(rest_server):
    post, client = rest_server.post, rest_server.client
    client.create_collection("parts", dimension=2)
    assert ok(post("partitions/list", {"collectionName": "parts"})) == ["_default"]
    ok(post("partitions/create", {"collectionName": "parts", "partitionName": "p1"}))
    assert client.list_partitions("parts") == ["_default", "p1"]
    assert ok(post("partitions/has", {"collectionName": "parts", "partitionName": "p1"})) == \
        {"has": True}
    assert ok(post("partitions/has", {"collectionName": "parts", "partitionName": "no"})) == \
        {"has": False}
    client.insert("parts", [{"id": i, "vector": [0.1, 0.2]} for i in range(3)],
                  partition_name="p1")
    stats = ok(post("partitions/get_stats", {"collectionName": "parts", "partitionName": "p1"}))
    assert stats == {"rowCount": 3}

    client.release_collection("parts")
    ok(post("partitions/load", {"collectionName": "parts", "partitionNames": ["p1"]}))
    assert str(client.get_load_state("parts", partition_name="p1")["state"]) == "Loaded"
    assert "loaded" in error(post("partitions/drop", {"collectionName": "parts",
                                                      "partitionName": "p1"}), 1100)
    ok(post("partitions/release", {"collectionName": "parts", "partitionNames": ["p1"]}))
    ok(post("partitions/drop", {"collectionName": "parts", "partitionName": "p1"}))
    assert client.list_partitions("parts") == ["_default"]
    client.drop_collection("parts")


def test_partition_errors(rest_server):
    post = rest_server.post
    assert "partitionName" in error(post("partitions/create", {"collectionName": "x"}), 1802)
    assert "collectionName" in error(post("partitions/list", {}), 1802)
    assert "partitionNames" in error(post("partitions/load", {"collectionName": "x",
                                                              "partitionNames": "p"}), 1801)
    assert "ghost" in error(post("partitions/list", {"collectionName": "ghost"}), 100)
    rest_server.client.create_collection("parts2", dimension=2)
    error(post("partitions/get_stats", {"collectionName": "parts2", "partitionName": "nope"}),
          200)
    rest_server.client.drop_collection("parts2")
