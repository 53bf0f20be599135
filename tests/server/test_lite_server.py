"""redkite's gRPC client against a server redkite did not write: ``milvus-lite server`` in a
child process (free 127.0.0.1 port, bounded startup wait, stopped at teardown).

Each scenario runs once through pymilvus and once through ``redkite.MilvusClient`` (or
``AsyncMilvusClient``) on the same server, one after the other on the same collection name;
the answers must be the same. Known differences are normalised where they are pymilvus
quirks, and marked ``xfail(strict=True)`` where they are redkite defects (a fix turns them
into failures, so the marker gets removed). What Lite does not serve is skipped with Lite's
own reason.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

pytest.importorskip("milvus_lite")
pymilvus = pytest.importorskip("pymilvus")

import redkite  # noqa: E402
from redkite import AsyncMilvusClient  # noqa: E402
from redkite.errors import IndexNotExistException, MilvusException  # noqa: E402

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
DIM = 8
VECTORS = np.random.default_rng(11).standard_normal((60, DIM)).astype(np.float32)
# describe_collection keys the two clients fill differently (see the xfail test below)
DESCRIBE_DIFFERENCES = ("enable_namespace", "created_timestamp", "update_timestamp")


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    from bench.servers import start_lite

    server = start_lite(tmp_path_factory.mktemp("lite") / "data", timeout=30)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pm(lite):
    client = pymilvus.MilvusClient(lite.uri, timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def rk(lite):
    client = redkite.MilvusClient(lite.uri)
    yield client
    client.close()


def both(pm, rk, scenario, *args):
    """The scenario's answers through pymilvus and through redkite (same collection name)."""
    return scenario(pm, pymilvus.DataType, *args), scenario(rk, redkite.DataType, *args)


def hits(result, digits=4):
    return [[(h["id"], round(h["distance"], digits), dict(h["entity"])) for h in q]
            for q in result]


def rows(result):
    """Plain dicts (pymilvus's query result materialises its rows lazily: compared as a list
    before that, it is unequal to the same rows)."""
    return [dict(row) for row in result]


def deleted(result):
    """Lite answers a delete with the deleted keys, which pymilvus passes on as a list (its
    pre-2.3.2 compatibility path); redkite's client always returns ``{'delete_count': n}``."""
    return len(result) if isinstance(result, list) else result["delete_count"]


def described(info):
    return {k: v for k, v in info.items() if k not in DESCRIBE_DIFFERENCES}


# ---- scenarios --------------------------------------------------------------------------
def schema_and_index(client, dt, name):
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", dt.INT64, is_primary=True)
    schema.add_field("vec", dt.FLOAT_VECTOR, dim=DIM)
    schema.add_field("title", dt.VARCHAR, max_length=64)
    schema.add_field("score", dt.FLOAT)
    schema.add_field("tags", dt.ARRAY, element_type=dt.INT64, max_capacity=4)
    schema.add_field("meta", dt.JSON)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="HNSW", metric_type="L2",
                    params={"M": 8, "efConstruction": 64})
    client.create_collection(name, schema=schema, index_params=index)
    rows = [{"id": i, "vec": VECTORS[i].tolist(), "title": f"t{i % 5}", "score": i / 2,
             "tags": [i % 3, i % 7], "meta": {"k": i % 4}, "extra": i * 10} for i in range(40)]
    return rows


def rows_flow(client, dt, name):
    out = {"insert": dict(client.insert(name, schema_and_index(client, dt, name)))}
    out["upsert"] = dict(client.upsert(name, [{
        "id": 3, "vec": VECTORS[45].tolist(), "title": "new", "score": -1.0, "tags": [],
        "meta": {"k": 9}, "extra": 0}]))
    def query(**kwargs):
        return rows(client.query(name, **kwargs))

    out["get"] = rows(client.get(name, [3, 4, 999],
                                 output_fields=["title", "score", "tags", "meta", "extra"]))
    out["get_vector"] = rows(client.get(name, [5], output_fields=["vec"]))
    out["query"] = query(filter="score > 5 and title in ['t1', 't2']",
                         output_fields=["title", "score"])
    out["page"] = query(filter="id >= 0", output_fields=["id"], limit=5, offset=3)
    out["json"] = query(filter="meta['k'] == 2", output_fields=["id"])
    out["array"] = query(filter="array_contains(tags, 2)", output_fields=["tags"])
    out["dynamic"] = query(filter="extra > 300", output_fields=["extra"])
    out["count"] = query(filter="", output_fields=["count(*)"])
    out["search"] = hits(client.search(
        name, [VECTORS[1].tolist(), VECTORS[2].tolist()], limit=3, filter="score < 15",
        output_fields=["title", "meta"], search_params={"params": {"ef": 64}}))
    out["deleted_ids"] = deleted(client.delete(name, ids=[1, 2]))
    out["deleted_filter"] = deleted(client.delete(name, filter="id >= 35"))
    out["after"] = query(filter="", output_fields=["count(*)"])
    client.drop_collection(name)
    return out


def collection_flow(client, dt, name):
    client.insert(name, schema_and_index(client, dt, name))
    out = {"described": described(client.describe_collection(name))}
    index = client.describe_index(name, "vec")
    # redkite sends the build parameters as one "params" JSON entry, which Lite keeps and
    # echoes; pymilvus sends them as separate keys, which Lite drops
    out["index_params"] = index.pop("params", None)
    out["index"] = index
    out["indexes"] = client.list_indexes(name)
    out["listed"] = name in client.list_collections()
    out["has"] = (client.has_collection(name), client.has_collection(name + "_missing"))
    out["stats"] = client.get_collection_stats(name)
    out["loaded"] = client.get_load_state(name)
    client.release_collection(name)
    out["released"] = client.get_load_state(name)
    client.load_collection(name)
    out["reloaded"] = client.get_load_state(name)
    out["count"] = rows(client.query(name, filter="", output_fields=["count(*)"]))
    client.release_collection(name)
    client.drop_index(name, "vec")
    client.drop_collection(name)
    out["dropped"] = client.has_collection(name)
    return out


def quick_flow(client, dt, name):
    client.create_collection(name, dimension=DIM)
    out = {"described": described(client.describe_collection(name)),
           "index": client.describe_index(name, "vector"),
           "insert": dict(client.insert(name, [{"id": i, "vector": VECTORS[i].tolist(),
                                                "n": i, "s": f"s{i}"} for i in range(30)]))}
    out["search"] = hits(client.search(name, [VECTORS[7].tolist()], limit=4,
                                       output_fields=["n", "s"]))
    out["filtered"] = hits(client.search(name, [VECTORS[7].tolist()], limit=4,
                                         filter="n > 10", output_fields=["n"]))
    out["query"] = rows(client.query(name, filter="n < 4", output_fields=["s"]))
    out["ids"] = rows(client.query(name, ids=[2, 29, 77], output_fields=["n"]))
    out["state"] = client.get_load_state(name)
    client.drop_collection(name)
    return out


def partition_flow(client, dt, name):
    client.create_collection(name, dimension=DIM, metric_type="L2")
    client.insert(name, [{"id": i, "vector": VECTORS[i].tolist()} for i in range(10)])
    client.create_partition(name, "p1")
    out = {"has": (client.has_partition(name, "p1"), client.has_partition(name, "p2")),
           "listed": client.list_partitions(name)}
    out["insert"] = dict(client.insert(name, [{"id": 100 + i, "vector": VECTORS[50 + i].tolist()}
                                              for i in range(5)], partition_name="p1"))
    out["query"] = rows(client.query(name, filter="id > 0", partition_names=["p1"],
                                     output_fields=["id"]))
    out["search"] = hits(client.search(name, [VECTORS[52].tolist()], limit=3,
                                       partition_names=["p1"]))
    out["default_only"] = hits(client.search(name, [VECTORS[52].tolist()], limit=2,
                                             partition_names=["_default"]))
    out["stats"] = client.get_collection_stats(name)
    client.drop_partition(name, "p1")
    out["after_drop"] = (client.list_partitions(name),
                         rows(client.query(name, filter="", output_fields=["count(*)"])))
    client.drop_collection(name)
    return out


def rename_and_databases_flow(client, dt, name):
    client.create_collection(name, dimension=DIM)
    client.rename_collection(name, name + "_renamed")
    out = {"renamed": (client.has_collection(name), client.has_collection(name + "_renamed"))}
    client.drop_collection(name + "_renamed")
    client.create_database(name + "_db")
    out["databases"] = client.list_databases()
    client.drop_database(name + "_db")
    out["dropped"] = name + "_db" in client.list_databases()
    return out


# ---- the same answers ---------------------------------------------------------------------
def test_rows_insert_upsert_get_query_search_delete(pm, rk):
    expected, got = both(pm, rk, rows_flow, "rows")
    assert got == expected
    assert got["deleted_ids"] == 2 and got["after"] == [{"count(*)": 33}]  # a real flow


def test_collection_with_schema_and_index_lifecycle(pm, rk):
    expected, got = both(pm, rk, collection_flow, "lifecycle")
    assert expected["index_params"] is None
    assert got.pop("index_params") == {"M": 8, "efConstruction": 64}
    expected.pop("index_params")
    assert got == expected
    assert got["index"]["index_type"] == "HNSW" and got["stats"] == {"row_count": 40}


def test_quick_collection(pm, rk):
    expected, got = both(pm, rk, quick_flow, "quick")
    assert got == expected
    assert [hit[0] for hit in got["search"][0]][0] == 7


def test_partitions(pm, rk):
    expected, got = both(pm, rk, partition_flow, "parts")
    assert got == expected
    assert got["listed"] == ["_default", "p1"] and len(got["query"]) == 5


def test_rename_and_databases(pm, rk):
    expected, got = both(pm, rk, rename_and_databases_flow, "moves")
    assert got == expected and got["renamed"] == (False, True)


def test_errors_carry_the_milvus_codes(pm, rk):
    pm.create_collection("errs", dimension=DIM)
    calls = [lambda c: c.describe_collection("nope"),
             lambda c: c.query("errs", filter="id >>> 3"),
             lambda c: c.drop_partition("errs", "nope"),
             lambda c: c.create_collection("errs", dimension=DIM + 1),
             lambda c: c.drop_partition("errs", "_default")]
    codes = {}
    for label, client in (("pymilvus", pm), ("redkite", rk)):
        codes[label] = []
        for call in calls:
            with pytest.raises(Exception) as caught:
                call(client)
            codes[label].append((caught.value.code, str(caught.value.message)))
    rk.drop_collection("errs")
    assert codes["redkite"] == codes["pymilvus"]
    assert [code for code, _ in codes["redkite"]] == [100, 6, 200, 1, 6]


def test_async_client_concurrent_writes_and_reads(pm, lite):
    pm.create_collection("async_c", dimension=DIM, metric_type="L2")

    async def scenario():
        async with AsyncMilvusClient(lite.uri) as client:
            inserted = await asyncio.gather(*(
                client.insert("async_c", {"id": i, "vector": VECTORS[i].tolist(), "n": i})
                for i in range(40)))
            assert sorted(r["ids"][0] for r in inserted) == list(range(40))
            found = await asyncio.gather(*(
                client.search("async_c", [VECTORS[i].tolist()], limit=2, output_fields=["n"])
                for i in range(40)))
            above = await client.query("async_c", filter="n >= 35", output_fields=["n"])
            return [hits(f) for f in found], rows(above)

    found, above = asyncio.run(scenario())
    expected = [hits(pm.search("async_c", [VECTORS[i].tolist()], limit=2, output_fields=["n"]))
                for i in range(40)]
    assert found == expected and [f[0][0][0] for f in found] == list(range(40))
    assert above == rows(pm.query("async_c", filter="n >= 35", output_fields=["n"]))
    pm.drop_collection("async_c")


# ---- what Lite does not serve --------------------------------------------------------------
def test_partition_load_and_release(pm, rk):
    pm.create_collection("part_load", dimension=DIM)
    pm.create_partition("part_load", "p1")
    try:
        pm.release_partitions("part_load", ["p1"])
    except Exception as exc:  # noqa: BLE001 (pymilvus passes Lite's grpc error through)
        if "does not support" in str(exc):
            pytest.skip(f"milvus-lite: {exc.details() if hasattr(exc, 'details') else exc}")
        raise
    finally:
        pm.drop_collection("part_load")
    pytest.fail("milvus-lite serves ReleasePartitions now: compare redkite's client here")


# ---- redkite defects: the answers differ -----------------------------------------------------
def test_list_indexes_without_an_index_is_empty(rk):
    rk.create_collection("no_index", dimension=DIM)
    try:
        rk.release_collection("no_index")
        rk.drop_index("no_index", "vector")
        assert rk.list_indexes("no_index") == []
    finally:
        rk.drop_collection("no_index")


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="redkite gRPC client: describe_collection has no "
                   "'enable_namespace' and keeps created/update_timestamp when they are 0; "
                   "pymilvus always gives the first and drops zero timestamps")
def test_describe_collection_has_the_pymilvus_keys(pm, rk):
    expected, got = both(pm, rk, lambda c, dt, name: (
        c.create_collection(name, dimension=DIM), c.describe_collection(name),
        c.drop_collection(name))[1], "keys")
    assert got == expected


def test_partition_stats(pm, rk):
    def stats(client, dt, name):
        client.create_collection(name, dimension=DIM)
        client.insert(name, [{"id": i, "vector": VECTORS[i].tolist()} for i in range(6)])
        try:
            return client.get_partition_stats(name, "_default")
        finally:
            client.drop_collection(name)

    expected, got = both(pm, rk, stats, "pstats")
    assert expected == {"row_count": 6}
    assert got == expected
