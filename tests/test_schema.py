"""Schema construction and Milvus's validation rules, through the public client API."""

from __future__ import annotations

import pytest

from redkite import (
    CollectionSchema, DataType, FieldSchema, MilvusClient, MilvusException, ParamError,
    PrimaryKeyException,
)


@pytest.fixture
def client(tmp_path):
    with MilvusClient(str(tmp_path / "s.db")) as c:
        yield c


def test_datatype_values_match_milvus():
    expected = {"BOOL": 1, "INT8": 2, "INT16": 3, "INT32": 4, "INT64": 5, "FLOAT": 10,
                "DOUBLE": 11, "STRING": 20, "VARCHAR": 21, "ARRAY": 22, "JSON": 23,
                "GEOMETRY": 24, "TEXT": 25, "TIMESTAMPTZ": 26, "BINARY_VECTOR": 100,
                "FLOAT_VECTOR": 101, "FLOAT16_VECTOR": 102, "BFLOAT16_VECTOR": 103,
                "SPARSE_FLOAT_VECTOR": 104, "INT8_VECTOR": 105, "STRUCT": 201}
    assert {name: int(DataType[name]) for name in expected} == expected


def full_schema(client) -> CollectionSchema:
    schema = client.create_schema(enable_dynamic_field=True)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("flag", DataType.BOOL)
    schema.add_field("i8", DataType.INT8, nullable=True)
    schema.add_field("i16", DataType.INT16, default_value=7)
    schema.add_field("i32", DataType.INT32)
    schema.add_field("i64", DataType.INT64)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("d", DataType.DOUBLE)
    schema.add_field("s", DataType.VARCHAR, max_length=16)
    schema.add_field("j", DataType.JSON, nullable=True)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4,
                     max_length=8)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    return schema


def test_custom_schema_roundtrips_through_describe(client):
    client.create_collection("c", schema=full_schema(client))
    described = client.describe_collection("c")
    fields = {f["name"]: f for f in described["fields"]}
    assert list(fields) == ["pk", "flag", "i8", "i16", "i32", "i64", "f", "d", "s", "j", "tags",
                            "v"]
    assert fields["pk"]["is_primary"] and fields["pk"]["params"] == {"max_length": 32}
    assert fields["i8"].get("nullable") is True
    assert fields["i16"]["default_value"] == 7
    assert fields["tags"]["element_type"] == DataType.VARCHAR
    assert fields["tags"]["params"] == {"max_capacity": 4, "max_length": 8}
    assert fields["v"]["params"] == {"dim": 4}
    assert described["enable_dynamic_field"] is True
    # Without index_params the collection exists but is not loaded, as in Milvus.
    assert client.get_load_state("c")["state"].name == "NotLoad"


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.add_field("pk2", DataType.INT64, is_primary=True), "exactly one primary key"),
    (lambda s: s.add_field("x", DataType.VARCHAR), "max_length"),
    (lambda s: s.add_field("x", DataType.VARCHAR, max_length=70000), "max_length"),
    (lambda s: s.add_field("x", DataType.FLOAT_VECTOR), "dim"),
    (lambda s: s.add_field("x", DataType.ARRAY, max_capacity=3), "element_type"),
    (lambda s: s.add_field("x", DataType.ARRAY, element_type=DataType.INT64), "max_capacity"),
    (lambda s: s.add_field("x", DataType.ARRAY, element_type=DataType.JSON, max_capacity=2),
     "element_type"),
    (lambda s: s.add_field("1bad", DataType.INT64), "invalid field name"),
    (lambda s: s.add_field("v", DataType.INT64), "duplicate field name"),
    (lambda s: s.add_field("x", DataType.INT8, default_value=1000), "default value"),
    (lambda s: s.add_field("x", DataType.JSON, default_value={}), "default value"),
    (lambda s: s.add_field("x", DataType.INT64, auto_id=True), "auto_id"),
])
def test_invalid_schemas_are_rejected_with_the_reason(client, mutate, message):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    mutate(schema)
    with pytest.raises(ParamError, match=message):
        client.create_collection("bad", schema=schema)
    assert not client.has_collection("bad")


def test_primary_key_rules(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.FLOAT, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    with pytest.raises(PrimaryKeyException, match="INT64 or VARCHAR"):
        client.create_collection("c", schema=schema)
    schema = client.create_schema(auto_id=True)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=8)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    with pytest.raises(ParamError, match="auto_id"):
        client.create_collection("c", schema=schema)


def test_schema_without_vector_is_rejected(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    with pytest.raises(ParamError, match="vector"):
        client.create_collection("c", schema=schema)


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "x" * 256, "drop;table"])
def test_hostile_collection_names_are_rejected(client, name):
    with pytest.raises(MilvusException):
        client.create_collection(name, dimension=4)
    assert client.list_collections() == []


def test_quick_setup_arguments(client):
    client.create_collection("q", dimension=8, primary_field_name="pk", id_type="string",
                             max_length=64, vector_field_name="emb", metric_type="L2",
                             auto_id=False)
    fields = client.describe_collection("q")["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("pk", DataType.VARCHAR),
                                                       ("emb", DataType.FLOAT_VECTOR)]
    assert client.describe_index("q", "emb")["metric_type"] == "L2"
    with pytest.raises(PrimaryKeyException):
        client.create_collection("q2", dimension=8, id_type="float")
    with pytest.raises(ParamError, match="dimension"):
        client.create_collection("q3")


def test_arguments_that_do_not_apply_are_rejected(client):
    with pytest.raises(ParamError, match="do not apply"):
        client.create_collection("q", dimension=4, no_such_option=1)
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    with pytest.raises(ParamError, match="quick setup"):
        client.create_collection("q", schema=schema, dimension=4)
    with pytest.raises(ParamError, match="index_params needs a schema"):
        client.create_collection("q", dimension=4,
                                 index_params=client.prepare_index_params("vector"))


def test_field_schema_objects_and_dict_roundtrip():
    field = FieldSchema("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3)
    again = FieldSchema.construct_from_dict(field.to_dict())
    assert again == field
    schema = CollectionSchema([FieldSchema("id", DataType.INT64, is_primary=True),
                               FieldSchema("v", DataType.FLOAT_VECTOR, dim=2)])
    assert CollectionSchema.construct_from_dict(schema.to_dict()) == schema


def test_index_rules(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection("c", schema=schema)
    with pytest.raises(ParamError, match="invalid index type"):
        client.create_index("c", client.prepare_index_params("v", index_type="NOPE"))
    with pytest.raises(ParamError, match="metric type"):
        client.create_index("c", client.prepare_index_params("v", index_type="FLAT",
                                                             metric_type="HAMMING"))
    with pytest.raises(ParamError, match="non-existent field"):
        client.create_index("c", client.prepare_index_params("nope", index_type="FLAT"))
    with pytest.raises(MilvusException, match="index"):
        client.load_collection("c")
    client.create_index("c", client.prepare_index_params("v", index_type="FLAT",
                                                         metric_type="IP"))
    assert client.list_indexes("c") == ["v"]
    assert client.describe_index("c", "v")["index_type"] == "FLAT"
    assert client.describe_index("c", "missing") is None
    client.load_collection("c")
    assert client.get_load_state("c")["state"].name == "Loaded"
    with pytest.raises(ParamError, match="release"):
        client.drop_index("c", "v")
    client.release_collection("c")
    client.drop_index("c", "v")
    assert client.list_indexes("c") == []
