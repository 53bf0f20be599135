"""AsyncMilvusClient on an embedded database: the same answers and errors as MilvusClient,
an event loop that keeps running while the engine works, any loop, concurrent calls, close.

pytest-asyncio is not a dependency: each test drives its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from redkite import (
    AnnSearchRequest, AsyncMilvusClient, DataType, MilvusClient, MilvusException, RRFRanker,
)
from redkite.client._async import AsyncQueryIterator, AsyncSearchIterator
from redkite.engine.database import Database

DIM = 8
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def vectors():
    return np.random.default_rng(7).standard_normal((120, DIM)).astype(np.float32)


def make_rows(vectors, start=0):
    return [{"id": start + i, "vector": vectors[i], "n": start + i} for i in range(len(vectors))]


def hit_list(result):
    return [[(hit["id"], round(hit["distance"], 5), dict(hit["entity"])) for hit in hits]
            for hits in result]


async def count(client, name, **kwargs):
    rows = await client.query(name, filter="", output_fields=["count(*)"], **kwargs)
    return rows[0]["count(*)"]


# ---- the main flows ----------------------------------------------------------------------
def test_rows_search_query_get_delete_match_the_sync_client(tmp_path, vectors):
    path = str(tmp_path / "a.db")

    async def scenario():
        async with AsyncMilvusClient(path) as client:
            await client.create_collection("c", dimension=DIM, metric_type="L2")
            inserted = await client.insert("c", make_rows(vectors[:100]))
            assert inserted["insert_count"] == 100 and inserted["ids"] == list(range(100))
            upserted = await client.upsert("c", [{"id": 5, "vector": vectors[110], "n": -5}])
            assert upserted["upsert_count"] == 1
            assert (await client.get("c", [5, 6], output_fields=["n"])) == [
                {"id": 5, "n": -5}, {"id": 6, "n": 6}]
            assert (await client.get("c", [])) == []
            assert (await client.delete("c", ids=[0, 1]))["delete_count"] == 2
            assert (await client.delete("c", filter="n >= 90"))["delete_count"] == 10
            assert await count(client, "c") == 88
            rows = await client.query("c", filter="n < 5", output_fields=["n"])
            assert rows == [{"id": 2, "n": 2}, {"id": 3, "n": 3}, {"id": 4, "n": 4},
                            {"id": 5, "n": -5}]
            return hit_list(await client.search("c", data=vectors[2:5], limit=4,
                                                output_fields=["n"]))

    found = asyncio.run(scenario())
    assert [hits[0][:2] for hits in found] == [(2, 0.0), (3, 0.0), (4, 0.0)]
    with MilvusClient(path) as sync:
        assert hit_list(sync.search("c", data=vectors[2:5], limit=4,
                                    output_fields=["n"])) == found


def test_hybrid_search_matches_the_sync_client(tmp_path, vectors):
    path = str(tmp_path / "h.db")
    reqs = [AnnSearchRequest([vectors[3]], "v", {}, 10),
            AnnSearchRequest([vectors[4]], "w", {"metric_type": "IP"}, 10, expr="id > 10")]

    async def scenario():
        async with AsyncMilvusClient(path) as client:
            schema = client.create_schema()
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
            schema.add_field("w", DataType.FLOAT_VECTOR, dim=DIM)
            index = client.prepare_index_params()
            index.add_index("v", index_type="FLAT", metric_type="L2")
            index.add_index("w", index_type="FLAT", metric_type="IP")
            await client.create_collection("h", schema=schema, index_params=index)
            await client.insert("h", [{"id": i, "v": vectors[i], "w": vectors[-i - 1]}
                                      for i in range(60)])
            return hit_list(await client.hybrid_search("h", reqs, RRFRanker(), limit=5))

    found = asyncio.run(scenario())
    assert len(found) == 1 and len(found[0]) == 5 and 3 in [hit[0] for hit in found[0]]
    with MilvusClient(path) as sync:
        assert hit_list(sync.hybrid_search("h", reqs, RRFRanker(), limit=5)) == found


def test_iterators_are_async_iterators_with_pymilvus_next(tmp_path, vectors):
    path = str(tmp_path / "i.db")

    async def scenario():
        async with AsyncMilvusClient(path) as client:
            await client.create_collection("c", dimension=DIM, metric_type="L2")
            await client.insert("c", make_rows(vectors[:100]))
            rows = await client.query_iterator("c", batch_size=30, filter="n >= 10",
                                               output_fields=["n"])
            assert isinstance(rows, AsyncQueryIterator)
            pages = [page async for page in rows]
            assert [len(p) for p in pages] == [30, 30, 30]
            assert [r["id"] for p in pages for r in p] == list(range(10, 100))
            assert await rows.next() == []  # pymilvus: an empty page when done
            hits = await client.search_iterator("c", data=[vectors[0]], batch_size=25,
                                                limit=60)
            assert isinstance(hits, AsyncSearchIterator)
            first = await hits.next()
            rest = [page async for page in hits]
            await hits.close()
            assert await hits.next() == []
            closed = await client.query_iterator("c", batch_size=10)
            await closed.close()
            assert await closed.next() == []
            return [[h["id"] for h in page] for page in [first, *rest]]

    pages = asyncio.run(scenario())
    assert [len(p) for p in pages] == [25, 25, 10]
    with MilvusClient(path) as sync:
        it = sync.search_iterator("c", data=[vectors[0]], batch_size=25, limit=60)
        assert [[h["id"] for h in page] for page in it] == pages


def test_partitions_indexes_aliases_databases(tmp_path, vectors):
    async def scenario():
        async with AsyncMilvusClient(str(tmp_path / "p.db")) as client:
            schema = client.create_schema()
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
            await client.create_collection("c", schema=schema)
            index = client.prepare_index_params("vector", index_type="HNSW",
                                                metric_type="L2", params={"M": 8})
            await client.create_index("c", index)
            assert await client.list_indexes("c") == ["vector"]
            assert (await client.describe_index("c", "vector"))["index_type"] == "HNSW"
            await client.load_collection("c")
            await client.create_partition("c", "p1")
            assert await client.has_partition("c", "p1")
            assert await client.list_partitions("c") == ["_default", "p1"]
            await client.insert("c", [{"id": i, "vector": vectors[i]} for i in range(10)])
            await client.insert("c", [{"id": 100, "vector": vectors[50]}], partition_name="p1")
            assert await count(client, "c", partition_names=["p1"]) == 1
            assert await client.get_partition_stats("c", "p1") == {"row_count": 1}
            await client.create_alias("c", "al")
            assert (await client.describe_alias("al"))["collection_name"] == "c"
            assert await count(client, "al") == 11
            await client.release_collection("c")
            await client.drop_partition("c", "p1")
            await client.drop_index("c", "vector")
            assert await client.list_indexes("c") == []
            await client.create_database("other")
            assert await client.list_databases() == ["default", "other"]
            await client.use_database("other")
            assert await client.list_collections() == []
            await client.use_database("default")
            assert await client.list_collections() == ["c"]
            assert (await client.get_server_version(detail=True))["deploy_mode"] == "embedded"

    asyncio.run(scenario())


# ---- errors --------------------------------------------------------------------------------
FAILING_CALLS = [
    ("insert", ("missing", [{"id": 1}]), {}),
    ("insert", ("c", [{"id": 1, "vector": [0.0] * 3}]), {}),
    ("search", ("c",), {"data": [[0.0] * DIM], "nonsense": 1}),
    ("query", ("c",), {"filter": "n >>> 3"}),
    ("query", ("c",), {"filter": "id > 1", "ids": [1]}),
    ("get", ("c", object()), {}),
    ("delete", ("c",), {"ids": [1], "filter": "id > 0"}),
    ("create_collection", ("c2",), {}),
    ("describe_collection", ("",), {}),
    ("use_database", ("missing",), {}),
    ("query_iterator", ("c",), {"batch_size": 0}),
    ("search_iterator", ("c", [[0.0] * DIM, [1.0] * DIM]), {}),
    ("compact", ("c",), {"is_clustering": True}),
]


def test_errors_are_the_same_milvus_exceptions(tmp_path, vectors):
    path = str(tmp_path / "e.db")
    with MilvusClient(path) as sync:
        sync.create_collection("c", dimension=DIM)
        expected = []
        for method, args, kwargs in FAILING_CALLS:
            with pytest.raises(MilvusException) as caught:
                getattr(sync, method)(*args, **kwargs)
            expected.append((type(caught.value), caught.value.code, str(caught.value)))

    async def scenario():
        got = []
        async with AsyncMilvusClient(path) as client:
            for method, args, kwargs in FAILING_CALLS:
                with pytest.raises(MilvusException) as caught:
                    await getattr(client, method)(*args, **kwargs)
                got.append((type(caught.value), caught.value.code, str(caught.value)))
        return got

    assert asyncio.run(scenario()) == expected


def test_unknown_keyword_at_construction_and_unknown_db_name_at_first_use(tmp_path):
    with pytest.raises(MilvusException, match="AsyncMilvusClient.*nonsense"):
        AsyncMilvusClient(str(tmp_path / "x.db"), nonsense=1)
    with pytest.raises(MilvusException, match="database not found"):
        MilvusClient(str(tmp_path / "x.db"), db_name="missing")  # sync: at construction
    assert os.path.realpath(tmp_path / "x.db") not in Database._registry  # released
    client = AsyncMilvusClient(str(tmp_path / "x.db"), db_name="missing")

    async def scenario():
        with pytest.raises(MilvusException, match="database not found"):
            await client.list_collections()
        await client.close()

    asyncio.run(scenario())


# ---- the event loop keeps running ------------------------------------------------------
async def heartbeat_during(operation) -> tuple[float, list[float]]:
    """(seconds the operation took, the gaps between 1 ms heartbeats meanwhile)."""
    gaps: list[float] = []
    running = True

    async def beat():
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(beat())
    await asyncio.sleep(0.005)
    gaps.clear()
    start = time.perf_counter()
    await operation()
    took = time.perf_counter() - start
    running = False
    await task
    return took, gaps


def kept_ticking(took: float, gaps: list[float]) -> bool:
    """The loop ran throughout: a tick every few ms typically, never silent for (nearly)
    the whole call. The engine's GIL-bound steps (a numpy argpartition, a garbage
    collection) can still delay single ticks by tens of ms on a loaded machine."""
    return (len(gaps) >= took / 0.05 and statistics.median(gaps) <= 0.010
            and max(gaps) < 0.9 * took)


def test_the_loop_keeps_ticking_during_a_large_insert_and_search(tmp_path):
    data = np.random.default_rng(3).standard_normal((20_000, 32)).astype(np.float32)
    rows = [{"id": i, "vector": data[i]} for i in range(len(data))]
    queries = data[:400]
    path = str(tmp_path / "big.db")

    async def scenario():
        async with AsyncMilvusClient(path) as client:
            await client.create_collection("big", dimension=32, metric_type="L2")
            await client.insert("big", rows[:10])  # first use: lazy imports, opening
            await client.search("big", data=queries[:1], limit=5)
            insert = await heartbeat_during(lambda: client.insert("big", rows))
            search = await heartbeat_during(
                lambda: client.search("big", data=queries, limit=50))
            with MilvusClient(path) as sync:  # the control: a blocking call is noticed

                async def blocking():
                    sync.search("big", data=queries, limit=50)
                blocked = await heartbeat_during(blocking)
        return insert, search, blocked

    insert, search, blocked = asyncio.run(scenario())
    for took, gaps in (insert, search):
        assert kept_ticking(took, gaps), (took, len(gaps), statistics.median(gaps), max(gaps))
    assert not kept_ticking(*blocked)


def test_engine_calls_run_on_the_transports_own_pool(tmp_path, vectors):
    class Refusing(ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            raise AssertionError("the loop's default executor was used")

    engine_threads: set[str] = set()

    async def scenario():
        asyncio.get_running_loop().set_default_executor(Refusing())
        async with AsyncMilvusClient(str(tmp_path / "pool.db")) as client:
            await client.create_collection("c", dimension=DIM)
            await client.insert("c", make_rows(vectors[:10]))
            original = client._transport.call

            def recording(operation, **arguments):
                engine_threads.add(threading.current_thread().name)
                return original(operation, **arguments)
            client._transport.call = recording
            assert await count(client, "c") == 10
        return threading.current_thread().name

    loop_thread = asyncio.run(scenario())
    assert engine_threads and loop_thread not in engine_threads
    assert all(name.startswith("redkite-embedded") for name in engine_threads)


# ---- any loop, lazily --------------------------------------------------------------------
def test_built_outside_a_loop_opens_lazily_and_serves_successive_loops(tmp_path, vectors):
    path = tmp_path / "lazy.db"
    client = AsyncMilvusClient(str(path))  # no running loop here
    assert not path.exists()  # nothing opened until the first call

    async def first():
        await client.create_collection("c", dimension=DIM)
        await client.insert("c", make_rows(vectors[:20]))
        return await client.query_iterator("c", batch_size=15)

    rows = asyncio.run(first())
    assert path.is_dir()

    async def second():  # a new loop: the client and its iterator keep working
        assert await count(client, "c") == 20
        assert [len(page) for page in [await rows.next(), await rows.next()]] == [15, 5]
        await client.insert("c", make_rows(vectors[20:30], start=20))

    asyncio.run(second())
    asyncio.run(client.close())
    with MilvusClient(str(path)) as sync:
        assert sync.get_collection_stats("c")["row_count"] == 30


def test_built_inside_a_running_loop_it_opens_on_the_first_call(tmp_path, vectors):
    path = tmp_path / "inside.db"

    async def scenario():
        client = AsyncMilvusClient(str(path))
        assert not path.exists()
        await client.create_collection("c", dimension=DIM)
        assert path.is_dir()
        await client.close()

    asyncio.run(scenario())


# ---- concurrency and closing -----------------------------------------------------------
def test_concurrent_calls_from_one_client_through_gather(tmp_path, vectors):
    async def scenario():
        async with AsyncMilvusClient(str(tmp_path / "g.db")) as client:
            await client.create_collection("c", dimension=DIM, metric_type="L2")
            inserts = [client.insert("c", make_rows(vectors[i * 10:(i + 1) * 10], start=i * 10))
                       for i in range(12)]
            results = await asyncio.gather(*inserts)
            assert sorted(i for r in results for i in r["ids"]) == list(range(120))
            searches = [client.search("c", data=[vectors[i]], limit=1) for i in range(40)]
            found = await asyncio.gather(*searches)
            assert [hits[0][0]["id"] for hits in found] == list(range(40))
            mixed = await asyncio.gather(count(client, "c"), client.get("c", [7]),
                                         client.delete("c", ids=[119]))
            assert mixed[0] in (119, 120) and mixed[1][0]["id"] == 7
            assert mixed[2]["delete_count"] == 1
            assert await count(client, "c") == 119

    asyncio.run(scenario())


def test_close_releases_the_database_and_later_calls_fail(tmp_path):
    path = str(tmp_path / "close.db")

    async def scenario():
        client = AsyncMilvusClient(path)
        other = AsyncMilvusClient(path)
        await client.create_collection("c", dimension=DIM)
        assert await other.has_collection("c")
        await client.close()
        await client.close()  # idempotent
        with pytest.raises(MilvusException, match="closed"):
            await client.has_collection("c")
        assert await other.has_collection("c")  # the shared database stays open for it
        async with other:
            pass
        with pytest.raises(MilvusException, match="closed"):
            await other.list_collections()

    asyncio.run(scenario())
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from redkite import MilvusClient; "
         "c = MilvusClient(sys.argv[1]); print(c.list_collections()); c.close()", path],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and probe.stdout.strip() == "['c']", probe.stderr
