"""The same scenario through REST and through redkite's MilvusClient: the same rows, the
same distances and ranks, the same error codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from redkite import DataType
from redkite.errors import MilvusException

from .conftest import ok

ROWS = [{"id": i, "vec": np.random.default_rng(i).random(4).round(3).tolist(),
         "title": f"t{i % 3}", "meta": {"n": i}, "nums": [i, i + 1], "extra": i * 2}
        for i in range(1, 31)]
REST_SCHEMA = {"enableDynamicField": True, "fields": [
    {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
    {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
    {"fieldName": "title", "dataType": "VarChar", "elementTypeParams": {"max_length": 8}},
    {"fieldName": "meta", "dataType": "JSON"},
    {"fieldName": "nums", "dataType": "Array", "elementDataType": "Int64",
     "elementTypeParams": {"max_capacity": 4}}]}
INDEX = [{"fieldName": "vec", "indexName": "vec", "metricType": "IP", "indexType": "HNSW",
          "params": {"M": 8, "efConstruction": 40}}]


@pytest.fixture(scope="module")
def pair(rest_server):
    """Collection "by_rest" made and filled over REST, "by_client" over MilvusClient."""
    client = rest_server.client
    ok(rest_server.post("collections/create", {"collectionName": "by_rest",
                                               "schema": REST_SCHEMA, "indexParams": INDEX}))
    ok(rest_server.post("entities/insert", {"collectionName": "by_rest", "data": ROWS}))
    schema = client.create_schema(enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("title", DataType.VARCHAR, max_length=8)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("nums", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    index = client.prepare_index_params()
    index.add_index("vec", index_name="vec", index_type="HNSW", metric_type="IP",
                    params={"M": 8, "efConstruction": 40})
    client.create_collection("by_client", schema=schema, index_params=index)
    client.insert("by_client", ROWS)
    return client


def _plain(rows: list[dict]) -> list[dict]:
    """REST rows with JSON fields decoded (REST returns the JSON text, as Milvus)."""
    return [{k: json.loads(v) if k == "meta" and v is not None else v for k, v in r.items()}
            for r in rows]


def test_described_schemas_agree(rest_server, pair):
    by_rest = pair.describe_collection("by_rest")
    by_client = pair.describe_collection("by_client")
    for key in ("fields", "functions", "enable_dynamic_field", "auto_id"):
        assert by_rest[key] == by_client[key], key
    assert pair.describe_index("by_rest", "vec")["index_type"] == "HNSW"


def test_query_and_get_rows_agree(rest_server, pair):
    body = {"filter": "title == 't1' and extra > 4", "outputFields": ["*"], "limit": 5,
            "offset": 1}
    rest_rows = ok(rest_server.post("entities/query", {"collectionName": "by_rest", **body}))
    client_rows = pair.query("by_client", filter=body["filter"], output_fields=["*"],
                             limit=5, offset=1)
    assert _plain(rest_rows) == client_rows and len(client_rows) == 5
    rest_get = ok(rest_server.post("entities/get", {"collectionName": "by_client",
                                                    "id": [3, 1, 30]}))
    assert _plain(rest_get) == pair.get("by_client", ids=[3, 1, 30])


def test_search_hits_and_distances_agree(rest_server, pair):
    queries = [ROWS[4]["vec"], [0.1, 0.9, 0.2, 0.3]]
    reply = rest_server.post("entities/search", {
        "collectionName": "by_rest", "data": queries, "limit": 4, "offset": 1,
        "filter": "id > {low}", "exprParams": {"low": 2}, "outputFields": ["title", "extra"],
        "searchParams": {"params": {"ef": 32}}})[1]
    hits = pair.search("by_client", queries, limit=4, offset=1, filter="id > {low}",
                       filter_params={"low": 2}, output_fields=["title", "extra"],
                       search_params={"params": {"ef": 32}})
    assert reply["topks"] == [len(h) for h in hits]
    flat = [hit for per_query in hits for hit in per_query]
    assert [r["id"] for r in reply["data"]] == [h["id"] for h in flat]
    assert [r["distance"] for r in reply["data"]] == [h["distance"] for h in flat]
    assert [(r["title"], r["extra"]) for r in reply["data"]] == [
        (h["entity"]["title"], h["entity"]["extra"]) for h in flat]


def test_hybrid_search_agrees(rest_server, pair):
    from pymilvus import AnnSearchRequest, MilvusClient, RRFRanker  # redkite's gRPC
    # client has no hybrid_search: compare with the official client on the same server

    first, second = ROWS[0]["vec"], ROWS[9]["vec"]
    rest_rows = ok(rest_server.post("entities/hybrid_search", {
        "collectionName": "by_rest", "limit": 5, "outputFields": ["title"],
        "search": [{"data": [first], "annsField": "vec", "limit": 8},
                   {"data": [second], "annsField": "vec", "limit": 8, "filter": "id < 20"}],
        "rerank": {"strategy": "rrf", "params": {"k": 10}}}))
    official = MilvusClient(rest_server.url, timeout=30)
    hits = official.hybrid_search("by_client", [
        AnnSearchRequest([first], "vec", {}, limit=8),
        AnnSearchRequest([second], "vec", {}, limit=8, expr="id < 20")],
        RRFRanker(10), limit=5, output_fields=["title"])[0]
    official.close()
    assert [(r["id"], r["distance"], r["title"]) for r in rest_rows] == [
        (h["id"], h["distance"], h["entity"]["title"]) for h in hits]


def _code(call) -> int:
    try:
        call()
    except MilvusException as exc:
        return exc.code
    return 0


@pytest.mark.parametrize("path,body,client_call", [
    ("entities/query", {"collectionName": "nowhere", "filter": "id > 0"},
     lambda c: c.query("nowhere", filter="id > 0")),
    ("entities/query", {"collectionName": "by_client", "filter": "id >>> 0"},
     lambda c: c.query("by_client", filter="id >>> 0")),
    ("entities/query", {"collectionName": "by_client", "filter": "id > 0",
                        "partitionNames": ["nope"], "dbName": "default"},
     lambda c: c.query("by_client", filter="id > 0", partition_names=["nope"])),
    ("entities/search", {"collectionName": "by_client", "data": [[1, 2]]},
     lambda c: c.search("by_client", [[1, 2]])),
    ("entities/search", {"collectionName": "by_client", "data": [[1, 2, 3, 4]],
                         "offset": -1},
     lambda c: c.search("by_client", [[1, 2, 3, 4]], offset=-1)),
    ("entities/insert", {"collectionName": "by_client", "data": [{"id": 1}]},
     lambda c: c.insert("by_client", [{"id": 1}])),
    ("collections/load", {"collectionName": "nowhere"},
     lambda c: c.load_collection("nowhere")),
    ("entities/delete", {"collectionName": "by_client", "filter": "bad ==="},
     lambda c: c.delete("by_client", filter="bad ===")),
])
def test_error_codes_agree(rest_server, pair, path, body, client_call):
    status, payload = rest_server.post(path, body)
    assert status == 200 and payload["code"] != 0
    assert payload["code"] == _code(lambda: client_call(pair))
