"""Schema and property changes on the engine (redkite/engine/alter.py): each operation, what
survives a reopen, what is refused (with its code) and that a refused call changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from redkite import DataType, FieldSchema, Function, FunctionType
from redkite.client._base import decode_search
from redkite.engine.database import Database
from redkite.errors import (
    CollectionNotExistException, FieldNotExistException, IndexNotExistException,
    MilvusException, ParamError,
)
from redkite.schema import CollectionSchema

FLAT = {"field_name": "v", "index_type": "FLAT", "metric_type": "L2"}


def _schema(dynamic: bool = False) -> CollectionSchema:
    schema = CollectionSchema(enable_dynamic_field=dynamic)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("t", DataType.VARCHAR, max_length=4)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=2,
                     max_length=3)
    schema.add_field("cat", DataType.INT64, is_partition_key=True)
    return schema


def _rows(ids, **extra):
    return [{"id": i, "v": [float(i), 1.0], "t": "x", "tags": ["a"], "cat": i % 2, **extra}
            for i in ids]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "a.db"


@pytest.fixture
def db(path):
    database = Database.open(path)
    database.create_collection(None, "c", _schema(), index_params=[FLAT], load=True)
    yield database
    database.release()


def reopen(db, path):
    db.release()
    return Database.open(path)


def manifest(path) -> bytes:
    return (path / "MANIFEST").read_bytes()


def query(db, expr="id >= 0", fields=("*",)):
    return sorted(db.query(None, "c", filter=expr, output_fields=list(fields)),
                  key=lambda r: r["id"])


# ---- collection properties -------------------------------------------------------------------
def test_collection_properties_set_normalized_shown_and_persisted(db, path):
    db.release_collection(None, "c")
    db.alter_collection_properties(None, "c", {"mmap.enabled": True, "owner": "ann",
                                               "collection.autocompaction.enabled": "False"})
    db.alter_collection_properties(None, "c", {"version": 3})
    expected = {"mmap.enabled": "true", "owner": "ann", "version": "3",
                "collection.autocompaction.enabled": "false"}
    assert db.describe_collection(None, "c")["properties"] == expected
    db = reopen(db, path)
    assert db.describe_collection(None, "c")["properties"] == expected
    db.drop_collection_properties(None, "c", ["owner", "never-set"])
    expected.pop("owner")
    assert db.describe_collection(None, "c")["properties"] == expected
    db.release()


@pytest.mark.parametrize("properties, words", [
    ({"collection.ttl.seconds": 60}, "collection.ttl.seconds"),
    ({"collection.replica.number": 2}, "collection.replica.number"),
    ({"collection.insertRate.max.mb": 5}, "collection.insertRate.max.mb"),
    ({"mmap.enabled": "maybe"}, "expected a boolean"),
    ({"dynamicfield.enabled": 2}, "expected a boolean"),
    ({}, "non-empty dict"),
    ({"": "x"}, "non-empty strings"),
])
def test_collection_properties_refused_change_nothing(db, path, properties, words):
    db.release_collection(None, "c")
    before = manifest(path)
    with pytest.raises(ParamError, match=words) as info:
        db.alter_collection_properties(None, "c", properties)
    assert info.value.code == 1100
    assert manifest(path) == before


def test_mmap_changes_need_a_released_collection(db):
    for call in (lambda: db.alter_collection_properties(None, "c", {"mmap.enabled": True}),
                 lambda: db.drop_collection_properties(None, "c", ["mmap.enabled"]),
                 lambda: db.alter_collection_field(None, "c", "t", {"mmap.enabled": True}),
                 lambda: db.alter_index_properties(None, "c", "v", {"mmap.enabled": True})):
        with pytest.raises(MilvusException, match="release it first") as info:
            call()
        assert info.value.code == 101


def test_partition_key_isolation_needs_a_partition_key(db, path):
    db.alter_collection_properties(None, "c", {"partitionkey.isolation": True})
    db.create_collection(None, "plain", CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=2)]))
    with pytest.raises(ParamError, match="partition key"):
        db.alter_collection_properties(None, "plain", {"partitionkey.isolation": True})


def test_create_collection_validates_properties_too(db):
    with pytest.raises(ParamError, match="collection.ttl.seconds"):
        db.create_collection(None, "d", _schema(), properties={"collection.ttl.seconds": 5})
    assert not db.has_collection(None, "d")


def test_unknown_collection_is_reported(db):
    with pytest.raises(CollectionNotExistException):
        db.alter_collection_properties(None, "nope", {"a": "b"})


def test_enabling_the_dynamic_field_keeps_old_rows_readable(db, path):
    db.insert(None, "c", _rows([1, 2]))
    db.flush(None, "c")
    db.insert(None, "c", _rows([3]))
    db.alter_collection_properties(None, "c", {"dynamicfield.enabled": True})
    db.insert(None, "c", _rows([4], color="red"))
    assert db.describe_collection(None, "c")["enable_dynamic_field"] is True
    assert [r.get("color") for r in query(db)] == [None, None, None, "red"]
    assert [r["id"] for r in query(db, 'color == "red"', ["id"])] == [4]
    with pytest.raises(ParamError, match="cannot be disabled"):
        db.alter_collection_properties(None, "c", {"dynamicfield.enabled": False})
    with pytest.raises(ParamError, match="cannot be"):
        db.drop_collection_properties(None, "c", ["dynamicfield.enabled"])
    db = reopen(db, path)
    db.load_collection(None, "c")
    assert [r.get("color") for r in query(db)] == [None, None, None, "red"]
    db.release()


def test_autocompaction_property_is_honoured():
    from redkite.engine.catalog import CollectionMeta
    from redkite.engine.storage.compaction import auto_compaction_enabled
    meta = CollectionMeta(1, "default", "c", _schema(), {})
    assert auto_compaction_enabled(meta)
    meta.properties["collection.autocompaction.enabled"] = "false"
    assert not auto_compaction_enabled(meta)


# ---- fields ------------------------------------------------------------------------------------
def test_add_field_old_rows_read_null_or_default_on_every_path(db, path):
    db.insert(None, "c", _rows([1, 2]))
    db.flush(None, "c")  # rows 1, 2 sealed before the field exists
    db.insert(None, "c", _rows([3]))  # row 3 growing at the change
    epoch = db.describe_collection(None, "c")["schema_version"]
    db.add_collection_field(None, "c", FieldSchema("n", DataType.INT64, nullable=True))
    db.add_collection_field(None, "c", FieldSchema("s", DataType.VARCHAR, max_length=8,
                                                   nullable=True, default_value="dflt"))
    info = db.describe_collection(None, "c")
    assert info["schema_version"] == epoch + 2
    assert [f["name"] for f in info["fields"]][-2:] == ["n", "s"]
    assert info["fields"][-1]["field_id"] == info["fields"][-2]["field_id"] + 1
    db.insert(None, "c", _rows([4], n=7, s="new"))
    db.insert(None, "c", _rows([5], n=8))
    expected = [(1, None, "dflt"), (2, None, "dflt"), (3, None, "dflt"), (4, 7, "new"),
                (5, 8, "dflt")]
    assert [(r["id"], r["n"], r["s"]) for r in query(db)] == expected
    assert [r["id"] for r in query(db, "n is null", ["id"])] == [1, 2, 3]
    assert [r["id"] for r in query(db, "n > 7", ["id"])] == [5]
    assert db.query(None, "c", ids=[2, 4], output_fields=["n"]) in (
        [{"id": 2, "n": None}, {"id": 4, "n": 7}], [{"id": 4, "n": 7}, {"id": 2, "n": None}])
    hits = decode_search(db.search(None, "c", data=[[1.0, 1.0]], anns_field="v", limit=5,
                                   output_fields=["n", "s"], filter=""))
    assert sorted((h["id"], h["entity"]["n"]) for h in hits[0]) == [
        (1, None), (2, None), (3, None), (4, 7), (5, 8)]
    db = reopen(db, path)
    db.load_collection(None, "c")
    assert [(r["id"], r["n"], r["s"]) for r in query(db)] == expected
    db.compact(None, "c")
    assert [(r["id"], r["n"], r["s"]) for r in query(db)] == expected
    db.release()


@pytest.mark.parametrize("field, words", [
    (FieldSchema("n", DataType.INT64), "must be nullable"),
    (FieldSchema("n", DataType.INT64, default_value=3), "must be nullable"),
    (FieldSchema("w", DataType.FLOAT_VECTOR, dim=2), "vector fields cannot be added"),
    (FieldSchema("t", DataType.INT64, nullable=True), "already exists"),
    (FieldSchema("p", DataType.INT64, nullable=True, is_partition_key=True), "partition_key"),
    (FieldSchema("s", DataType.VARCHAR, nullable=True), "max_length"),
    (FieldSchema("b", DataType.INT8, nullable=True, default_value=1000), "default value"),
    (FieldSchema("1bad", DataType.INT64, nullable=True), "invalid field name"),
])
def test_add_field_refused_changes_nothing(db, path, field, words):
    db.insert(None, "c", _rows([1]))
    before = manifest(path)
    with pytest.raises(ParamError, match=words):
        db.add_collection_field(None, "c", field)
    assert manifest(path) == before
    assert list(query(db)[0]) == ["id", "v", "t", "tags", "cat"]


def test_alter_field_lengths_grow_only_and_new_limits_apply(db, path):
    db.insert(None, "c", _rows([1]))
    with pytest.raises(MilvusException, match="exceeds max_length"):
        db.insert(None, "c", _rows([2], t="toolong"))
    db.alter_collection_field(None, "c", "t", {"max_length": 16})
    db.alter_collection_field(None, "c", "tags", {"max_capacity": "3", "max_length": 5})
    db.insert(None, "c", _rows([2], t="toolong", tags=["abcde", "b", "c"]))
    db = reopen(db, path)
    fields = {f["name"]: f for f in db.describe_collection(None, "c")["fields"]}
    assert fields["t"]["params"]["max_length"] == 16
    assert fields["tags"]["params"] == {"max_capacity": 3, "max_length": 5}
    db.release()


@pytest.mark.parametrize("field, params, error, words", [
    ("t", {"max_length": 2}, ParamError, "can only grow"),
    ("t", {"max_length": 70000}, ParamError, "65535"),
    ("t", {"max_length": "ten"}, ParamError, "expected an integer"),
    ("t", {"max_capacity": 9}, ParamError, "ARRAY"),
    ("t", {"nullable": True}, ParamError, "cannot be altered"),
    ("cat", {"max_length": 9}, ParamError, "VARCHAR"),
    ("tags", {"max_capacity": 5000}, ParamError, "4096"),
    ("id", {"mmap.enabled": True}, ParamError, "primary key"),
    ("zz", {"max_length": 9}, FieldNotExistException, "field not found"),
    ("t", {}, ParamError, "non-empty"),
])
def test_alter_field_refused(db, path, field, params, error, words):
    db.release_collection(None, "c")
    before = manifest(path)
    with pytest.raises(error, match=words):
        db.alter_collection_field(None, "c", field, params)
    assert manifest(path) == before


def test_alter_field_mmap_on_released_collection(db):
    db.release_collection(None, "c")
    db.alter_collection_field(None, "c", "t", {"mmap.enabled": True})
    field = next(f for f in db.describe_collection(None, "c")["fields"] if f["name"] == "t")
    assert field["params"]["mmap_enabled"] is True


def test_drop_field_hides_it_everywhere_and_survives_compaction(db, path):
    db.add_collection_field(None, "c", FieldSchema("n", DataType.INT64, nullable=True))
    db.insert(None, "c", _rows([1, 2], n=1))
    db.flush(None, "c")
    db.insert(None, "c", _rows([3], n=2))
    db.drop_collection_field(None, "c", "n")
    assert "n" not in [f["name"] for f in db.describe_collection(None, "c")["fields"]]
    assert list(query(db)[0]) == ["id", "v", "t", "tags", "cat"]
    with pytest.raises(MilvusException):
        db.query(None, "c", filter="n == 1", output_fields=["id"])
    with pytest.raises(MilvusException, match="n"):
        db.insert(None, "c", _rows([4], n=1))
    db.add_collection_field(None, "c", FieldSchema("n", DataType.VARCHAR, max_length=4,
                                                   nullable=True))  # same name, new type
    assert [r["n"] for r in query(db)] == [None, None, None]
    db = reopen(db, path)
    db.load_collection(None, "c")
    db.compact(None, "c")
    assert [r["n"] for r in query(db)] == [None, None, None]
    db.release()


@pytest.mark.parametrize("field, words", [
    ("id", "primary key"), ("cat", "partition key"), ("v", "a collection needs a vector"),
    ("zz", "field not found"),
])
def test_drop_field_refused(db, path, field, words):
    before = manifest(path)
    with pytest.raises(MilvusException, match=words):
        db.drop_collection_field(None, "c", field)
    assert manifest(path) == before


def test_drop_indexed_field_needs_the_index_dropped(db):
    db.add_collection_field(None, "c", FieldSchema("n", DataType.INT64, nullable=True))
    db.create_index(None, "c", {"field_name": "n", "index_type": "INVERTED",
                                "index_name": "n_idx"})
    with pytest.raises(ParamError, match="drop the index first"):
        db.drop_collection_field(None, "c", "n")
    db.release_collection(None, "c")
    db.drop_index(None, "c", "n_idx")
    db.drop_collection_field(None, "c", "n")


# ---- functions --------------------------------------------------------------------------------
@pytest.fixture
def text_db(db):
    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("text", DataType.VARCHAR, max_length=64, enable_analyzer=True),
        FieldSchema("sparse", DataType.SPARSE_FLOAT_VECTOR)],
        functions=[Function("bm25", FunctionType.BM25, ["text"], ["sparse"])])
    db.create_collection(None, "docs", schema)
    return db


def test_function_changes_follow_milvus_and_are_refused(text_db, path):
    before = manifest(path)
    bm25 = Function("more", FunctionType.BM25, ["text"], ["sparse"])
    with pytest.raises(ParamError, match="BM25") as info:
        text_db.add_collection_function(None, "docs", bm25)
    assert info.value.code == 1100
    with pytest.raises(ParamError, match="already exists"):
        text_db.add_collection_function(None, "docs", Function(
            "bm25", FunctionType.BM25, ["text"], ["sparse"]))
    with pytest.raises(ParamError, match="BM25"):
        text_db.alter_collection_function(None, "docs", "bm25", bm25)
    with pytest.raises(ParamError, match="BM25"):
        text_db.drop_collection_function(None, "docs", "bm25")
    with pytest.raises(ParamError, match="not found"):
        text_db.drop_collection_function(None, "docs", "nope")
    with pytest.raises(ParamError, match="expects a Function"):
        text_db.add_collection_function(None, "docs", {"name": "x"})
    assert manifest(path) == before
    assert [f["name"] for f in text_db.describe_collection(None, "docs")["functions"]] == [
        "bm25"]


# ---- index properties --------------------------------------------------------------------------
def test_index_properties_shown_persisted_and_dropped(db, path):
    db.release_collection(None, "c")
    db.alter_index_properties(None, "c", "v", {"mmap.enabled": "True"})
    assert db.describe_index(None, "c", "v")["mmap.enabled"] is True
    db = reopen(db, path)
    assert db.describe_index(None, "c", "v")["mmap.enabled"] is True
    db.load_collection(None, "c")  # the index definition is unchanged: still loadable
    db.release_collection(None, "c")
    db.drop_index_properties(None, "c", "v", ["mmap.enabled"])
    assert "mmap.enabled" not in db.describe_index(None, "c", "v")
    db.release()


@pytest.mark.parametrize("call, error, words", [
    (lambda d: d.alter_index_properties(None, "c", "v", {"nlist": 8}), ParamError,
     "not a configurable index param"),
    (lambda d: d.alter_index_properties(None, "c", "v", {"mmap.enabled": "yes"}), ParamError,
     "boolean"),
    (lambda d: d.alter_index_properties(None, "c", "nope", {"mmap.enabled": True}),
     IndexNotExistException, "index not found"),
    (lambda d: d.drop_index_properties(None, "c", "v", ["nlist"]), ParamError,
     "not a configurable"),
    (lambda d: d.drop_index_properties(None, "c", "v", "mmap.enabled"), ParamError,
     "list of names"),
])
def test_index_properties_refused(db, path, call, error, words):
    db.release_collection(None, "c")
    before = manifest(path)
    with pytest.raises(error, match=words):
        call(db)
    assert manifest(path) == before


# ---- database properties -----------------------------------------------------------------------
def test_database_properties_and_collection_quota(db, path):
    db.create_database("other")
    db.alter_database_properties("other", {"database.max.collections": 1, "team": "x"})
    assert db.describe_database("other") == {"name": "other",
                                              "database.max.collections": "1", "team": "x"}
    db.create_collection("other", "one", _schema())
    with pytest.raises(MilvusException, match="exceeded the limit") as info:
        db.create_collection("other", "two", _schema())
    assert info.value.code == 65535
    db = reopen(db, path)
    assert db.describe_database("other")["database.max.collections"] == "1"
    db.drop_database_properties("other", ["database.max.collections", "unset"])
    db.create_collection("other", "two", _schema())
    assert db.describe_database("other") == {"name": "other", "team": "x"}
    db.alter_database_properties("default", {"team": "y"})
    assert db.describe_database("default")["team"] == "y"
    db.release()


@pytest.mark.parametrize("db_name, properties, error, words", [
    ("default", {"database.replica.number": 2}, ParamError, "not supported"),
    ("default", {"database.max.collections": -1}, ParamError, "integer"),
    ("default", {"database.force.deny.writing": True}, ParamError, "not supported"),
    ("missing", {"a": "b"}, MilvusException, "database not found"),
])
def test_database_properties_refused(db, path, db_name, properties, error, words):
    before = manifest(path)
    with pytest.raises(error, match=words):
        db.alter_database_properties(db_name, properties)
    assert manifest(path) == before
    json.loads(json.dumps(db.describe_database("default")))


def test_grpc_stamp_moves_with_schema_changes(db):
    first = db.describe_collection(None, "c")["update_timestamp"]
    db.add_collection_field(None, "c", FieldSchema("n", DataType.INT64, nullable=True))
    second = db.describe_collection(None, "c")["update_timestamp"]
    db.alter_collection_field(None, "c", "t", {"max_length": 9})
    third = db.describe_collection(None, "c")["update_timestamp"]
    assert first < second < third
    assert np.all(np.diff([first, second, third]) > 0)
