"""Scalar indexes vs milvus-lite: INVERTED on INT64/VARCHAR/DOUBLE (the one scalar type Lite
builds), list/describe/drop, filters on the indexed fields, and the errors both reject.

Where Lite differs from Milvus (it rejects STL_SORT, BITMAP, TRIE and AUTOINDEX on scalar
fields and a repeated identical create_index, ignores a scalar index's index_name, drops
every index when one scalar index is dropped, and its describe_index adds ``metric_type:
'NONE'``), the quirk is asserted on Lite and the
Milvus behaviour on redkite.
"""

from __future__ import annotations

import pytest

from . import helpers as H
from .helpers import Err, capture, norm_rows, plain

FILTERS = ['x == 7', 'x != 7', 'x in [1, 3, 5]', 'x > 15', '3 <= x and x < 9',
           's == "w3"', 's like "w1%"', 's in ["w2", "w11"]', 's > "w5"', 'd < 2.5',
           'not (x < 10) and s like "w%"']


def _collection(client, name):
    DT = H.datatype_of(client)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DT.INT64, is_primary=True)
    schema.add_field("v", DT.FLOAT_VECTOR, dim=2)
    schema.add_field("x", DT.INT64)
    schema.add_field("s", DT.VARCHAR, max_length=16)
    schema.add_field("d", DT.DOUBLE)
    schema.add_field("j", DT.JSON)
    spec = client.prepare_index_params()
    spec.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=spec)
    client.insert(name, [{"id": i, "v": [1.0, float(i % 7)], "x": i % 20, "s": f"w{i % 13}",
                          "d": (i % 9) * 0.75, "j": {"k": i}} for i in range(120)])
    client.flush(name)


def _index(client, name, field, index_type, index_name="", **params):
    spec = client.prepare_index_params()
    spec.add_index(field, index_type=index_type, index_name=index_name, params=params)
    return client.create_index(name, spec)


def _shape(described):
    return {k: described.get(k) for k in ("index_type", "field_name", "index_name", "state")}


def scenario_inverted_lifecycle(client, name):
    _collection(client, name)
    out = {"create_x": _index(client, name, "x", "INVERTED"),
           "create_s": _index(client, name, "s", "INVERTED"),
           "create_d": _index(client, name, "d", "INVERTED")}
    out["indexes"] = plain(client.list_indexes(name))
    out["indexes_s"] = plain(client.list_indexes(name, field_name="s"))
    out["describe"] = {n: _shape(client.describe_index(name, n)) for n in ("x", "s", "d")}
    client.load_collection(name)
    out["filters"] = {f: norm_rows(client.query(name, filter=f, output_fields=["id"]))
                      for f in FILTERS}
    out["search"] = H.norm_search(client.search(name, data=[[1.0, 2.0]], limit=5,
                                                filter='x < 10 and s like "w%"',
                                                output_fields=["x"]), metric="L2")
    out["drop_loaded"] = capture(client.drop_index, name, "x")
    return out


def test_inverted_index_lifecycle(pair):
    lite, rk = pair.run(scenario_inverted_lifecycle)
    assert lite["indexes"] == ["v", "x", "s", "d"]
    assert lite["describe"]["s"] == {"index_type": "INVERTED", "field_name": "s",
                                     "index_name": "s", "state": "Finished"}
    assert isinstance(lite["drop_loaded"], Err)


def scenario_scalar_index_errors(client, name):
    _collection(client, name)
    _index(client, name, "x", "INVERTED")
    return {
        "other_type_same_field": capture(_index, client, name, "x", "INVERTED", "x2"),
        "json_without_params": capture(_index, client, name, "j", "INVERTED"),
        "missing_field": capture(_index, client, name, "nope", "INVERTED"),
        "unknown_type": capture(_index, client, name, "s", "NOT_AN_INDEX"),
        "indexes": plain(client.list_indexes(name)),
    }


def test_scalar_index_errors(pair):
    lite, _ = pair.run(scenario_scalar_index_errors)
    assert all(isinstance(lite[k], Err) for k in lite if k != "indexes")


def _rk(pair):
    if pair.selftest:
        pytest.skip("selftest: the redkite side is Lite")
    return pair.rk


def test_lite_refuses_the_other_scalar_index_types(pair):
    """Lite builds INVERTED only; Milvus 2.6 also builds STL_SORT, BITMAP, TRIE and an
    AUTOINDEX on scalar fields, and redkite accepts them with Milvus's field rules."""
    wanted = [("x", "STL_SORT"), ("s", "TRIE"), ("d", "STL_SORT"), ("s", "AUTOINDEX")]
    name = pair.uniq("q_scalar_types")
    _collection(pair.lite, name)
    for field, index_type in wanted[:3]:
        err = capture(_index, pair.lite, name, field, index_type, f"{field}_{index_type}")
        assert isinstance(err, Err) and "not implemented" in err.message, err
    err = capture(_index, pair.lite, name, "s", "AUTOINDEX", "s_auto")
    assert isinstance(err, Err) and "requires a vector field" in err.message, err

    rk = _rk(pair)
    _collection(rk, name)
    _index(rk, name, "x", "STL_SORT")
    _index(rk, name, "s", "TRIE")
    _index(rk, name, "d", "STL_SORT")
    assert rk.list_indexes(name) == ["v", "x", "s", "d"]
    rk.load_collection(name)
    rows = rk.query(name, filter='s like "w1%" and x >= 10', output_fields=["id"])
    assert sorted(r["id"] for r in rows) == [
        i for i in range(120) if f"w{i % 13}".startswith("w1") and i % 20 >= 10]


def test_lite_ignores_the_name_of_a_scalar_index(pair):
    """Lite names a scalar index after its field whatever index_name says; Milvus keeps
    the given name, as redkite does."""
    name = pair.uniq("q_scalar_name")
    _collection(pair.lite, name)
    _index(pair.lite, name, "s", "INVERTED", "s_idx")
    assert pair.lite.list_indexes(name) == ["v", "s"]

    rk = _rk(pair)
    _collection(rk, name)
    _index(rk, name, "s", "INVERTED", "s_idx")
    assert rk.list_indexes(name) == ["v", "s_idx"]
    assert rk.describe_index(name, "s_idx")["field_name"] == "s"


def test_lite_drop_of_a_scalar_index_drops_every_index(pair):
    """Lite's drop_index of one scalar index leaves the collection with no index at all;
    Milvus drops that index only, as redkite does."""
    name = pair.uniq("q_scalar_drop")

    def two_then_drop_one(client):
        _collection(client, name)
        _index(client, name, "x", "INVERTED")
        _index(client, name, "s", "INVERTED")
        client.release_collection(name)
        client.drop_index(name, "x")
        return client.list_indexes(name)

    assert two_then_drop_one(pair.lite) == []
    assert two_then_drop_one(_rk(pair)) == ["v", "s"]


def test_lite_refuses_the_same_index_twice(pair):
    """Lite rejects create_index of an index that exists with the very same definition;
    Milvus returns success (datacoord finds the identical index), as redkite does."""
    name = pair.uniq("q_scalar_again")
    _collection(pair.lite, name)
    _index(pair.lite, name, "x", "INVERTED")
    err = capture(_index, pair.lite, name, "x", "INVERTED")
    assert isinstance(err, Err) and "index already exists" in err.message, err

    rk = _rk(pair)
    _collection(rk, name)
    _index(rk, name, "x", "INVERTED")
    _index(rk, name, "x", "INVERTED")
    assert rk.list_indexes(name) == ["v", "x"]


def test_lite_describe_adds_metric_type_none(pair):
    """Lite's describe_index of a scalar index carries ``metric_type: 'NONE'``; Milvus
    returns the user's index params (no metric_type), as redkite does."""
    name = pair.uniq("q_scalar_describe")
    _collection(pair.lite, name)
    _index(pair.lite, name, "x", "INVERTED")
    assert pair.lite.describe_index(name, "x")["metric_type"] == "NONE"

    rk = _rk(pair)
    _collection(rk, name)
    _index(rk, name, "x", "INVERTED")
    assert set(rk.describe_index(name, "x")) == {
        "index_type", "field_name", "index_name", "total_rows", "indexed_rows",
        "pending_index_rows", "state"}
