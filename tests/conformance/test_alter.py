"""Schema and property changes through a client: the redkite SDK (embedded) and the
official pymilvus against ``redkite serve``.

Collection and database properties are compared with milvus-lite (which stores them);
Lite answers every other alter RPC (fields, functions, index properties) "unimplemented",
so those run on redkite's two faces and assert Milvus's documented behaviour."""

from __future__ import annotations

import warnings

from . import helpers as H
from .helpers import capture, norm_rows, plain


def scenario_properties(client, name):
    client.create_collection(name, dimension=4, metric_type="L2")
    out = {"initial": plain(client.describe_collection(name)["properties"])}
    client.alter_collection_properties(name, {"owner": "ann", "tier": "gold",
                                              "collection.autocompaction.enabled": "false"})
    out["altered"] = plain(client.describe_collection(name)["properties"])
    client.drop_collection_properties(name, ["tier", "never-set"])
    out["dropped"] = plain(client.describe_collection(name)["properties"])
    db = f"{name}_db"
    client.create_database(db)
    client.alter_database_properties(db, {"database.max.collections": 10, "team": "x"})
    out["db_altered"] = plain(client.describe_database(db))
    client.drop_database_properties(db, ["team"])
    out["db_dropped"] = plain(client.describe_database(db))
    client.drop_database(db)
    return out


def test_properties_vs_lite(pair):
    pair.run(scenario_properties)


def _schema_collection(client, name):
    DataType = H.datatype_of(client)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("text", DataType.VARCHAR, max_length=4)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": i, "vector": [float(i), 0, 0, 0], "text": "t"} for i in (1, 2)])
    client.flush(name)
    client.insert(name, [{"id": 3, "vector": [3.0, 0, 0, 0], "text": "t"}])


def test_added_fields_read_null_or_default_then_take_values(pair):
    client, name = pair.rk, pair.uniq("added")
    DataType = H.datatype_of(client)
    _schema_collection(client, name)
    client.add_collection_field(name, "n", DataType.INT64, nullable=True)
    client.add_collection_field(name, "s", DataType.VARCHAR, max_length=8, nullable=True,
                                default_value="dflt")
    client.insert(name, [{"id": 4, "vector": [4.0, 0, 0, 0], "text": "t", "n": 40, "s": "new"}])
    rows = norm_rows(client.query(name, filter="id > 0", output_fields=["n", "s"]))
    assert [(r["id"], r["n"], r["s"]) for r in rows] == [
        (1, None, "dflt"), (2, None, "dflt"), (3, None, "dflt"), (4, 40, "new")]
    assert sorted(r["id"] for r in client.query(name, filter="n is null")) == [1, 2, 3]
    assert [r["n"] for r in norm_rows(client.get(name, ids=[2, 4], output_fields=["n"]))] == [
        None, 40]
    hits = client.search(name, data=[[4.0, 0, 0, 0]], limit=2, output_fields=["n"])[0]
    assert [(h["id"], h["entity"]["n"]) for h in hits] == [(4, 40), (3, None)]
    fields = client.describe_collection(name)["fields"]
    assert [f["name"] for f in fields] == ["id", "vector", "text", "n", "s"]
    default = fields[4]["default_value"]  # pymilvus shows the proto ValueField
    assert fields[3]["nullable"] is True and getattr(default, "string_data", default) == "dflt"


def test_field_changes_are_checked(pair):
    client, name = pair.rk, pair.uniq("checked")
    DataType = H.datatype_of(client)
    _schema_collection(client, name)
    refused = {
        "not_nullable": capture(client.add_collection_field, name, "x", DataType.INT64),
        "vector": capture(client.add_collection_field, name, "w", DataType.FLOAT_VECTOR,
                          dim=4, nullable=True),
        "existing": capture(client.add_collection_field, name, "text", DataType.INT64,
                            nullable=True),
        "shrink": capture(client.alter_collection_field, name, "text", {"max_length": 2}),
        "primary": capture(client.alter_collection_field, name, "id", {"max_length": 9}),
        "unknown_param": capture(client.alter_collection_field, name, "text",
                                 {"nullable": True}),
        "drop_primary": capture(client.drop_collection_field, name, "id"),
        "drop_vector": capture(client.drop_collection_field, name, "vector"),
        "ttl": capture(client.alter_collection_properties, name,
                       {"collection.ttl.seconds": 60}),
        "mmap_loaded": capture(client.alter_collection_properties, name,
                               {"mmap.enabled": True}),
    }
    for what, err in refused.items():
        H.check_redkite_error(err, where=what)
    assert refused["mmap_loaded"].code == 101
    assert refused["not_nullable"].code in (1, 1100)  # pymilvus's own check or the server's
    assert "nullable" in refused["not_nullable"].message
    assert all(refused[k].code == 1100 for k in ("existing", "shrink", "primary", "ttl"))
    assert len(client.describe_collection(name)["fields"]) == 3
    client.alter_collection_field(name, "text", {"max_length": 16})
    client.insert(name, [{"id": 9, "vector": [0.0] * 4, "text": "much longer text"}])
    assert client.get(name, ids=[9], output_fields=["text"])[0]["text"] == "much longer text"


def test_drop_field_by_name_and_by_id(pair):
    client, name = pair.rk, pair.uniq("dropped")
    DataType = H.datatype_of(client)
    _schema_collection(client, name)
    client.add_collection_field(name, "a", DataType.INT64, nullable=True)
    client.add_collection_field(name, "b", DataType.DOUBLE, nullable=True)
    client.drop_collection_field(name, "a")
    b_id = next(f["field_id"] for f in client.describe_collection(name)["fields"]
                if f["name"] == "b")
    client.drop_collection_field(name, field_id=b_id)
    assert [f["name"] for f in client.describe_collection(name)["fields"]] == [
        "id", "vector", "text"]
    assert sorted(norm_rows(client.query(name, filter="id > 0", output_fields=["*"]))[0]) == [
        "id", "text", "vector"]
    assert isinstance(capture(client.query, name, filter="a == 1"), H.Err)


def test_index_properties_need_a_released_collection(pair):
    client, name = pair.rk, pair.uniq("index_props")
    _schema_collection(client, name)
    err = capture(client.alter_index_properties, name, "vector", {"mmap.enabled": True})
    H.check_redkite_error(err, mentions=["release"])
    client.release_collection(name)
    client.alter_index_properties(name, "vector", {"mmap.enabled": True})
    shown = client.describe_index(name, "vector")["mmap.enabled"]
    assert shown is True or shown == "true"  # pymilvus shows index params as text
    bad = capture(client.alter_index_properties, name, "vector", {"nlist": 8})
    H.check_redkite_error(bad, mentions=["nlist"])
    client.drop_index_properties(name, "vector", ["mmap.enabled"])
    assert "mmap.enabled" not in client.describe_index(name, "vector")
    client.load_collection(name)
    assert len(client.query(name, filter="id > 0")) == 3


def test_bm25_function_changes_are_refused(pair):
    client, name = pair.rk, pair.uniq("functions")
    lib = H.library_of(client)
    DataType, Function, FunctionType = lib.DataType, lib.Function, lib.FunctionType
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=64, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function("bm25", FunctionType.BM25, ["text"], ["sparse"]))
    client.create_collection(name, schema=schema)
    other = Function("bm25b", FunctionType.BM25, ["text"], ["sparse"])
    with warnings.catch_warnings():  # pymilvus 3 deprecates the add / drop function calls
        warnings.simplefilter("ignore")
        errors = [capture(client.add_collection_function, name, other),
                  capture(client.drop_collection_function, name, "bm25"),
                  capture(client.alter_collection_function, name, "bm25", other)]
    for err in errors:
        H.check_redkite_error(err, mentions=["BM25"])
        assert err.code == 1100
    assert [f["name"] for f in client.describe_collection(name)["functions"]] == ["bm25"]


def test_flush_all_and_its_state(pair):
    client, name = pair.rk, pair.uniq("flush_all")
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": 1, "vector": [0.0] * 4}])
    assert client.flush_all() is None
    assert client.get_flush_all_state(flush_all_ts=0) if H.is_lite(client) else (
        client.get_flush_all_state())
