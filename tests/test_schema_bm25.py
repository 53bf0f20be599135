"""BM25 functions and text field params, checked by CollectionSchema.verify()."""

from __future__ import annotations

import pytest

from redkite import CollectionSchema, DataType, FieldSchema, Function, FunctionType, ParamError
from redkite.engine.text import validate_schema_analyzers


def bm25_schema(text_kwargs=None, function=None, sparse_kwargs=None) -> CollectionSchema:
    schema = CollectionSchema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=1000,
                     **({"enable_analyzer": True} if text_kwargs is None else text_kwargs))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR, **(sparse_kwargs or {}))
    schema.add_field("title", DataType.VARCHAR, max_length=100)
    schema.add_function(function or Function("bm25", FunctionType.BM25, ["text"], ["sparse"]))
    return schema


def test_bm25_function_is_accepted_and_marks_its_output():
    schema = bm25_schema({"enable_analyzer": True, "enable_match": "true",
                          "analyzer_params": '{"type": "english"}'})
    schema.verify()
    text, sparse = schema.field("text"), schema.field("sparse")
    assert sparse.is_function_output and not text.is_function_output
    assert text.params["enable_match"] is True
    assert text.params["analyzer_params"] == {"type": "english"}
    validate_schema_analyzers(schema)
    described = schema.describe_functions()
    assert described == [{
        "name": "bm25", "id": 100, "description": "", "type": FunctionType.BM25, "params": {},
        "input_field_names": ["text"], "input_field_ids": [text.field_id],
        "output_field_names": ["sparse"], "output_field_ids": [sparse.field_id]}]
    assert schema.to_dict()["fields"][2]["is_function_output"] is True
    # survives the catalog's dict round trip
    again = CollectionSchema.construct_from_dict(schema.to_dict())
    again.verify()
    assert again.field("sparse").is_function_output


def test_pymilvus_style_function_arguments():
    function = Function(name="f", function_type=FunctionType.BM25, input_field_names="text",
                        output_field_names="sparse")
    assert function.input_field_names == ["text"] and function.type is FunctionType.BM25
    bm25_schema(function=function).verify()


@pytest.mark.parametrize("function, message", [
    (Function("bm25", FunctionType.BM25, ["text", "title"], ["sparse"]), "exactly 1 input"),
    (Function("bm25", FunctionType.BM25, ["text"], []), "exactly 1 input and 1 output"),
    (Function("bm25", FunctionType.BM25, ["nope"], ["sparse"]), "input field 'nope'"),
    (Function("bm25", FunctionType.BM25, ["text"], ["nope"]), "output field 'nope'"),
    (Function("bm25", FunctionType.BM25, ["id"], ["sparse"]), "must be VARCHAR"),
    (Function("bm25", FunctionType.BM25, ["title"], ["sparse"]), "enable_analyzer=True"),
    (Function("bm25", FunctionType.BM25, ["text"], ["title"]), "SPARSE_FLOAT_VECTOR"),
    (Function("bm25", FunctionType.BM25, ["text"], ["id"]), "primary key"),
    (Function("bm25", FunctionType.BM25, ["text"], ["sparse"], params={"k1": 1}), "k1"),
    (Function("bm 25", FunctionType.BM25, ["text"], ["sparse"]), "bm 25"),
    (Function("emb", FunctionType.TEXTEMBEDDING, ["text"], ["sparse"]), "TEXTEMBEDDING"),
    (Function("x", FunctionType.UNKNOWN, ["text"], ["sparse"]), "UNKNOWN"),
])
def test_invalid_functions(function, message):
    with pytest.raises(ParamError) as info:
        bm25_schema(function=function).verify()
    assert message in info.value.message, info.value.message


def test_an_output_field_feeds_one_function_and_names_are_unique():
    schema = bm25_schema()
    schema.add_function(Function("bm25", FunctionType.BM25, ["text"], ["sparse"]))
    with pytest.raises(ParamError, match="duplicate function name"):
        schema.verify()
    schema = bm25_schema()
    schema.add_function(Function("other", FunctionType.BM25, ["text"], ["sparse"]))
    with pytest.raises(ParamError, match="more than one function"):
        schema.verify()


@pytest.mark.parametrize("args, message", [
    ((["a", "a"], ["b"]), "duplicate input"),
    ((["a"], ["b", "b"]), "duplicate output"),
    ((["a"], ["a"]), "must be different"),
    (([1], ["b"]), "list of strings"),
])
def test_function_constructor_checks(args, message):
    with pytest.raises(ParamError, match=message):
        Function("f", FunctionType.BM25, *args)
    with pytest.raises(ParamError, match="unknown function type"):
        Function("f", 42, ["a"], ["b"])
    with pytest.raises(ParamError, match="params must be a dict"):
        Function("f", FunctionType.BM25, ["a"], ["b"], params=[1])


@pytest.mark.parametrize("kwargs, message", [
    ({"enable_match": True}, "needs enable_analyzer=True"),
    ({"analyzer_params": {"type": "english"}}, "needs enable_analyzer=True"),
    ({"enable_analyzer": "yes"}, "must be True or False"),
    ({"enable_analyzer": True, "analyzer_params": "{oops"}, "not valid JSON"),
    ({"enable_analyzer": True, "analyzer_params": ["standard"]}, "must be a dict"),
    ({"enable_analyzer": True, "multi_analyzer_params": {}}, "multi_analyzer_params"),
])
def test_text_field_params(kwargs, message):
    with pytest.raises(ParamError) as info:
        bm25_schema(text_kwargs=kwargs).verify()
    assert message in info.value.message and "'text'" in info.value.message


def test_text_params_only_on_varchar():
    schema = CollectionSchema([FieldSchema("id", DataType.INT64, is_primary=True),
                               FieldSchema("n", DataType.INT64, enable_match=True),
                               FieldSchema("v", DataType.FLOAT_VECTOR, dim=2)])
    with pytest.raises(ParamError, match="only supported on VARCHAR"):
        schema.verify()


def test_invalid_analyzer_params_are_reported_with_the_field():
    schema = bm25_schema({"enable_analyzer": True, "analyzer_params": {"tokenizer": "jieba"}})
    schema.verify()
    with pytest.raises(ParamError) as info:
        validate_schema_analyzers(schema)
    assert "field 'text'" in info.value.message and "jieba" in info.value.message


def test_sparse_output_field_rules():
    with pytest.raises(ParamError, match="dim should not be specified"):
        bm25_schema(sparse_kwargs={"dim": 8}).verify()
    with pytest.raises(ParamError, match="nullable"):
        bm25_schema(sparse_kwargs={"nullable": True}).verify()
