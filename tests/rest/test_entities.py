"""entities/*: rows in and out over REST (every vector kind, exact int64, JSON and ARRAY
fields, dynamic keys), query windows, search options and hybrid search."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from redkite import DataType

from .conftest import error, ok

BIG = 2 ** 62 + 7  # beyond 2^53: JSON numbers readers would round


@pytest.fixture(scope="module")
def kinds(rest_server):
    """A collection with a field of every output kind, four rows, loaded."""
    client = rest_server.client
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("bits", DataType.BINARY_VECTOR, dim=16)
    schema.add_field("half", DataType.FLOAT16_VECTOR, dim=2)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("meta", DataType.JSON, nullable=True)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3)
    schema.add_field("count", DataType.INT64)
    index = client.prepare_index_params()
    index.add_index("dense", index_type="FLAT", metric_type="L2")
    index.add_index("bits", index_type="BIN_FLAT", metric_type="HAMMING")
    index.add_index("half", index_type="FLAT", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection("kinds", schema=schema, index_params=index)
    half = np.array([0.5, -1.0], dtype=np.float16).tobytes()
    rows = [
        {"id": 1, "dense": [0.0, 0.0], "bits": [255, 0], "half": [0.5, -1.0],
         "sparse": {"1": 0.5, "7": 0.25}, "meta": {"a": 1}, "tags": [1, 2], "count": BIG,
         "colour": "red"},
        {"id": str(BIG), "dense": [1.0, 0.0], "bits": base64.b64encode(b"\x0f\x0f").decode(),
         "half": base64.b64encode(half).decode(), "sparse": {"indices": [2], "values": [1.0]},
         "meta": None, "tags": [], "count": "5", "colour": "blue"},
        {"id": 3, "dense": [2.0, 0.0], "bits": [1, 1], "half": [1, 1],
         "sparse": {"3": 1.0}, "meta": [1, "x"], "tags": [BIG], "count": -1},
    ]
    inserted = ok(rest_server.post("entities/insert", {"collectionName": "kinds",
                                                       "data": rows}))
    assert inserted == {"insertCount": 3, "insertIds": [1, str(BIG), 3]}
    return rows


def test_rows_come_back_in_the_rest_shapes(rest_server, kinds):
    data = ok(rest_server.post("entities/query", {"collectionName": "kinds",
                                                  "filter": "id > 0"}))
    assert [row["id"] for row in data] == [1, 3, str(BIG)]  # primary-key order
    first, third, second = data
    assert first["dense"] == [0.0, 0.0]
    assert base64.b64decode(first["bits"]) == b"\xff\x00"
    assert second["bits"] == base64.b64encode(b"\x0f\x0f").decode()
    assert np.frombuffer(base64.b64decode(first["half"]), np.float16).tolist() == [0.5, -1.0]
    assert first["sparse"] == {"1": 0.5, "7": 0.25} and second["sparse"] == {"2": 1.0}
    assert first["meta"] == '{"a":1}' or first["meta"].replace(" ", "") == '{"a":1}'
    assert second["meta"] is None
    assert first["tags"] == [1, 2] and second["tags"] == [] and third["tags"] == [BIG]
    assert first["count"] == str(BIG) and second["count"] == 5
    assert first["colour"] == "red" and "colour" not in third


def test_int64_as_strings_when_the_client_asks(rest_server, kinds):
    headers = {"Accept-Type-Allow-Int64": "false"}
    rows = ok(rest_server.post("entities/get", {"collectionName": "kinds", "id": [1, 3],
                                                "outputFields": ["count", "tags"]}, headers))
    assert rows == [{"id": "1", "count": str(BIG), "tags": ["1", "2"]},
                    {"id": "3", "count": "-1", "tags": [str(BIG)]}]
    count = ok(rest_server.post("entities/query", {"collectionName": "kinds",
                                                   "outputFields": ["count(*)"]}, headers))
    assert count == [{"count(*)": "3"}]


def test_get_by_ids_and_output_field_defaults(rest_server, kinds):
    assert ok(rest_server.post("entities/get", {"collectionName": "kinds", "id": str(BIG),
                                                "outputFields": []})) == [{"id": str(BIG)}]
    everything = ok(rest_server.post("entities/get", {"collectionName": "kinds", "id": 3}))
    assert set(everything[0]) >= {"id", "dense", "bits", "half", "sparse", "meta", "tags"}
    assert ok(rest_server.post("entities/get", {"collectionName": "kinds",
                                                "id": [404]})) == []
    assert error(rest_server.post("entities/get", {"collectionName": "kinds", "id": 1.5}),
                 1806)
    assert error(rest_server.post("entities/get", {"collectionName": "kinds", "id": 0}), 1802)


def test_query_filters_with_template_params_limit_and_offset(rest_server, kinds):
    rows = ok(rest_server.post("entities/query", {
        "collectionName": "kinds", "filter": "count < {top} and id in {ids}",
        "exprParams": {"top": BIG, "ids": [1, 3, BIG]}, "outputFields": ["id"],
        "limit": 1, "offset": 1}))
    assert rows == [{"id": str(BIG)}]  # rows 3 and BIG match (count -1 and 5); offset 1
    assert ok(rest_server.post("entities/query", {"collectionName": "kinds",
                                                  "filter": "colour == 'blue'",
                                                  "outputFields": ["colour"]})) == [
        {"id": str(BIG), "colour": "blue"}]


def test_search_rows_topks_and_options(rest_server, kinds):
    reply = rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense", "data": [[0.1, 0.0], [1.9, 0.0]],
        "limit": 2, "outputFields": ["count"]})
    assert reply[1]["topks"] == [2, 2]
    rows = reply[1]["data"]
    assert [r["id"] for r in rows] == [1, str(BIG), 3, str(BIG)]  # per query, concatenated
    assert rows[0]["distance"] == pytest.approx(0.01, rel=1e-5)
    assert rows[0]["count"] == str(BIG)
    ranged = ok(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense", "data": [[0.0, 0.0]], "limit": 5,
        "searchParams": {"params": {"radius": 2.0, "range_filter": 0.5}}}))
    assert [r["id"] for r in ranged] == [str(BIG)]
    assert "metric type not match" in error(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense", "data": [[0.0, 0.0]],
        "searchParams": {"metricType": "COSINE"}}), 1100)
    assert "annsField" in error(rest_server.post("entities/search", {
        "collectionName": "kinds", "data": [[0.0, 0.0]]}), 1100)


def test_search_every_vector_kind_and_by_ids(rest_server, kinds):
    bits = ok(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "bits", "limit": 1,
        "data": [base64.b64encode(b"\xff\x00").decode()]}))
    assert bits == [{"id": 1, "distance": 0.0}]
    sparse = ok(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "sparse", "limit": 1,
        "data": [{"indices": [7], "values": [1.0]}]}))
    assert sparse[0]["id"] == 1
    by_ids = ok(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense", "ids": [3], "limit": 1}))
    assert by_ids == [{"id": 3, "distance": 0.0}]
    assert error(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense", "ids": [3], "data": [[0, 0]]}), 1100)
    assert error(rest_server.post("entities/search", {
        "collectionName": "kinds", "annsField": "dense"}), 1802)


def test_hybrid_search_and_its_alias(rest_server, kinds):
    body = {"collectionName": "kinds", "limit": 2, "outputFields": ["colour"],
            "search": [{"data": [[0.0, 0.0]], "annsField": "dense", "limit": 3},
                       {"data": [{"2": 1.0}], "annsField": "sparse", "limit": 3}],
            "rerank": {"strategy": "weighted", "params": {"weights": [0.5, 0.5]}}}
    first = rest_server.post("entities/hybrid_search", body)
    assert first == rest_server.post("entities/advanced_search", body)
    assert first[1]["topks"] == [2]
    assert [r["id"] for r in first[1]["data"]] == [str(BIG), 1]
    del body["rerank"]
    assert "rank" in error(rest_server.post("entities/hybrid_search", body), 1100)


def test_insert_upsert_partial_update_and_delete(rest_server):
    rest_server.client.create_collection("writes", dimension=2)
    ok(rest_server.post("entities/insert", {"collectionName": "writes", "data": [
        {"id": 1, "vector": [1, 0], "name": "a", "n": 1},
        {"id": 2, "vector": [0, 1], "name": "b", "n": 2}]}))
    upserted = ok(rest_server.post("entities/upsert", {
        "collectionName": "writes", "partialUpdate": True,
        "data": [{"id": 1, "n": 10}, {"id": 3, "vector": [1, 1], "name": "c"}]}))
    assert upserted == {"upsertCount": 2, "upsertIds": [1, 3]}
    rows = rest_server.client.query("writes", filter="id > 0", output_fields=["*"])
    assert [(r["id"], r.get("name"), r.get("n")) for r in rows] == [
        (1, "a", 10), (2, "b", 2), (3, "c", None)]
    assert ok(rest_server.post("entities/delete", {"collectionName": "writes",
                                                   "filter": "id in {ids}",
                                                   "exprParams": {"ids": [1, 2]}})) == {
        "deleteCount": 2}
    assert error(rest_server.post("entities/delete", {"collectionName": "writes"}), 1802)
    assert rest_server.client.query("writes", filter="id > 0") == [
        {"id": 3, "vector": [1.0, 1.0], "name": "c"}]


def test_insert_rejects_bad_rows_with_1804_and_writes_nothing(rest_server):
    rest_server.client.create_collection("strict", dimension=2)
    for data, code in (([1, 2], 1804), ({"id": 1}, 1804),
                       ([{"id": 1, "vector": [1, 0], "$meta": {}}], 1804),
                       ([{"id": 1, "vector": "!!"}], 1100),
                       ([{"id": "x1", "vector": [1, 0]}], 1804)):
        error(rest_server.post("entities/insert", {"collectionName": "strict", "data": data}),
              code)
    assert rest_server.client.get_collection_stats("strict")["row_count"] == 0


def test_query_window_beyond_16384_rows(rest_server):
    rest_server.client.create_collection("wide", dimension=2)
    ids = np.arange(17000)
    vectors = np.ones((len(ids), 2), np.float32)
    rest_server.client.insert("wide", [{"id": int(i), "vector": v}
                                       for i, v in zip(ids, vectors)])
    rows = ok(rest_server.post("entities/query", {
        "collectionName": "wide", "filter": "", "outputFields": ["id"], "offset": 16000,
        "limit": 900}))
    assert [r["id"] for r in rows] == list(range(16000, 16900))
    everything = ok(rest_server.post("entities/query", {
        "collectionName": "wide", "outputFields": ["id"], "limit": 17000}))
    assert len(everything) == 17000 and everything[-1] == {"id": 16999}


def test_search_window_beyond_16384_hits(rest_server):
    """Milvus refuses limit + offset > 16,384; the REST API pages deeper, in order."""
    client = rest_server.client
    client.create_collection("deep", dimension=4, metric_type="L2")
    vectors = np.random.default_rng(4).standard_normal((17500, 4)).astype(np.float32)
    client.insert("deep", [{"id": i, "vector": vectors[i]} for i in range(len(vectors))])
    query = vectors[0] + 0.5
    order = np.argsort(((vectors - query) ** 2).sum(axis=1), kind="stable")
    page = ok(rest_server.post("entities/search", {
        "collectionName": "deep", "data": [query.tolist()], "limit": 600, "offset": 16500,
        "outputFields": ["id"]}))
    assert [hit["id"] for hit in page] == order[16500:17100].tolist()
    assert "limit + offset" in error(rest_server.post("entities/search", {
        "collectionName": "deep", "data": [query.tolist()], "limit": 100,
        "offset": (1 << 20)}), 1100)
    client.drop_collection("deep")


def test_full_text_search_with_query_text(rest_server):
    schema = {"autoID": True, "fields": [
        {"fieldName": "pk", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "text", "dataType": "VarChar",
         "elementTypeParams": {"max_length": 128, "enable_analyzer": True}},
        {"fieldName": "sparse", "dataType": "SparseFloatVector"}],
        "functions": [{"name": "bm25", "type": "BM25", "inputFieldNames": ["text"],
                       "outputFieldNames": ["sparse"]}]}
    ok(rest_server.post("collections/create", {
        "collectionName": "texts", "schema": schema,
        "indexParams": [{"fieldName": "sparse", "metricType": "BM25",
                         "indexType": "SPARSE_INVERTED_INDEX"}]}))
    texts = ["the quick brown fox", "lazy dogs sleep all day", "a fox and a dog"]
    rows = [{"text": texts[0]}, {"pk": None, "text": texts[1]}, {"pk": "", "text": texts[2]}]
    ids = ok(rest_server.post("entities/insert", {  # an empty auto-id key is skipped
        "collectionName": "texts", "data": rows}))["insertIds"]
    assert "function output field" in error(rest_server.post("entities/insert", {
        "collectionName": "texts", "data": [{"text": "x", "sparse": {"1": 0.5}}]}), 1100)
    hits = ok(rest_server.post("entities/search", {
        "collectionName": "texts", "data": ["fox"], "limit": 5, "outputFields": ["text"]}))
    assert {h["pk"] for h in hits} == {ids[0], ids[2]}
    assert all("fox" in h["text"] for h in hits)
