"""Schema and property changes over gRPC: redkite's own client (gRPC transport) against
``redkite serve`` — every method, the schema cache after a change made by this client or
by another one — and requests pymilvus can build that the server must refuse."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from redkite import AsyncMilvusClient, DataType, Function, FunctionType, MilvusClient
from redkite.errors import FieldNotExistException, IndexNotExistException, MilvusException

from .conftest import CALL_TIMEOUT


@pytest.fixture(scope="module")
def remote(uri):
    c = MilvusClient(uri)
    yield c
    c.close()


def _collection(client, name):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("text", DataType.VARCHAR, max_length=4)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": 1, "vector": [1.0, 0.0], "text": "a"}])


def test_every_method_over_the_grpc_transport(remote, client):
    _collection(remote, "everything")
    remote.alter_collection_properties("everything", {"owner": "ann"})
    remote.drop_collection_properties("everything", ["nothing"])
    assert remote.describe_collection("everything")["properties"] == {"owner": "ann"}
    remote.add_collection_field("everything", "n", DataType.INT64, nullable=True,
                                default_value=5)
    remote.alter_collection_field("everything", "text", {"max_length": 32})
    remote.insert("everything", [{"id": 2, "vector": [0.0, 1.0], "text": "longer text"}])
    assert [(r["id"], r["n"]) for r in remote.query("everything", filter="id > 0",
                                                     output_fields=["n"])] == [(1, 5), (2, 5)]
    remote.add_collection_field("everything", "gone", DataType.BOOL, nullable=True)
    remote.drop_collection_field("everything", "gone")
    assert "gone" not in [f["name"] for f in remote.describe_collection("everything")["fields"]]
    with pytest.raises(MilvusException, match="BM25|only BM25"):
        remote.add_collection_function("everything", Function(
            "f", FunctionType.BM25, ["text"], ["vector"]))
    remote.release_collection("everything")
    remote.alter_index_properties("everything", "vector", {"mmap.enabled": True})
    assert remote.describe_index("everything", "vector")["mmap.enabled"] is True
    remote.drop_index_properties("everything", "vector", ["mmap.enabled"])
    with pytest.raises(IndexNotExistException):
        remote.alter_index_properties("everything", "nope", {"mmap.enabled": True})
    remote.alter_database_properties("default", {"team": "blue"})
    assert client.describe_database("default")["team"] == "blue"  # pymilvus reads it back
    remote.drop_database_properties("default", ["team"])
    assert "team" not in client.describe_database("default")
    remote.flush_all()
    assert remote.get_flush_all_state() is True
    with pytest.raises(FieldNotExistException):
        remote.drop_collection_field("everything", field_id=999)


def test_a_change_by_another_client_is_noticed_by_the_schema_cache(uri, remote):
    _collection(remote, "shared")
    remote.insert("shared", [{"id": 2, "vector": [0.0, 1.0], "text": "b"}])  # cached now
    other = MilvusClient(uri)
    try:
        other.add_collection_field("shared", "n", DataType.INT64, nullable=True)
        other.alter_collection_field("shared", "text", {"max_length": 16})
    finally:
        other.close()
    remote.insert("shared", [{"id": 3, "vector": [1.0, 1.0], "text": "a longer one", "n": 7}])
    assert remote.get("shared", ids=[3], output_fields=["n", "text"])[0] == {
        "id": 3, "n": 7, "text": "a longer one"}


def test_a_change_by_this_client_drops_its_cached_schema(remote):
    _collection(remote, "own")
    transport = remote._transport
    remote.insert("own", [{"id": 2, "vector": [0.0, 1.0], "text": "b"}])
    assert transport.schemas.get(None, "own") is not None
    remote.add_collection_field("own", "n", DataType.INT64, nullable=True)
    assert transport.schemas.get(None, "own") is None
    remote.insert("own", [{"id": 3, "vector": [0.0, 1.0], "text": "c", "n": 1}])
    assert remote.get("own", ids=[3], output_fields=["n"])[0]["n"] == 1


def test_async_client_over_grpc(uri):
    async def run():
        client = AsyncMilvusClient(uri)
        try:
            await client.create_collection("async_alter", dimension=2)
            await client.alter_collection_properties("async_alter", {"k": "v"})
            await client.add_collection_field("async_alter", "n", DataType.FLOAT,
                                              nullable=True)
            info = await client.describe_collection("async_alter")
            return info["properties"], [f["name"] for f in info["fields"]]
        finally:
            await client.close()

    properties, names = asyncio.run(run())
    assert properties == {"k": "v"} and names[-1] == "n"


def _stub(server):
    from pymilvus.grpc_gen import milvus_pb2_grpc
    channel = grpc.insecure_channel(server.address)
    return channel, milvus_pb2_grpc.MilvusServiceStub(channel)


def test_requests_the_server_refuses(server, client):
    from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

    client.create_collection("raw", dimension=2)
    channel, stub = _stub(server)
    try:
        both = stub.AlterCollection(milvus_pb2.AlterCollectionRequest(
            collection_name="raw", properties=[common_pb2.KeyValuePair(key="a", value="b")],
            delete_keys=["c"]), timeout=CALL_TIMEOUT)
        assert both.code == 1100 and "at the same time" in both.reason
        add = milvus_pb2.AlterCollectionSchemaRequest(collection_name="raw")
        info = add.action.add_request.field_infos.add(index_name="idx")
        info.field_schema.CopyFrom(schema_pb2.FieldSchema(
            name="n", data_type=schema_pb2.DataType.Int64, nullable=True))
        reply = stub.AlterCollectionSchema(add, timeout=CALL_TIMEOUT)
        assert reply.alter_status.code == 1100 and "CreateIndex" in reply.alter_status.reason
        empty = stub.AlterCollectionSchema(milvus_pb2.AlterCollectionSchemaRequest(
            collection_name="raw"), timeout=CALL_TIMEOUT)
        assert empty.alter_status.code == 1100
        garbage = stub.AddCollectionField(milvus_pb2.AddCollectionFieldRequest(
            collection_name="raw", schema=b"\xff\xff"), timeout=CALL_TIMEOUT)
        assert garbage.code == 1100 and "do not parse" in garbage.reason
    finally:
        channel.close()
    assert [f["name"] for f in client.describe_collection("raw")["fields"]] == ["id", "vector"]
