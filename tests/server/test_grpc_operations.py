"""The operations redkite's client covers over gRPC beyond rows and collections (aliases,
database and partition details, partial load, truncate, compaction, analyzers, hybrid
search, the server version): each answers as the embedded client does, with the same
error classes and codes; evaluate_recall says why it is embedded-only."""

from __future__ import annotations

import asyncio

import pytest

from conformance.test_search_advanced import QA, make_multi
from redkite import AnnSearchRequest, AsyncMilvusClient, DataType, MilvusClient, RRFRanker
from redkite import WeightedRanker
from redkite.errors import (
    AliasNotExistException, DatabaseNotExistException, ErrorCode, MilvusException,
    PartitionNotExistException,
)


@pytest.fixture(scope="module")
def remote(uri):
    with MilvusClient(uri) as client:
        yield client


@pytest.fixture
def local(tmp_path):
    with MilvusClient(str(tmp_path / "app.db")) as client:
        yield client


def _two_vectors(client, name):
    """The conformance suite's collection with vectors "a" (4-d, L2) and "b" (2-d, IP),
    60 rows, plus 8 rows in a partition "p1"."""
    make_multi(client, name)
    client.create_partition(name, "p1")
    client.insert(name, [{"id": 100 + i, "a": [i / 10, 1.0, 0.5, 0.0], "b": [1.0, i / 20],
                          "g": i % 4} for i in range(8)], partition_name="p1")


def _hits(result):
    return [[(h["id"], round(h["distance"], 5), dict(h["entity"])) for h in q] for q in result]


def _management_flow(client, name):
    _two_vectors(client, name)
    out = {}
    client.create_alias(name, name + "_al")
    out["alias"] = client.describe_alias(name + "_al")
    out["aliases"] = client.list_aliases(name)
    out["via_alias"] = client.query(name + "_al", filter="id < 3", output_fields=["g", "tag"])
    client.drop_alias(name + "_al")
    out["aliases_after"] = client.list_aliases(name)["aliases"]
    out["database"] = client.describe_database("default")
    out["partition_stats"] = client.get_partition_stats(name, "p1")
    client.release_collection(name)
    client.load_partitions(name, ["p1"])
    out["p1_state"] = client.get_load_state(name, partition_name="p1")["state"].name
    out["default_state"] = client.get_load_state(name, "_default")["state"].name
    out["partial"] = client.query(name, filter="id >= 0", output_fields=["count(*)"],
                                  partition_names=["p1"])
    client.release_partitions(name, "p1")
    out["released"] = client.get_load_state(name, partition_name="p1")["state"].name
    client.load_collection(name)
    job = client.compact(name)
    out["compaction"] = client.get_compaction_state(job) in ("Executing", "Completed")
    client.truncate_collection(name)
    out["after_truncate"] = client.query(name, filter="id >= 0", output_fields=["count(*)"])
    return out


def test_management_operations_equal_embedded(remote, local):
    assert _management_flow(remote, "mgmt") == _management_flow(local, "mgmt")


def _search_flow(client, name):
    _two_vectors(client, name)
    reqs = [AnnSearchRequest(QA, "a", {"metric_type": "L2"}, limit=6),
            AnnSearchRequest([[1.0, 0.4]], "b", {}, limit=6, expr="g != {v}",
                             expr_params={"v": 2})]
    return {
        "rrf": _hits(client.hybrid_search(name, reqs, RRFRanker(30), limit=4,
                                          output_fields=["g"])),
        "weighted": _hits(client.hybrid_search(name, reqs, WeightedRanker(0.7, 0.3), limit=3,
                                               offset=1, round_decimal=3)),
        "partition": _hits(client.hybrid_search(name, reqs, RRFRanker(), limit=5,
                                                partition_names=["p1"])),
        "iterator": [h["id"] for page in _pages(client.search_iterator(
            name, QA, batch_size=5, anns_field="a", limit=12)) for h in page],
        "top12": [h["id"] for h in client.search(name, QA, anns_field="a", limit=12)[0]],
    }


def _pages(iterator):
    pages = []
    while page := iterator.next():
        pages.append(page)
    return pages


def test_hybrid_search_and_search_iterator_equal_embedded(remote, local):
    got = _search_flow(remote, "hyb")
    assert got == _search_flow(local, "hyb")
    assert got["iterator"] == got["top12"]  # L2 (the index's metric): nearest first


def _analyzer_flow(client, name):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=200, enable_analyzer=True,
                     analyzer_params={"type": "english"})
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)
    text = "The Running foxes ran"
    tokens = lambda r: [t if isinstance(t, str) else dict(t.dict) for t in r.tokens]  # noqa: E731
    return {
        "plain": tokens(client.run_analyzer(text)),
        "many": [tokens(r) for r in client.run_analyzer([text, "b c"],
                                                        analyzer_params={"type": "standard"})],
        "detail": tokens(client.run_analyzer(text, with_detail=True, with_hash=True)),
        "field": tokens(client.run_analyzer(text, collection_name=name, field_name="text")),
    }


def test_run_analyzer_equals_embedded(remote, local):
    assert _analyzer_flow(remote, "ana") == _analyzer_flow(local, "ana")


@pytest.mark.parametrize("call, error, code", [
    (lambda c: c.describe_alias("no_alias"), AliasNotExistException, 1600),
    (lambda c: c.alter_alias("errs", "no_alias"), AliasNotExistException, 1600),
    (lambda c: c.describe_database("no_db"), DatabaseNotExistException, 800),
    (lambda c: c.get_partition_stats("errs", "nope"), PartitionNotExistException, 200),
    (lambda c: c.load_partitions("errs", ["nope"]), PartitionNotExistException, 200),
    (lambda c: c.truncate_collection("nope"), MilvusException, 100),
    (lambda c: c.run_analyzer("x", analyzer_names="a"), MilvusException, 1100),
])
def test_errors_equal_embedded(remote, local, call, error, code):
    for client in (remote, local):
        if not client.has_collection("errs"):
            client.create_collection("errs", dimension=2)
        with pytest.raises(error) as raised:
            call(client)
        assert raised.value.code == code


def test_server_version_is_the_servers_answer(remote, local):
    assert remote.get_server_version() == "redkite-0.1.0"
    detail = remote.get_server_version(detail=True)
    assert detail["version"] == "redkite-0.1.0" and detail["deploy_mode"] == "redkite serve"
    assert set(detail) == {"version", "build_time", "git_commit", "go_version",
                           "deploy_mode"}
    assert local.get_server_version(detail=True)["deploy_mode"] == "embedded"


def test_evaluate_recall_over_grpc_explains_itself(remote):
    remote.create_collection("recall", dimension=2)
    with pytest.raises(MilvusException) as raised:
        remote.evaluate_recall("recall")
    assert raised.value.code == ErrorCode.SERVICE_UNIMPLEMENTED
    assert "exact search" in raised.value.message and "embedded" in raised.value.message


def test_async_client_runs_the_new_operations(uri):
    async def flow():
        async with AsyncMilvusClient(uri) as client:
            await client.create_collection("async_ops", dimension=2)
            await client.insert("async_ops", [{"id": i, "vector": [1.0, i]} for i in range(5)])
            await client.create_alias("async_ops", "async_al")
            described = await client.describe_alias("async_al")
            reqs = [AnnSearchRequest([[1.0, 2.0]], "vector", {}, limit=3)]
            hits = await client.hybrid_search("async_al", reqs, RRFRanker(), limit=2)
            await client.drop_alias("async_al")
            return described["collection_name"], [h["id"] for h in hits[0]]

    name, ids = asyncio.run(flow())
    assert name == "async_ops" and len(ids) == 2


def test_every_operation_the_client_sends_has_a_grpc_body():
    """A client method added without its gRPC operation would fail only over gRPC."""
    import re
    from pathlib import Path

    from redkite.transport.embedded import RBAC_OPERATIONS
    from redkite.transport.grpc import OPERATIONS
    from redkite.transport.grpc_ops_manage import EMBEDDED_ONLY

    client_dir = Path(__file__).resolve().parents[2] / "redkite" / "client"
    sent = set()
    for path in (client_dir / "_async").glob("*.py"):
        sent |= set(re.findall(r'_(?:db_)?call\(\s*"(\w+)"', path.read_text()))
    sent |= set(re.findall(r'return "(\w+)", \{', (client_dir / "_iterators.py").read_text()))
    assert {"search", "query", "hybrid_search", "create_user"} <= sent
    assert sent - set(OPERATIONS) == set(EMBEDDED_ONLY) == {"evaluate_recall"}
    assert RBAC_OPERATIONS <= set(OPERATIONS)
