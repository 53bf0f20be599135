"""Vector types beyond FLOAT_VECTOR, Lite vs redkite.

milvus-lite 3.2.2 supports SPARSE_FLOAT_VECTOR (SPARSE_INVERTED_INDEX, IP) besides
FLOAT_VECTOR, so sparse vectors are compared scenario by scenario (input forms, query/get
output as dicts, search with anns_field / filter / offset / output_fields, errors) and
checked against a Python ground truth. Lite refuses FLOAT16, BFLOAT16, INT8 and BINARY
vectors; that and Lite's sparse quirks are recorded at the end, with the Milvus behaviour
asserted on redkite (tests/test_vector_types.py covers those types in depth).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from . import helpers as H
from .helpers import Err, capture, count, norm_rows, norm_search

N = 40


def sparse_row(i: int) -> dict:
    """Deterministic sparse vector: 1-4 entries among 25 dimensions, float32-exact."""
    return {(i * 7 + j * 5) % 25: float(i * 4 + j + 1) / 64 for j in range(1 + i % 4)}


def input_form(i: int):
    row = sparse_row(i)
    if i % 3 == 1:
        return list(row.items())[::-1]  # (index, value) pairs, unsorted
    if i % 3 == 2:
        keys = list(row)
        return sp.csr_matrix((list(row.values()), ([0] * len(keys), keys)), shape=(1, 32))
    return row


def make_sparse(client, name, n=N):
    DT = H.datatype_of(client)
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DT.INT64, is_primary=True)
    s.add_field("sp", DT.SPARSE_FLOAT_VECTOR)
    s.add_field("v", DT.FLOAT_VECTOR, dim=2)
    s.add_field("g", DT.INT64)
    ip = client.prepare_index_params()
    ip.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=ip)
    if n:
        client.insert(name, [{"id": i, "sp": input_form(i), "v": [float(i), 1.0], "g": i % 3}
                             for i in range(n)])


QUERIES = [{3: 1.0, 12: 0.5}, {0: 2.0, 5: 1.0, 24: 0.25}]


def truth(query: dict, k: int, keep=lambda i: True) -> list[tuple[int, float]]:
    scores = {i: sum(v * query.get(d, 0.0) for d, v in sparse_row(i).items())
              for i in range(N) if keep(i) and set(sparse_row(i)) & set(query)}
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


def scenario_sparse_data(client, name):
    make_sparse(client, name)
    s = client.search
    return {
        "query": norm_rows(client.query(name, filter="id < 12", output_fields=["sp", "g"])),
        "get": norm_rows(client.get(name, ids=[4, 5, 6])),
        "dicts": norm_search(s(name, data=QUERIES, anns_field="sp", limit=5,
                               output_fields=["sp"]), metric="IP"),
        "pairs": norm_search(s(name, data=[list(q.items()) for q in QUERIES], anns_field="sp",
                               limit=5, output_fields=["g"]), metric="IP"),
        "scipy_rows": norm_search(s(name, data=[sp.csr_matrix(
            ([1.0, 0.5], ([0, 0], [3, 12])), shape=(1, 25))], anns_field="sp", limit=5,
            output_fields=["g"]), metric="IP"),
        "filter_offset": norm_search(s(name, data=QUERIES[:1], anns_field="sp", limit=3,
                                       offset=1, filter="g != 1", output_fields=["g"]),
                                     metric="IP"),
        "no_overlap": norm_search(s(name, data=[{30: 1.0}], anns_field="sp", limit=5,
                                    output_fields=["g"])),
        "dense_field": norm_search(s(name, data=[[3.0, 1.0]], anns_field="v", limit=2,
                                     output_fields=["sp"]), metric="L2"),
    }


def test_sparse_data(pair):
    lite, rk = pair.run(scenario_sparse_data)
    for side, res in (("lite", lite), ("redkite", rk)):
        assert res["get"][0]["sp"] == {str(k): v for k, v in sparse_row(4).items()}, side
        for q, query in enumerate(QUERIES):
            got = [(h["id"], h["distance"]) for h in res["dicts"][q]]
            assert got == truth(query, 5), f"{side} q{q}"  # float32-exact values
        expected = truth(QUERIES[0], 4, keep=lambda i: i % 3 != 1)[1:]
        assert [(h["id"], h["distance"]) for h in res["filter_offset"][0]] == expected, side
        assert res["no_overlap"] == [[]], side


def scenario_sparse_writes(client, name):
    make_sparse(client, name, n=6)
    client.upsert(name, [{"id": 2, "sp": {1: 0.5, 2: 0.25}, "v": [0.0, 0.0], "g": 9}])
    client.delete(name, ids=[3])
    client.insert(name, [{"id": 10, "sp": {np.int64(4): np.float32(0.5), "6": "0.75"},
                          "v": [1.0, 1.0], "g": 0}])
    return {
        "rows": norm_rows(client.query(name, filter="id >= 0", output_fields=["sp"])),
        "search": norm_search(client.search(name, data=[{1: 1.0, 4: 1.0}], anns_field="sp",
                                            limit=10, output_fields=["g"]), metric="IP"),
        "count": count(client, name),
    }


def test_sparse_writes(pair):
    pair.run(scenario_sparse_writes)


BAD_ROWS = {
    "negative_index": {-1: 0.5},
    "index_too_large": {2**32 - 1: 0.5},
    "nan_value": {1: float("nan")},
    "inf_value": {1: float("inf")},
    "negative_value": {1: -0.5},
    "int_value": {1: 1},
    "string_row": "abc",
    "dense_list": [0.1, 0.2],
}


def scenario_sparse_errors(client, name):
    make_sparse(client, name, n=3)
    out = {}
    for label, bad in BAD_ROWS.items():
        res = capture(client.insert, name, [{"id": 100, "sp": bad, "v": [0.0, 0.0], "g": 0}])
        out[label] = [res if isinstance(res, Err) else "accepted", count(client, name)]
    out["search_l2"] = capture(client.search, name, data=[{1: 1.0}], anns_field="sp",
                               limit=3, search_params={"metric_type": "L2"})
    out["search_negative_index"] = capture(client.search, name, data=[{-1: 1.0}],
                                           anns_field="sp", limit=3)
    DT = H.datatype_of(client)
    for index_type, metric in (("FLAT", "IP"), ("SPARSE_INVERTED_INDEX", "L2")):
        s = client.create_schema()
        s.add_field("id", DT.INT64, is_primary=True)
        s.add_field("sp", DT.SPARSE_FLOAT_VECTOR)
        ip = client.prepare_index_params()
        ip.add_index("sp", index_type=index_type, metric_type=metric)
        out[f"index_{index_type}_{metric}"] = capture(
            client.create_collection, f"{name}_{index_type}_{metric}", schema=s,
            index_params=ip)
    return out


def test_sparse_errors(pair):
    pair.run(scenario_sparse_errors)


# ---- where Lite differs from Milvus ------------------------------------------------------------
def _rk(pair):
    if pair.selftest:
        pytest.skip("selftest: the redkite side is Lite")
    return pair.rk


@pytest.mark.parametrize("type_name", ["FLOAT16_VECTOR", "BFLOAT16_VECTOR", "INT8_VECTOR",
                                       "BINARY_VECTOR"])
def test_dense_types_lite_refuses(pair, type_name):
    """Lite: only FLOAT_VECTOR and SPARSE_FLOAT_VECTOR; Milvus (and redkite) store them all."""
    def attempt(client, name):
        DT = H.datatype_of(client)
        s = client.create_schema()
        s.add_field("id", DT.INT64, is_primary=True)
        s.add_field("v", getattr(DT, type_name), dim=16)
        ip = client.prepare_index_params()
        ip.add_index("v")
        return capture(client.create_collection, name, schema=s, index_params=ip)

    name = pair.uniq("q_dense_type")
    res = attempt(pair.lite, name)
    assert isinstance(res, Err) and "does not support" in res.message
    rk = _rk(pair)
    assert attempt(rk, name) is None
    rk.insert(name, [{"id": 1, "v": b"\x01" * (2 if type_name == "BINARY_VECTOR" else
                                               16 if type_name == "INT8_VECTOR" else 32)}])
    assert rk.get(name, ids=[1])[0]["v"][0][:1] == b"\x01"


def test_sparse_empty_and_repeated_entries(pair):
    """Lite refuses an empty sparse vector and keeps the last of a repeated index; Milvus
    accepts empty rows (they match nothing) and refuses repeated indices."""
    name = pair.uniq("q_sparse_quirks")
    make_sparse(pair.lite, name, n=0)
    assert isinstance(capture(pair.lite.insert, name, [{"id": 1, "sp": {}, "v": [0, 0],
                                                          "g": 0}]), Err)
    pair.lite.insert(name, [{"id": 2, "sp": [(1, 1.0), (1, 2.0)], "v": [0, 0], "g": 0}])
    assert pair.lite.get(name, ids=[2])[0]["sp"] == {1: 2.0}

    rk = _rk(pair)
    make_sparse(rk, name, n=0)
    rk.insert(name, [{"id": 1, "sp": {}, "v": [0.0, 0.0], "g": 0}])
    assert rk.get(name, ids=[1])[0]["sp"] == {}
    res = capture(rk.insert, name, [{"id": 2, "sp": [(1, 1.0), (1, 2.0)], "v": [0, 0],
                                     "g": 0}])
    H.check_redkite_error(res, mentions=["more than once", "row 0"])


def test_sparse_scipy_matrix_as_search_data(pair):
    """pymilvus 3.0.2 fails client-side on a whole scipy matrix as search data (it calls
    len() on it); redkite takes one query per row."""
    pair.sdk_only("the failure is in pymilvus's client, which the serve face uses")
    name = pair.uniq("q_sparse_scipy")
    matrix = sp.csr_matrix(([1.0, 0.5], ([0, 1], [3, 12])), shape=(2, 25))
    make_sparse(pair.lite, name)
    res = capture(pair.lite.search, name, data=matrix, anns_field="sp", limit=3)
    assert isinstance(res, Err) and "length is ambiguous" in res.message

    rk = _rk(pair)
    make_sparse(rk, name)
    hits = rk.search(name, data=matrix, anns_field="sp", limit=3)
    assert [[(h["id"], h["distance"]) for h in q] for q in hits] == [
        truth({3: 1.0}, 3), truth({12: 0.5}, 3)]


_PROTO_SLOTS = {"FLOAT16_VECTOR": "float16_vector", "BFLOAT16_VECTOR": "bfloat16_vector",
                "INT8_VECTOR": "int8_vector", "BINARY_VECTOR": "binary_vector"}


@pytest.mark.parametrize("type_name", list(_PROTO_SLOTS))
def test_byte_vector_output_matches_pymilvus_decoding(pair, type_name):
    """Lite cannot store these types, so the output shape is checked against pymilvus's own
    decoders fed the FieldData a Milvus server returns: query/get rows hold ``[bytes]``,
    search entities hold ``bytes``."""
    from pymilvus import DataType as PyDataType
    from pymilvus.client.search_result import HybridHits
    from pymilvus.client.types import HybridExtraList
    from pymilvus.grpc_gen import schema_pb2

    rk = _rk(pair)
    dim = 16
    width = dim // 8 if type_name == "BINARY_VECTOR" else dim * (1 if type_name == "INT8_VECTOR"
                                                                 else 2)
    raw = [bytes(range(k, k + width)) for k in (1, 2, 3)]
    name = pair.uniq("q_byte_output")
    DT = H.datatype_of(rk)
    s = rk.create_schema()
    s.add_field("id", DT.INT64, is_primary=True)
    s.add_field("v", getattr(DT, type_name), dim=dim)
    ip = rk.prepare_index_params()
    ip.add_index("v")
    rk.create_collection(name, schema=s, index_params=ip)
    rk.insert(name, [{"id": i, "v": raw[i]} for i in range(3)])

    data = schema_pb2.FieldData(type=int(getattr(PyDataType, type_name)), field_name="v")
    data.vectors.dim = dim
    setattr(data.vectors, _PROTO_SLOTS[type_name], b"".join(raw))
    milvus_rows = list(HybridExtraList([data], [{"id": i} for i in range(3)]))
    assert list(rk.query(name, filter="id >= 0", output_fields=["v"])) == milvus_rows
    hit = rk.search(name, data=[raw[1]], limit=1, output_fields=["v"])[0][0]
    milvus_hits = list(HybridHits(0, 3, [0, 1, 2], [0.0] * 3, [data], ["v"], [], "id"))
    assert hit["entity"] == milvus_hits[hit["id"]]["entity"]
