"""Scalar indexes through the client: Milvus's rules (which type fits which field, params,
errors), describe/list/drop, persistence across reopen, and filters on indexed collections
returning exactly what unindexed ones return (sealed segments, growing rows, deletes)."""

from __future__ import annotations


import random
import time

import numpy as np
import pytest

from redkite import DataType, MilvusClient, ParamError
from redkite.engine.database import Database
from redkite.engine.expr import scalar_index
from redkite.engine.expr.plan import ValueKind

SCALAR_FIELDS = [("b", DataType.BOOL, {}), ("i8", DataType.INT8, {}),
                 ("i32", DataType.INT32, {}), ("x", DataType.INT64, {"nullable": True}),
                 ("f", DataType.FLOAT, {}), ("d", DataType.DOUBLE, {"nullable": True}),
                 ("s", DataType.VARCHAR, {"max_length": 32, "nullable": True}),
                 ("j", DataType.JSON, {}),
                 ("ai", DataType.ARRAY, {"element_type": DataType.INT64, "max_capacity": 4}),
                 ("af", DataType.ARRAY, {"element_type": DataType.FLOAT, "max_capacity": 4})]
ACCEPTS = {  # index type -> the fields of SCALAR_FIELDS it accepts (JSON needs params)
    "INVERTED": {"b", "i8", "i32", "x", "f", "d", "s", "ai", "af"},
    "STL_SORT": {"i8", "i32", "x", "f", "d", "s"},
    "BITMAP": {"b", "i8", "i32", "x", "s", "ai"},
    "TRIE": {"s"},
    "AUTOINDEX": {"b", "i8", "i32", "x", "f", "d", "s", "ai", "af"},
}
JSON_PARAMS = {"json_path": 'j["a"]["b"]', "json_cast_type": "double"}


def make_schema(client, pk=DataType.INT64):
    schema = client.create_schema()
    schema.add_field("id", pk, is_primary=True, **({"max_length": 16}
                                                   if pk == DataType.VARCHAR else {}))
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    for name, dtype, extra in SCALAR_FIELDS:
        schema.add_field(name, dtype, **extra)
    return schema


@pytest.fixture
def client(tmp_path):
    client = MilvusClient(str(tmp_path / "s.db"))
    client.create_collection("c", schema=make_schema(client))
    yield client
    client.close()


def index(client, field, index_type="", name="", **params):
    spec = client.prepare_index_params()
    spec.add_index(field, index_type=index_type, index_name=name, params=params)
    client.create_index("c", spec)


# ---- rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("index_type", sorted(ACCEPTS))
@pytest.mark.parametrize("field", [name for name, _, _ in SCALAR_FIELDS if name != "j"])
def test_which_index_type_fits_which_field(client, index_type, field):
    if field in ACCEPTS[index_type]:
        index(client, field, index_type)
        assert client.describe_index("c", field)["index_type"] == index_type
        return
    with pytest.raises(ParamError) as info:
        index(client, field, index_type)
    assert info.value.code == 1100
    assert index_type in info.value.message and repr(field) in info.value.message
    assert client.list_indexes("c") == []


def test_json_fields_take_inverted_or_autoindex_with_a_path_and_a_cast_type(client):
    index(client, "j", "INVERTED", name="j_ab", **JSON_PARAMS)
    index(client, "j", "AUTOINDEX", name="j_s", json_path='j["s"]', json_cast_type="VARCHAR")
    index(client, "j", "INVERTED", name="j_all", json_path="j", json_cast_type="json")
    assert client.list_indexes("c", field_name="j") == ["j_ab", "j_s", "j_all"]
    described = client.describe_index("c", "j_ab")
    assert described["json_path"] == 'j["a"]["b"]' and described["json_cast_type"] == "DOUBLE"
    for index_type in ("STL_SORT", "BITMAP", "TRIE"):
        with pytest.raises(ParamError, match=f"{index_type} does not apply to JSON field 'j'"):
            index(client, "j", index_type, name="other", **JSON_PARAMS)


@pytest.mark.parametrize(("params", "message"), [
    ({}, "requires json_path and json_cast_type"),
    ({"json_path": 'j["a"]'}, "requires json_cast_type"),
    ({"json_path": 'j["a"]', "json_cast_type": "INT64"}, "json_cast_type 'INT64' is not supported"),
    ({"json_path": 'k["a"]', "json_cast_type": "BOOL"}, "does not refer to the indexed JSON field"),
    ({"json_path": "j.a", "json_cast_type": "BOOL"}, "invalid json_path 'j.a'"),
    ({"json_path": 'j["a"]', "json_cast_type": "VARCHAR", "json_cast_function": "STRING_TO_DOUBLE"},
     "needs json_cast_type DOUBLE"),
    ({"json_path": 'j["a"]', "json_cast_type": "DOUBLE", "json_cast_function": "TO_INT"},
     "json_cast_function 'TO_INT' is not supported"),
    ({"json_path": 'j["a"]', "json_cast_type": "DOUBLE", "nlist": 8}, "does not take parameter"),
])
def test_bad_json_index_params_are_rejected(client, params, message):
    with pytest.raises(ParamError, match=message):
        index(client, "j", "INVERTED", **params)


def test_json_cast_function_and_paths_are_kept(client):
    index(client, "j", "INVERTED", name="n", json_path="j['price'][0]", json_cast_type="Double",
          json_cast_function="string_to_double")
    described = client.describe_index("c", "n")
    assert {k: described[k] for k in ("json_path", "json_cast_type", "json_cast_function")} == {
        "json_path": "j['price'][0]", "json_cast_type": "DOUBLE",
        "json_cast_function": "STRING_TO_DOUBLE"}


@pytest.mark.parametrize(("field", "index_type", "params", "message"), [
    ("x", "INVERTED", {"metric_type": "L2"}, "metric_type 'L2' does not apply to scalar index"),
    ("x", "STL_SORT", {"nlist": 16}, r"does not take parameter\(s\) \['nlist'\]"),
    ("x", "INVERTED", {"json_path": 'x["a"]'}, "does not take parameter"),
    ("x", "HNSW", {}, "index type 'HNSW' does not apply to INT64 field 'x'"),
    ("x", "NOPE", {}, "scalar index types for it: .*'INVERTED'"),
    ("v", "INVERTED", {}, "INVERTED is a scalar index and does not apply to FLOAT_VECTOR"),
    ("v", "TRIE", {"metric_type": "L2"}, "TRIE is a scalar index"),
    ("id", "BITMAP", {}, "cannot be built on the primary key field 'id'"),
    ("x", "INVERTED", {"mmap.enabled": "maybe"}, "'mmap.enabled' .* must be true or false"),
])
def test_index_requests_milvus_rejects(client, field, index_type, params, message):
    with pytest.raises(ParamError, match=message) as info:
        index(client, field, index_type, **params)
    assert info.value.code == 1100


def test_defaults_autoindex_primary_key_and_mmap(client):
    index(client, "x")  # no index type on a scalar field: AUTOINDEX, named after the field
    index(client, "id", "STL_SORT")
    index(client, "s", "INVERTED", name="s_idx", **{"mmap.enabled": "true"})
    assert client.describe_index("c", "x")["index_type"] == "AUTOINDEX"
    assert client.describe_index("c", "id")["index_type"] == "STL_SORT"
    assert client.describe_index("c", "s_idx")["mmap.enabled"] is True


def test_one_index_per_field_and_unique_names(client):
    index(client, "x", "INVERTED")
    index(client, "x", "INVERTED")  # the very same index again: a no-op
    with pytest.raises(ParamError, match="at most one distinct index is allowed per field"):
        index(client, "x", "STL_SORT")
    with pytest.raises(ParamError, match="at most one distinct index"):
        index(client, "x", "INVERTED", name="other_name")
    with pytest.raises(ParamError, match="index name 'x' is already used"):
        index(client, "s", "TRIE", name="x")
    index(client, "j", "INVERTED", name="ja", json_path='j["a"]', json_cast_type="BOOL")
    with pytest.raises(ParamError, match="json_path 'j\\[\"a\"\\]' of field 'j' already has"):
        index(client, "j", "INVERTED", name="jb", json_path="j['a']", json_cast_type="DOUBLE")
    assert client.list_indexes("c") == ["x", "ja"]


# ---- describe / list / drop -------------------------------------------------------------------
def test_describe_list_and_drop(client):
    index(client, "s", "TRIE", name="s_trie")
    index(client, "v", "FLAT", name="v_idx", metric_type="L2")
    client.insert("c", rows(30))
    client.flush("c")
    client.insert("c", rows(10, start=30))
    assert client.describe_index("c", "s_trie") == {
        "index_type": "TRIE", "field_name": "s", "index_name": "s_trie", "total_rows": 40,
        "indexed_rows": 30, "pending_index_rows": 0, "state": "Finished"}
    assert "metric_type" in client.describe_index("c", "v_idx")
    assert client.list_indexes("c") == ["s_trie", "v_idx"]
    assert client.list_indexes("c", field_name="s") == ["s_trie"]
    client.load_collection("c")
    with pytest.raises(ParamError, match="release it first"):
        client.drop_index("c", "s_trie")
    client.release_collection("c")
    client.drop_index("c", "s_trie")
    assert client.list_indexes("c") == ["v_idx"]
    assert client.describe_index("c", "s_trie") is None
    index(client, "s", "STL_SORT", name="s_trie")  # the name and the field are free again
    assert client.describe_index("c", "s_trie")["index_type"] == "STL_SORT"


def test_index_params_of_create_collection_take_scalar_indexes(tmp_path):
    client = MilvusClient(str(tmp_path / "cc.db"))
    spec = client.prepare_index_params()
    spec.add_index("v", index_type="FLAT", metric_type="IP")
    spec.add_index("x", index_type="STL_SORT")
    spec.add_index("s", index_type="TRIE", index_name="s_trie")
    client.create_collection("c", schema=make_schema(client), index_params=spec)
    assert client.list_indexes("c") == ["v", "x", "s_trie"]
    client.insert("c", rows(50))
    client.flush("c")
    assert ids(client.query("c", 's like "w1%" and x == 3', output_fields=["id"])) == [
        r["id"] for r in rows(50) if r["s"] and r["s"].startswith("w1") and r["x"] == 3]
    client.close()


# ---- data -----------------------------------------------------------------------------------
WORDS = ["", "a", "ab", "abc", "b%", "b_c", "ü", "日本", "w1", "w10", "w2", "\U0010ffff"]


def rows(count, start=0, seed=0):
    rng = random.Random(seed + start)
    out = []
    for i in range(start, start + count):
        out.append({
            "id": i, "v": [1.0, float(i % 5)], "b": rng.random() < 0.5,
            "i8": rng.randint(-128, 127), "i32": rng.randint(-5, 5),
            "x": None if rng.random() < 0.1 else rng.randint(-20, 20),
            "f": rng.choice([0.5, -0.0, 1.25, float(rng.randint(-9, 9)), float("nan")]),
            "d": None if rng.random() < 0.1 else rng.choice([1e300, -2.5, 7.0, 2.0**53]),
            "s": None if rng.random() < 0.1 else rng.choice(WORDS) + str(rng.randint(0, 9)),
            "j": {"a": rng.choice([rng.randint(0, 3), 1.5, "2", None, True]),
                  "s": rng.choice(WORDS)}, "ai": [rng.randint(0, 3)], "af": [0.5]})
    return out


def ids(result):
    return sorted(r["id"] for r in result)


def filters(seed, count):
    rng = random.Random(seed)
    numbers = ["0", "-0.0", "3", "2.5", "-20", "20", "127", "-128", "9007199254740992",
               "9007199254740993", "1e300", "-2.5", "7", "0.5", "1.25"]
    strings = ['""', '"a"', '"ab1"', '"w1"', '"b%3"', '"ü"', '"日本2"', '"z"']
    out = []
    for _ in range(count):
        field = rng.choice(["id", "i8", "i32", "x", "f", "d", "s", 'j["a"]', 'j["s"]'])
        literals = strings if field in ("s", 'j["s"]') else numbers
        shape = rng.random()
        if shape < 0.4:
            out.append(f"{field} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} "
                       f"{rng.choice(literals)}")
        elif shape < 0.6:
            out.append(f"{field} in [{', '.join(rng.sample(literals, 3))}]")
        elif shape < 0.8:
            low, high = sorted(rng.sample(literals, 2))
            out.append(f"{low} <= {field} < {high} or {field} == {rng.choice(literals)}")
        elif field in ("s", 'j["s"]'):
            pattern = rng.choice(['"a%"', '"w1%"', '"ab_"', '"b\\\\%%"', '"%1"', '"日%"', '"a"'])
            out.append(f"{field} {rng.choice(['like', 'not like'])} {pattern}")
        else:
            out.append(f"not ({field} >= {rng.choice(literals)}) and b == true")
    return out


def wait_for_merges(client, name, timeout=30.0):
    """Until no compaction of ``name`` runs or is due."""
    db = client._transport._database()
    collection = db.collections[("default", name)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db._compactor._one_job_at_a_time, db._lock:
            if not db._compactor.merging(collection):
                return
        time.sleep(0.05)


def two_collections(client):
    """"plain" without scalar indexes, "indexed" with one on every scalar column; the same
    rows in sealed segments (three flushes, which the compactor may merge) plus growing
    rows, some deleted."""
    for name, scalar in (("plain", False), ("indexed", True)):
        spec = client.prepare_index_params()
        spec.add_index("v", index_type="FLAT", metric_type="L2")
        if scalar:
            for field, index_type in (("id", "STL_SORT"), ("i8", "BITMAP"), ("i32", "INVERTED"),
                                      ("x", "AUTOINDEX"), ("f", "STL_SORT"),
                                      ("d", "INVERTED"), ("s", "TRIE")):
                spec.add_index(field, index_type=index_type)
            spec.add_index("j", index_type="INVERTED", index_name="ja",
                           params={"json_path": 'j["a"]', "json_cast_type": "DOUBLE"})
            spec.add_index("j", index_type="AUTOINDEX", index_name="js",
                           params={"json_path": "j['s']", "json_cast_type": "varchar"})
        client.create_collection(name, schema=make_schema(client), index_params=spec)
        for start in (0, 400, 800):
            client.insert(name, rows(400, start))
            client.flush(name)
        # a merge's checkpoint seals growing rows: let merges end before the growing ones
        wait_for_merges(client, name)
        client.insert(name, rows(100, 1200))
        client.delete(name, filter="id % 13 == 0")


def same_hits(first, second) -> bool:
    """The same distances, and the same ids but for the order of equal distances (rows tie
    here, and their order follows the segment layout, which compaction may change) and the
    choice among the ties at the cut."""
    if [h["distance"] for h in first] != [h["distance"] for h in second]:
        return False
    cut = first[-1]["distance"] if first else None
    inside = [{h["id"] for h in hits if h["distance"] != cut} for hits in (first, second)]
    return inside[0] == inside[1]


def test_filters_on_indexed_collections_equal_unindexed_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(scalar_index, "NUMERIC_MARK_RATIO", 1)  # index every numeric filter
    client = MilvusClient(str(tmp_path / "d.db"))
    two_collections(client)
    for text in filters(seed=1, count=250):
        expected = ids(client.query("plain", text, output_fields=["id"], limit=16384))
        got = ids(client.query("indexed", text, output_fields=["id"], limit=16384))
        assert got == expected, text
    for text in filters(seed=2, count=20):
        hits = [client.search(name, [[1.0, 2.0]], filter=text, limit=50,
                              output_fields=["id"])[0] for name in ("plain", "indexed")]
        assert same_hits(*hits), text
    client.close()


def test_sealed_segments_use_the_index_growing_ones_scan(tmp_path):
    path = str(tmp_path / "u.db")
    client = MilvusClient(path)
    two_collections(client)
    client.query("indexed", 's like "ab%" and x == 3 and j["a"] == 1', output_fields=["id"])
    db = Database.open(path)
    try:
        views = db.collections[("default", "indexed")].store.snapshot()
        sealed = [view for view in views if view.scalar_indexes]
        assert sealed and len(sealed) == len(views) - 1
        for view in sealed:
            built = {key[1:3] for key in view.cache if key[0] == scalar_index.CACHE_KEY}
            assert built == {("s", ValueKind.STRING), ("x", ValueKind.INT), ("j", ("a",))}
        growing = views[-1]
        assert not [key for key in growing.cache if key[0] == scalar_index.CACHE_KEY]
    finally:
        db.release()
    client.close()


def test_index_definitions_survive_reopen_and_structures_are_rebuilt_lazily(tmp_path):
    path = str(tmp_path / "p.db")
    client = MilvusClient(path)
    client.create_collection("c", schema=make_schema(client))
    index(client, "v", "FLAT", metric_type="L2")
    index(client, "s", "TRIE")
    index(client, "j", "INVERTED", name="jx", **JSON_PARAMS)
    client.load_collection("c")
    client.insert("c", rows(300))
    client.flush("c")
    before = ids(client.query("c", 's >= "w1" and s < "w2"', output_fields=["id"]))
    client.close()

    client = MilvusClient(path)
    assert client.list_indexes("c") == ["v", "s", "jx"]
    assert client.describe_index("c", "jx")["json_cast_type"] == "DOUBLE"
    db = Database.open(path)
    try:
        (view,) = db.collections[("default", "c")].store.snapshot()
        assert view.scalar_indexes == {"s": "TRIE", ("j", ("a", "b")): "DOUBLE"}
        assert not [key for key in view.cache if key[0] == scalar_index.CACHE_KEY]
        assert ids(client.query("c", 's >= "w1" and s < "w2"', output_fields=["id"])) == before
        assert [key for key in view.cache if key[0] == scalar_index.CACHE_KEY]
        assert ids(client.query("c", 'j["a"]["b"] > 1', output_fields=["id"])) == []
        client.release_collection("c")
        client.drop_index("c", "s")
        (view,) = db.collections[("default", "c")].store.snapshot()
        assert view.scalar_indexes == {("j", ("a", "b")): "DOUBLE"}
        # the dropped index's structure is forgotten, the other one kept
        assert [key[1] for key in view.cache if key[0] == scalar_index.CACHE_KEY] == ["j"]
    finally:
        db.release()
    client.close()
    client = MilvusClient(path)
    assert client.list_indexes("c") == ["v", "jx"]
    client.close()


def test_compaction_keeps_serving_the_index(tmp_path):
    path = str(tmp_path / "k.db")
    client = MilvusClient(path)
    two_collections(client)
    expected = ids(client.query("plain", "x == 3 or s == 'ab1'", output_fields=["id"]))
    client.compact("indexed")
    client.flush("indexed")
    assert ids(client.query("indexed", "x == 3 or s == 'ab1'", output_fields=["id"])) == expected
    client.close()


def test_limited_queries_return_the_first_rows_by_pk(tmp_path):
    """A selective filter with limit/offset: the rows with the smallest pks, in pk order
    (the pk walk takes the selected rows' pk ranks when few rows are selected)."""
    client = MilvusClient(str(tmp_path / "l.db"))
    two_collections(client)
    data = [r for start in (0, 400, 800, 1200) for r in rows(400 if start < 1200 else 100, start)]
    live = [r for r in data if r["id"] % 13 != 0]
    for text, keep in (("x == 3", lambda r: r["x"] == 3),
                       ('s like "w1%"', lambda r: (r["s"] or "").startswith("w1")),
                       ("id >= 0", lambda r: True), ("x == 99", lambda r: False)):
        expected = [r["id"] for r in live if keep(r)]
        for name in ("plain", "indexed"):
            for limit, offset in ((5, 0), (7, 3), (1000, 0)):
                got = client.query(name, text, output_fields=["id"], limit=limit, offset=offset)
                assert [r["id"] for r in got] == expected[offset:offset + limit], (name, text)
    client.close()
