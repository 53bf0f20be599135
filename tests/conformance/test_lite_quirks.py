"""Places where milvus-lite 3.2.2 differs from a real Milvus server.

redkite follows Milvus, not Lite's bug.  Every test has two halves:

1. a Lite-only assertion of the quirk *as observed* (so we notice when a Lite
   upgrade changes it) — runs even when redkite is not importable;
2. the Milvus-correct assertion on redkite.

(Filter-language gaps of Lite — ``%``, chained ranges, JSON ``in``,
``filter_params`` templates — live in test_filters.py.)
"""

from __future__ import annotations

import pytest

from . import helpers as H
from .helpers import Err, capture, count


def _rk(pair):
    if pair.selftest:
        pytest.skip("selftest: the redkite side is Lite")
    return pair.rk


def _small(client, name, *, dim=4, n=5, **kw):
    client.create_collection(name, dimension=dim, **kw)
    if n:
        client.insert(name, [{"id": i, "vector": [float(i + 1)] + [1.0] * (dim - 1), "x": i}
                             for i in range(n)])


def test_delete_returns_pk_list(pair):
    """Lite: delete() -> plain list of pks; Milvus >= 2.3.2: {'delete_count': n}."""
    name = pair.uniq("q_delete")
    _small(pair.lite, name, n=10)
    res = pair.lite.delete(name, ids=[1, 2, 3])
    assert isinstance(res, list) and sorted(res) == [1, 2, 3]
    res = pair.lite.delete(name, filter="id >= 8")
    assert isinstance(res, list) and sorted(res) == [8, 9]

    rk = _rk(pair)
    _small(rk, name, n=10)
    res = rk.delete(name, ids=[1, 2, 3])
    assert isinstance(res, dict) and res["delete_count"] == 3, res
    res = rk.delete(name, filter="id >= 8")
    assert isinstance(res, dict) and res["delete_count"] == 2, res
    res = rk.delete(name, filter="id >= 800")
    assert isinstance(res, dict) and res["delete_count"] == 0, res


def test_search_without_output_fields(pair):
    """Lite returns every field in hit['entity']; Milvus returns only pk + distance."""
    name = pair.uniq("q_outfields")
    _small(pair.lite, name)
    hit = pair.lite.search(name, data=[[1.0, 1, 1, 1]], limit=1)[0][0]
    assert set(hit["entity"]) == {"vector", "x"}

    rk = _rk(pair)
    _small(rk, name)
    hit = rk.search(name, data=[[1.0, 1, 1, 1]], limit=1)[0][0]
    assert hit["entity"] == {}, f"redkite should return only pk+distance, got entity {hit['entity']}"
    assert set(hit) >= {"id", "distance"}


def test_query_without_filter_or_limit(pair):
    """Lite returns all rows (pymilvus_api.md says []: it is neither now);
    Milvus rejects an empty expression without a limit."""
    name = pair.uniq("q_nofilter")
    _small(pair.lite, name, n=7)
    assert len(pair.lite.query(name)) == 7
    assert len(pair.lite.query(name, filter="")) == 7

    rk = _rk(pair)
    _small(rk, name, n=7)
    H.check_redkite_error(capture(rk.query, name), mentions=["limit"], where="query()")
    # but count(*) and an explicit limit are fine with an empty filter
    assert count(rk, name) == 7
    assert len(rk.query(name, filter="", limit=3)) == 3


def test_unknown_output_field_dynamic_off(pair):
    """Lite silently drops unknown output_fields; Milvus: 'field nope not exist'."""
    # with dynamic fields ON unknown names are dynamic keys (not an error in Milvus either),
    # so use a dynamic-off collection
    name = pair.uniq("q_unknown_out")
    H.make_full_collection(pair.lite, name, H.strict_rows(5), dynamic=False)
    assert [set(r) for r in pair.lite.query(name, filter="id < 2", output_fields=["nope"])] == [{"id"}] * 2
    res = pair.lite.search(name, data=[[0.5] * 8], limit=1, output_fields=["nope"])
    assert res[0][0]["entity"] == {}

    rk = _rk(pair)
    H.make_full_collection(rk, name, H.strict_rows(5), dynamic=False)
    H.check_redkite_error(capture(rk.query, name, filter="id < 2", output_fields=["nope"]),
                          mentions=["nope"], where="query output_fields")
    H.check_redkite_error(capture(rk.search, name, data=[[0.5] * 8], limit=1, output_fields=["nope"]),
                          mentions=["nope"], where="search output_fields")


def test_wrong_dim_search(pair):
    """Lite: [[]] on an empty collection, a numpy 'matmul' message otherwise."""
    name = pair.uniq("q_dim")
    _small(pair.lite, name, n=0)
    assert pair.lite.search(name, data=[[1.0, 1.0, 1.0]], limit=3) == [[]]
    pair.lite.insert(name, [{"id": 1, "vector": [1.0] * 4}])
    err = capture(pair.lite.search, name, data=[[1.0, 1.0, 1.0]], limit=3)
    assert isinstance(err, Err) and err.name == "MilvusException" and "matmul" in err.message

    rk = _rk(pair)
    _small(rk, name, n=0)
    H.check_redkite_error(capture(rk.search, name, data=[[1.0, 1.0, 1.0]], limit=3),
                          mentions=["dim"], where="empty collection")
    rk.insert(name, [{"id": 1, "vector": [1.0] * 4}])
    H.check_redkite_error(capture(rk.search, name, data=[[1.0, 1.0, 1.0]], limit=3),
                          mentions=["dim"], where="non-empty collection")


def test_search_metric_mismatch(pair):
    """Lite computes whatever metric search_params asks for; Milvus: metric type not match."""
    name = pair.uniq("q_metric")
    _small(pair.lite, name, metric_type="L2")
    res = pair.lite.search(name, data=[[1.0, 0, 0, 0]], limit=2, search_params={"metric_type": "IP"})
    assert res[0][0]["distance"] == pytest.approx(5.0)  # an IP score on an L2 index

    rk = _rk(pair)
    _small(rk, name, metric_type="L2")
    H.check_redkite_error(capture(rk.search, name, data=[[1.0, 0, 0, 0]], limit=2,
                                  search_params={"metric_type": "IP"}),
                          mentions=["metric"], where="metric mismatch")


def test_unknown_partition_reads(pair):
    """Lite: search -> [[]], query -> [] for an unknown partition; Milvus: partition not found."""
    name = pair.uniq("q_part")
    _small(pair.lite, name)
    assert pair.lite.search(name, data=[[1.0] * 4], limit=2, partition_names=["nope"]) == [[]]
    assert pair.lite.query(name, filter="id >= 0", partition_names=["nope"]) == []

    rk = _rk(pair)
    _small(rk, name)
    H.check_redkite_error(capture(rk.search, name, data=[[1.0] * 4], limit=2, partition_names=["nope"]),
                          mentions=["nope"], where="search")
    H.check_redkite_error(capture(rk.query, name, filter="id >= 0", partition_names=["nope"]),
                          mentions=["nope"], where="query")


def _parted(client, name):
    client.create_collection(name, dimension=4)
    client.create_partition(name, "p1")
    client.create_partition(name, "p2")
    client.insert(name, [{"id": i, "vector": [1.0] * 4} for i in range(10)])
    client.insert(name, [{"id": i, "vector": [1.0] * 4} for i in range(100, 105)], partition_name="p1")
    client.insert(name, [{"id": i, "vector": [1.0] * 4} for i in range(200, 203)], partition_name="p2")


def test_count_star_partition(pair):
    """Lite's count(*) with an empty filter ignores partition_names."""
    name = pair.uniq("q_countpart")
    _parted(pair.lite, name)
    assert count(pair.lite, name, partition_names=["p1"]) == 18
    assert count(pair.lite, name, "id >= 0", partition_names=["p1"]) == 5

    rk = _rk(pair)
    _parted(rk, name)
    assert count(rk, name, partition_names=["p1"]) == 5
    assert count(rk, name, partition_names=["p1", "p2"]) == 8
    assert count(rk, name, "id >= 0", partition_names=["p1"]) == 5


def test_delete_by_filter_in_partition(pair):
    """Lite's delete(filter=..., partition_name=p2) deletes matching rows in EVERY partition."""
    name = pair.uniq("q_delpart")
    _parted(pair.lite, name)
    res = pair.lite.delete(name, filter="id >= 0", partition_name="p2")
    assert len(res) == 18 and count(pair.lite, name) == 0

    rk = _rk(pair)
    _parted(rk, name)
    assert H.delete_count(rk.delete(name, filter="id >= 0", partition_name="p2")) == 3
    assert count(rk, name) == 15


def test_describe_index_unknown_name(pair):
    """Lite returns the existing index for any name; pymilvus on Milvus returns None."""
    name = pair.uniq("q_descidx")
    _small(pair.lite, name, n=0)
    assert pair.lite.describe_index(name, "nope")["index_name"] == "vector"

    rk = _rk(pair)
    _small(rk, name, n=0)
    assert rk.describe_index(name, "nope") is None


def test_array_varchar_max_length_in_describe(pair):
    """Lite drops max_length from ARRAY<VARCHAR> params in describe_collection."""
    name = pair.uniq("q_arrdesc")
    DT = H.datatype_of(pair.lite)
    pair.lite.create_collection(name, schema=H.full_schema(pair.lite, DT))
    av = [f for f in pair.lite.describe_collection(name)["fields"] if f["name"] == "av"][0]
    assert av["params"] == {"max_capacity": 8}

    rk = _rk(pair)
    rk.create_collection(name, schema=H.full_schema(rk, H.datatype_of(rk)))
    av = [f for f in rk.describe_collection(name)["fields"] if f["name"] == "av"][0]
    assert av["params"].get("max_capacity") == 8 and av["params"].get("max_length") == 16, av


def test_rename_releases_collection(pair):
    """Lite: a renamed collection is 'released' (query -> code 101) until load_collection."""
    name = pair.uniq("q_rename")
    _small(pair.lite, name)
    pair.lite.rename_collection(name, name + "_new")
    err = capture(pair.lite.query, name + "_new", filter="id >= 0")
    assert isinstance(err, Err) and err.code == 101 and "released" in err.message

    rk = _rk(pair)
    _small(rk, name)
    rk.rename_collection(name, name + "_new")
    assert len(rk.query(name + "_new", filter="id >= 0")) == 5  # no load() ritual in redkite


def test_insert_pk_into_auto_id(pair):
    """Lite accepts a user pk on an auto_id collection (here it collides with auto id 1 and
    silently replaces that row); Milvus rejects it unless allow_insert_auto_id is set."""
    name = pair.uniq("q_autopk")
    pair.lite.create_collection(name, dimension=4, auto_id=True)
    pair.lite.insert(name, [{"vector": [1.0] * 4}])
    res = pair.lite.insert(name, [{"id": 1, "vector": [1.0] * 4}])
    assert list(res["ids"]) == [1]
    assert count(pair.lite, name) == 1  # the auto-id row 1 was overwritten

    rk = _rk(pair)
    rk.create_collection(name, dimension=4, auto_id=True)
    rk.insert(name, [{"vector": [1.0] * 4}])
    H.check_redkite_error(capture(rk.insert, name, [{"id": 1, "vector": [1.0] * 4}]),
                          mentions=["id"], where="pk with auto_id")
    assert count(rk, name) == 1


def test_insert_duplicate_pk_lite_overwrites(pair):
    """Lite-only record: insert() of an existing pk behaves like upsert (last write wins,
    count(*) does not grow).  Real Milvus stores both and dedups reads by pk; not asserted
    for redkite."""
    name = pair.uniq("q_duppk")
    _small(pair.lite, name, n=0)
    pair.lite.insert(name, [{"id": 1, "vector": [1.0] * 4, "x": 1}])
    pair.lite.insert(name, [{"id": 1, "vector": [2.0] * 4, "x": 2}])
    assert count(pair.lite, name) == 1
    assert pair.lite.get(name, ids=[1], output_fields=["x"])[0]["x"] == 2
    res = pair.lite.insert(name, [{"id": 5, "vector": [1.0] * 4, "x": 1}, {"id": 5, "vector": [1.0] * 4, "x": 3}])
    assert list(res["ids"]) == [5, 5] and count(pair.lite, name) == 2


def test_null_into_non_nullable_message(pair):
    """Lite's message for None in a non-nullable field is 'FieldData 'i32' has 0 rows, expected 1'."""
    name = pair.uniq("q_null")
    H.make_full_collection(pair.lite, name, H.full_rows(3))
    row = dict(H.full_rows(4)[3], i32=None)
    err = capture(pair.lite.insert, name, [row])
    assert isinstance(err, Err) and "has 0 rows" in err.message

    rk = _rk(pair)
    H.make_full_collection(rk, name, H.full_rows(3))
    err = capture(rk.insert, name, [row])
    H.check_redkite_error(err, mentions=["i32"], where="null into non-nullable")
    assert count(rk, name) == 3


def test_drop_missing_partition(pair):
    """Lite: drop_partition of an unknown name -> MilvusException(code=200, 'nope');
    Milvus makes dropping a non-existent partition idempotent (success)."""
    name = pair.uniq("q_droppart")
    _small(pair.lite, name, n=0)
    err = capture(pair.lite.drop_partition, name, "nope")
    assert isinstance(err, Err) and err.code == 200 and err.message == "nope"

    rk = _rk(pair)
    _small(rk, name, n=0)
    assert rk.drop_partition(name, "nope") is None
    assert sorted(rk.list_partitions(name)) == ["_default"]


def test_create_duplicate_partition(pair):
    """Lite-only record: creating an existing partition -> MilvusException(code=1, message='p')
    (the bare partition name).  redkite's behaviour is checked by test_partition_errors only
    for the other cases; here just require a usable result either way."""
    name = pair.uniq("q_duppart")
    _small(pair.lite, name, n=0)
    pair.lite.create_partition(name, "p")
    err = capture(pair.lite.create_partition, name, "p")
    assert isinstance(err, Err) and err.code == 1 and err.message == "p"

    rk = _rk(pair)
    _small(rk, name, n=0)
    rk.create_partition(name, "p")
    res = capture(rk.create_partition, name, "p")
    if isinstance(res, Err):
        H.check_redkite_error(res, mentions=["p"], where="duplicate partition")
    assert sorted(rk.list_partitions(name)) == ["_default", "p"]


def test_drop_loaded_partition(pair):
    """Lite drops a loaded partition without release (and has no release_partitions);
    Milvus (and redkite) require release_partitions first."""
    name = pair.uniq("q_droploaded")
    _small(pair.lite, name, n=0)
    pair.lite.create_partition(name, "p")
    assert pair.lite.drop_partition(name, "p") is None
    err = capture(pair.lite.release_partitions, name, ["p"])
    assert isinstance(err, Err) and not err.is_milvus  # raw grpc UNIMPLEMENTED

    rk = _rk(pair)
    _small(rk, name, n=0)
    rk.create_partition(name, "p")
    H.check_redkite_error(capture(rk.drop_partition, name, "p"), mentions=["release"], where="drop loaded")
    rk.release_partitions(name, ["p"])
    assert rk.drop_partition(name, "p") is None
    assert sorted(rk.list_partitions(name)) == ["_default"]


def test_upsert_keeps_old_dynamic_keys(pair):
    """Lite merges dynamic fields on upsert: keys the new row omits survive from the old
    row.  Milvus (non-partial upsert) replaces the whole row, $meta included."""
    name = pair.uniq("q_upsert_dyn")
    _small(pair.lite, name, n=0)
    pair.lite.insert(name, [{"id": 1, "vector": [1.0] * 4, "x": 1, "y": 2}])
    pair.lite.upsert(name, [{"id": 1, "vector": [2.0] * 4, "x": 5}])
    row = pair.lite.get(name, ids=[1])[0]
    assert row["x"] == 5 and row["y"] == 2

    rk = _rk(pair)
    _small(rk, name, n=0)
    rk.insert(name, [{"id": 1, "vector": [1.0] * 4, "x": 1, "y": 2}])
    rk.upsert(name, [{"id": 1, "vector": [2.0] * 4, "x": 5}])
    row = rk.get(name, ids=[1])[0]
    assert row["x"] == 5 and "y" not in row, row


def test_varchar_max_length_counts_bytes(pair):
    """Lite counts VARCHAR max_length in characters; Milvus counts UTF-8 bytes
    (milvus-io/milvus#26806, closed 'by design')."""
    name = pair.uniq("q_bytes")
    pair.lite.create_collection(name, dimension=2, id_type="string", max_length=8)
    res = pair.lite.insert(name, [{"id": "é" * 8, "vector": [1.0, 0.0]}])  # 8 chars, 16 bytes
    assert res["insert_count"] == 1

    rk = _rk(pair)
    rk.create_collection(name, dimension=2, id_type="string", max_length=8)
    H.check_redkite_error(capture(rk.insert, name, [{"id": "é" * 8, "vector": [1.0, 0.0]}]),
                          mentions=["length"], where="16-byte string into max_length 8")
    assert rk.insert(name, [{"id": "é" * 4, "vector": [1.0, 0.0]}])["insert_count"] == 1  # 8 bytes


def test_get_delete_pk_with_single_quote(pair):
    """pymilvus builds `pk in ['a'b']` without escaping, so get/delete of a VARCHAR pk that
    contains a single quote fails with a parse error (a pymilvus bug, seen through Lite).
    redkite's client must handle it."""
    pair.sdk_only("the quote bug is in pymilvus's request building, which the serve face uses")
    name = pair.uniq("q_quote")
    rows = [{"id": "a'b", "vector": [1.0, 0.0]}, {"id": "c", "vector": [0.0, 1.0]}]
    pair.lite.create_collection(name, dimension=2, id_type="string", max_length=16)
    pair.lite.insert(name, rows)
    err = capture(pair.lite.get, name, ids=["a'b"])
    assert isinstance(err, Err) and "unterminated string" in err.message

    rk = _rk(pair)
    rk.create_collection(name, dimension=2, id_type="string", max_length=16)
    rk.insert(name, rows)
    assert [r["id"] for r in rk.get(name, ids=["a'b"], output_fields=["id"])] == ["a'b"]
    assert H.delete_count(rk.delete(name, ids=["a'b"])) == 1
    assert count(rk, name) == 1


def test_load_state_without_index(pair):
    """create_collection(schema=...) without index_params: Lite reports Loaded; Milvus
    creates the collection without index and NotLoad."""
    name = pair.uniq("q_noindex")
    DT = H.datatype_of(pair.lite)
    s = pair.lite.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DT.INT64, is_primary=True)
    s.add_field("v", DT.FLOAT_VECTOR, dim=2)
    pair.lite.create_collection(name, schema=s)
    assert pair.lite.get_load_state(name)["state"].name == "Loaded"
    assert pair.lite.list_indexes(name) == []

    rk = _rk(pair)
    DT = H.datatype_of(rk)
    s = rk.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DT.INT64, is_primary=True)
    s.add_field("v", DT.FLOAT_VECTOR, dim=2)
    rk.create_collection(name, schema=s)
    assert rk.get_load_state(name)["state"].name == "NotLoad"
    assert rk.list_indexes(name) == []


def test_search_without_anns_field_on_multi_vector(pair):
    """Lite silently searches the first vector field; Milvus requires anns_field when a
    collection has several vector fields."""
    from .test_search_advanced import QA, make_multi

    name = pair.uniq("q_multivec")
    make_multi(pair.lite, name)
    res = pair.lite.search(name, data=QA, limit=2)
    assert len(res[0]) == 2

    rk = _rk(pair)
    make_multi(rk, name)
    H.check_redkite_error(capture(rk.search, name, data=QA, limit=2), mentions=["anns_field"],
                          where="search without anns_field")
