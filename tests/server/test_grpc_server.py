"""redkite serve through the official pymilvus client: errors as Milvus reports them,
unimplemented RPCs, strictness about unknown request fields, databases from the dbname
header, every data type round-tripping like the embedded client, schema-change retries."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import DescribeCollectionException, MilvusException

from .conftest import CALL_TIMEOUT


def _quick(client, name, n=20, dim=4):
    client.create_collection(name, dimension=dim, metric_type="L2")
    vectors = np.arange(n * dim, dtype=np.float32).reshape(n, dim) / 10
    client.insert(name, [{"id": i, "vector": vectors[i], "tag": f"t{i % 3}"} for i in range(n)])
    return vectors


def test_server_identity_and_health(client, uri):
    assert client.get_server_version() == "redkite-0.1.0"
    assert client.get_server_version(detail=True)["deploy_mode"] == "redkite serve"


def test_errors_carry_milvus_codes_and_classes(client):
    with pytest.raises(DescribeCollectionException) as missing:
        client.describe_collection("nope")
    assert missing.value.code == 100 and "nope" in missing.value.message
    assert client.has_collection("nope") is False
    _quick(client, "errs")
    with pytest.raises(MilvusException) as bad_filter:
        client.query("errs", filter="id >>> 3")
    assert bad_filter.value.code == 1100 and "id >>> 3" in bad_filter.value.message
    with pytest.raises(MilvusException) as wrong_dim:
        client.insert("errs", [{"id": 99, "vector": [1.0, 2.0, 3.0]}])
    assert wrong_dim.value.code == 1100 and "dim" in wrong_dim.value.message
    with pytest.raises(MilvusException) as partition:
        client.insert("errs", [{"id": 99, "vector": [1.0] * 4}], partition_name="nope")
    assert partition.value.code == 200
    assert client.query("errs", filter="", output_fields=["count(*)"])[0]["count(*)"] == 20


@pytest.mark.parametrize("call,rpc", [
    (lambda c: c.list_resource_groups(), "ListResourceGroups"),
    (lambda c: c.drop_resource_group("g1"), "DropResourceGroup"),  # a bare Status
    (lambda c: c.list_loaded_segments("unimpl"), "GetQuerySegmentInfo"),
])
def test_unimplemented_rpcs_answer_with_a_status_naming_them(client, call, rpc):
    if not client.has_collection("unimpl"):
        _quick(client, "unimpl", n=2)
    with pytest.raises(MilvusException) as err:
        call(client)
    assert err.value.code == 10
    assert rpc in err.value.message or "cannot be altered" in err.value.message


def test_request_fields_redkite_lacks_are_rejected(server):
    """A search carrying a highlighter (a field redkite's protocol subset leaves out) fails
    with the field number named instead of being answered without it."""
    import grpc
    from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc

    request = milvus_pb2.SearchRequest(collection_name="x", dsl="")
    request.highlighter.CopyFrom(common_pb2.Highlighter(type=0))
    number = milvus_pb2.SearchRequest.DESCRIPTOR.fields_by_name["highlighter"].number
    with grpc.insecure_channel(server.address) as channel:
        reply = milvus_pb2_grpc.MilvusServiceStub(channel).Search(request, timeout=CALL_TIMEOUT)
    assert reply.status.code == 1100 and str(number) in reply.status.reason


def test_databases_come_from_the_dbname_header(uri, client):
    client.create_database("tenant_a")
    scoped = MilvusClient(uri, db_name="tenant_a", timeout=CALL_TIMEOUT)
    try:
        scoped.create_collection("only_here", dimension=2)
        assert scoped.list_collections() == ["only_here"]
        assert "only_here" not in client.list_collections()
        assert "tenant_a" in client.list_databases()
        with pytest.raises(MilvusException) as err:
            client.use_database("no_such_db")
        assert err.value.code == 800
    finally:
        scoped.drop_collection("only_here")
        scoped.close()


def _typed_schema(client, DT):
    s = client.create_schema(enable_dynamic_field=True)
    s.add_field("id", DT.VARCHAR, is_primary=True, max_length=16)
    s.add_field("b", DT.BOOL)
    s.add_field("i8", DT.INT8)
    s.add_field("i32", DT.INT32, nullable=True)
    s.add_field("f", DT.FLOAT)
    s.add_field("d", DT.DOUBLE, default_value=2.5)
    s.add_field("j", DT.JSON, nullable=True)
    s.add_field("ai", DT.ARRAY, element_type=DT.INT64, max_capacity=4)
    s.add_field("av", DT.ARRAY, element_type=DT.VARCHAR, max_capacity=4, max_length=8)
    s.add_field("v", DT.FLOAT_VECTOR, dim=4)
    s.add_field("h", DT.FLOAT16_VECTOR, dim=4)
    s.add_field("bv", DT.BINARY_VECTOR, dim=16)
    s.add_field("sp", DT.SPARSE_FLOAT_VECTOR)
    return s


def _typed_rows(n=12):
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        row = {"id": f"k{i}", "b": i % 2 == 0, "i8": i - 6, "f": i / 4, "ai": list(range(i % 4)),
               "av": [f"s{k}" for k in range(i % 3)], "v": rng.random(4, dtype=np.float32),
               "h": rng.random(4).astype(np.float16), "bv": bytes([i, 255 - i]),
               "sp": {i: 1.0 + i, 40: 0.5}, "extra": {"n": i}}
        if i % 3:
            row["i32"] = i * 1000
            row["j"] = {"a": i, "b": [i, "x"]}
        if i % 4 == 0:
            row["d"] = -i / 8
        rows.append(row)
    return rows


def _index(client, DT):
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    ip.add_index("h", index_type="FLAT", metric_type="IP")
    ip.add_index("bv", index_type="BIN_FLAT", metric_type="HAMMING")
    ip.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return ip


def test_every_type_round_trips_like_the_embedded_client(client, tmp_path):
    """Same schema and rows through pymilvus -> redkite serve and through redkite's own
    embedded client: query, get and search answers are the same."""
    import redkite

    embedded = redkite.MilvusClient(str(tmp_path / "emb.db"))
    rows = _typed_rows()
    try:
        for c, DT in ((client, DataType), (embedded, redkite.DataType)):
            c.create_collection("typed", schema=_typed_schema(c, DT), index_params=_index(c, DT))
            assert c.insert("typed", rows)["insert_count"] == len(rows)
        for c in (client, embedded):
            assert c.upsert("typed", [dict(rows[0], f=9.5)])["upsert_count"] == 1
        for kwargs in ({"filter": "i8 >= 0", "output_fields": ["*"]},
                       {"filter": "extra['n'] > 3", "output_fields": ["extra", "j", "ai"]},
                       {"filter": 'id in ["k1", "k2"]', "output_fields": ["i32", "d"]}):
            assert _rows(client.query("typed", **kwargs)) == _rows(embedded.query("typed",
                                                                                   **kwargs))
        assert _rows(client.get("typed", ids=["k3", "k0"])) == _rows(
            embedded.get("typed", ids=["k3", "k0"]))
        for field, data in (("v", [rows[2]["v"], rows[5]["v"]]), ("h", [rows[4]["h"]]),
                            ("bv", [rows[1]["bv"]]), ("sp", [{3: 1.0, 40: 2.0}])):
            ours = client.search("typed", data=data, anns_field=field, limit=3,
                                 filter="b == true", output_fields=["i8", "j", "extra"])
            theirs = embedded.search("typed", data=data, anns_field=field, limit=3,
                                     filter="b == true", output_fields=["i8", "j", "extra"])
            assert _hits(ours) == _hits(theirs), field
        assert client.delete("typed", filter="i8 < -3")["delete_count"] == embedded.delete(
            "typed", filter="i8 < -3")["delete_count"] == 3
    finally:
        embedded.close()


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _rows(rows):
    return sorted((_plain(dict(r)) for r in rows), key=lambda r: r["id"])


def _hits(result):
    return [[(h["id"], round(h["distance"], 4), _plain(dict(h["entity"]))) for h in hits]
            for hits in result]


def test_hybrid_search(client):
    from pymilvus import AnnSearchRequest, RRFRanker

    vectors = _quick(client, "hyb", n=30)
    reqs = [AnnSearchRequest([vectors[3]], "vector", {"metric_type": "L2"}, limit=5),
            AnnSearchRequest([vectors[7]], "vector", {}, limit=5, expr="id > 4")]
    res = client.hybrid_search("hyb", reqs, RRFRanker(), limit=4, output_fields=["tag"])
    ids = [h["id"] for h in res[0]]
    # 5 is in both legs' top 5 ({1..5} around 3, {5..9} around 7): first; 3 and 7 rank 1st
    # in one leg each: next
    assert ids[0] == 5 and set(ids[1:3]) == {3, 7} and len(ids) == 4
    assert res[0][0]["entity"] == {"tag": "t2"}


def test_stale_schema_is_refreshed_once(uri, client):
    """Another client drops and re-creates the collection with a new field: the first
    client's next insert is answered with a schema mismatch, pymilvus describes again and
    retries, and the row lands with the new field."""
    writer = MilvusClient(uri, timeout=CALL_TIMEOUT)
    try:
        writer.create_collection("evolving", dimension=2)
        writer.insert("evolving", [{"id": 1, "vector": [1.0, 0.0]}])  # caches the schema
        s = client.create_schema(enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
        s.add_field("tag", DataType.VARCHAR, max_length=8)
        ip = client.prepare_index_params()
        ip.add_index("vector", metric_type="L2")
        client.drop_collection("evolving")
        client.create_collection("evolving", schema=s, index_params=ip)
        writer.insert("evolving", [{"id": 2, "vector": [0.0, 1.0], "tag": "new"}])
        assert client.get("evolving", ids=[2], output_fields=["tag"])[0]["tag"] == "new"
    finally:
        writer.close()


def test_concurrent_clients(uri, client):
    _quick(client, "busy", n=10)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        c = MilvusClient(uri, timeout=CALL_TIMEOUT)
        try:
            for j in range(10):
                c.insert("busy", [{"id": 1000 + k * 100 + j, "vector": [float(k), j, 0, 1]}])
                c.search("busy", data=[[float(k), j, 0, 1]], limit=1)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=CALL_TIMEOUT)
    assert not errors and not any(t.is_alive() for t in threads)
    assert client.query("busy", filter="id >= 1000", output_fields=["count(*)"])[0][
        "count(*)"] == 60


@pytest.mark.parametrize("kwargs,named", [
    ({"search_params": {"hints": "iterative_filter"}}, "hints"),
    ({"ignore_growing": True}, "ignore_growing"),
])
def test_search_options_redkite_lacks_are_refused_by_name(client, kwargs, named):
    if not client.has_collection("opts"):
        _quick(client, "opts", n=5)
    with pytest.raises(MilvusException) as err:
        client.search("opts", data=[[0.1, 0.2, 0.3, 0.4]], limit=2, **kwargs)
    assert err.value.code == 1100 and named in err.value.message


def test_search_iterator_falls_back_to_client_side_paging(client):
    vectors = _quick(client, "iter", n=25)
    iterator = client.search_iterator("iter", data=[vectors[0]], batch_size=10)
    seen = []
    while True:
        page = iterator.next()
        if not page:
            break
        seen.extend(hit["id"] for hit in page)
    iterator.close()
    assert sorted(seen) == list(range(25))
