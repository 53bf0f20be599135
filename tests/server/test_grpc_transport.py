"""redkite's own MilvusClient / AsyncMilvusClient over gRPC to an in-process redkite serve:
results equal to the embedded client, Milvus errors as redkite exceptions, the schema
cache (one describe for many inserts; drop + re-create by another client is noticed)."""

from __future__ import annotations

import asyncio
from collections import Counter

import grpc
import pytest

from redkite import AsyncMilvusClient, DataType, MilvusClient
from redkite.errors import DescribeCollectionException, MilvusException, ParamError


class RpcCounter(grpc.ServerInterceptor):
    """Counts the RPCs the server receives, by method name."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def intercept_service(self, continuation, handler_call_details):
        self.counts[handler_call_details.method.rsplit("/", 1)[-1]] += 1
        return continuation(handler_call_details)


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    from redkite.server import start_server

    counter = RpcCounter()
    running = start_server(str(tmp_path_factory.mktemp("serve") / "data"), port=0,
                           interceptors=[counter])
    yield running, counter
    running.stop(grace=1.0)


@pytest.fixture(scope="module")
def remote(counted):
    c = MilvusClient(f"http://{counted[0].address}")
    yield c
    c.close()


@pytest.fixture
def local(tmp_path):
    c = MilvusClient(str(tmp_path / "app.db"))
    yield c
    c.close()


def _fill(client, name):
    client.create_collection(name, dimension=4, metric_type="L2")
    rows = [{"id": i, "vector": [i / 10, 0.0, 1.0, 0.5], "tag": f"t{i % 3}"} for i in range(30)]
    return client.insert(name, rows)


def _flow(client, name):
    out = {"insert": dict(_fill(client, name))}
    out["get"] = list(client.get(name, [3, 7], output_fields=["tag", "vector"]))
    out["query"] = list(client.query(name, filter="tag == 't1' and id < 12"))
    out["count"] = list(client.query(name, output_fields=["count(*)"]))
    hits = client.search(name, [[0.5, 0.0, 1.0, 0.5], [0.0, 0.0, 1.0, 0.5]], limit=3,
                         output_fields=["tag"])
    out["search"] = [[(h["id"], round(h["distance"], 5), h["entity"]) for h in q] for q in hits]
    out["delete"] = dict(client.delete(name, ids=[1, 2]))
    out["after"] = list(client.query(name, filter="id < 5", output_fields=["id"]))
    out["upsert"] = dict(client.upsert(name, {"id": 3, "vector": [0.0] * 4, "tag": "new"}))
    out["described"] = {k: v for k, v in client.describe_collection(name).items()
                        if k not in ("created_timestamp", "update_timestamp", "collection_id")}
    out["has"] = client.has_collection(name)
    out["state"] = client.get_load_state(name)
    client.drop_collection(name)
    out["dropped"] = client.has_collection(name)
    return out


def test_main_flow_equals_embedded(remote, local):
    assert _flow(remote, "flow") == _flow(local, "flow")


def test_async_client_over_grpc_across_loops(counted):
    client = AsyncMilvusClient(f"http://{counted[0].address}")

    async def first():
        await client.create_collection("async_c", dimension=4)
        await asyncio.gather(*(client.insert("async_c", {"id": i, "vector": [1.0, i, 0, 0]})
                               for i in range(20)))

    async def second():  # a new loop after asyncio.run() returned
        hits = await asyncio.gather(*(client.search("async_c", [[1.0, 3, 0, 0]], limit=2)
                                      for _ in range(5)))
        rows = await client.query("async_c", output_fields=["count(*)"])
        await client.close()
        return hits, rows

    asyncio.run(first())
    hits, rows = asyncio.run(second())
    assert rows[0]["count(*)"] == 20
    assert all(h[0][0]["id"] == 3 for h in hits)


def test_errors_are_the_embedded_exception_classes(remote, local):
    for client in (remote, local):
        with pytest.raises(DescribeCollectionException) as missing:
            client.describe_collection("nope")
        assert missing.value.code == 100
        _fill(client, "errs")
        with pytest.raises(MilvusException) as bad_filter:
            client.query("errs", filter="id >>> 3")
        assert bad_filter.value.code == 1100
        with pytest.raises(ParamError):
            client.insert("errs", [{"id": 99, "vector": [1.0, 2.0]}])
        client.drop_collection("errs")


def test_thousand_inserts_after_a_describe_cost_one_describe_rpc(counted):
    running, counter = counted
    with MilvusClient(f"http://{running.address}") as client:
        client.create_collection("cached", dimension=2)
        client.describe_collection("cached")
        before = counter.counts["DescribeCollection"]
        cache = client._transport.schemas
        hits_before = cache.hits
        for i in range(1000):
            client.insert("cached", {"id": i, "vector": [1.0, float(i)]})
        assert counter.counts["DescribeCollection"] - before == 1
        assert cache.hits - hits_before == 999
        assert client.query("cached", output_fields=["count(*)"])[0]["count(*)"] == 1000


def test_drop_and_recreate_by_another_client_is_noticed(counted):
    uri = f"http://{counted[0].address}"
    with MilvusClient(uri) as mine, MilvusClient(uri) as other:
        mine.create_collection("moving", dimension=2)
        mine.insert("moving", [{"id": i, "vector": [1.0, i]} for i in range(5)])
        assert [r["id"] for r in mine.get("moving", [1, 2])] == [1, 2]
        other.drop_collection("moving")
        schema = other.create_schema(enable_dynamic_field=True)
        schema.add_field("key", DataType.VARCHAR,
                         is_primary=True, max_length=16)
        schema.add_field("emb", DataType.FLOAT_VECTOR, dim=3)
        index = other.prepare_index_params("emb", index_type="FLAT", metric_type="L2")
        other.create_collection("moving", schema=schema, index_params=index)
        other.insert("moving", [{"key": "a", "emb": [1.0, 2.0, 3.0]},
                                {"key": "b", "emb": [0.0, 0.0, 1.0]}])
        # the stale cached schema (int pk "id", dim 2) must not be used silently
        assert mine.insert("moving", {"key": "c", "emb": [1.0, 1.0, 1.0]})["insert_count"] == 1
        assert [r["key"] for r in mine.get("moving", ["a", "c"])] == ["a", "c"]
        other.drop_collection("moving")
        other.create_collection("moving", schema=schema, index_params=index)
        other.insert("moving", [{"key": "x", "emb": [1.0, 2.0, 3.0]}])
        assert [r["key"] for r in mine.query("moving", ids=["x"])] == ["x"]
        assert mine.delete("moving", ids=["x"])["delete_count"] == 1
