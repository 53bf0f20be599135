"""Fuzzing compile_filter: whatever the text, only MilvusException may escape, and a
filter that compiles evaluates without raising anything."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redkite.engine.expr import FieldInfo, TableSource, compile_filter
from redkite.errors import FilterSyntaxError, MilvusException
from redkite.types import DataType as D

FIELDS = {f.name: f for f in [
    FieldInfo("id", D.INT64, is_primary=True),
    FieldInfo("i8", D.INT8, nullable=True),
    FieldInfo("f32", D.FLOAT, nullable=True),
    FieldInfo("f64", D.DOUBLE),
    FieldInfo("flag", D.BOOL, nullable=True),
    FieldInfo("name", D.VARCHAR, nullable=True),
    FieldInfo("meta", D.JSON, nullable=True),
    FieldInfo("arr", D.ARRAY, D.INT64, nullable=True),
    FieldInfo("sarr", D.ARRAY, D.VARCHAR),
    FieldInfo("barr", D.ARRAY, D.BOOL),
    FieldInfo("vec", D.FLOAT_VECTOR),
    FieldInfo("body", D.VARCHAR, nullable=True, enable_match=True),
]}
METAS = [{"a": 1, "b": {"c": [1, "x", None]}, "s": "hi"}, None, {"a": "1", "tags": [1, [2], {"k": 3}]},
         [1, 2], "str", {"a": 2**70, "b": None}, {"a": True, "tags": []}, {"a": -0.5, "s": "a%"}]
DYNAMICS = [{"dyn": 1, "color": "red"}, None, {}, {"dyn": [1, "x"]}, {"dyn": {"k": None}}, {"dyn": "5"}]
ROWS = 40
TABLE = pa.table({
    "id": pa.array(range(ROWS), pa.int64()),
    "i8": pa.array([None if i % 7 == 0 else (i * 37) % 256 - 128 for i in range(ROWS)], pa.int8()),
    "f32": pa.array([None if i % 5 == 0 else i / 3 for i in range(ROWS)], pa.float32()),
    "f64": pa.array([float("nan") if i % 11 == 0 else i * 1e10 for i in range(ROWS)], pa.float64()),
    "flag": pa.array([None if i % 3 == 0 else i % 2 == 0 for i in range(ROWS)], pa.bool_()),
    "name": pa.array([None if i % 4 == 0 else ["a_b", "x", "", "ü%"][i % 4] for i in range(ROWS)]),
    "meta": pa.array([None if METAS[i % len(METAS)] is None else json.dumps(METAS[i % len(METAS)])
                      for i in range(ROWS)], pa.string()),
    "arr": pa.array([None if i % 6 == 0 else list(range(i % 4)) for i in range(ROWS)], pa.list_(pa.int64())),
    "sarr": pa.array([["a", "b"][: i % 3] for i in range(ROWS)], pa.list_(pa.string())),
    "barr": pa.array([[True, False][: i % 3] for i in range(ROWS)], pa.list_(pa.bool_())),
    "body": pa.array([None if i % 9 == 0 else ["a_b x", "x a x", "", "The a b"][i % 4]
                      for i in range(ROWS)], pa.string()),
    "$meta": pa.array([None if DYNAMICS[i % len(DYNAMICS)] is None else json.dumps(DYNAMICS[i % len(DYNAMICS)])
                       for i in range(ROWS)], pa.string()),
})
SOURCE = TableSource(TABLE)

TOKENS = [
    # names
    "id", "i8", "f32", "f64", "flag", "name", "meta", "arr", "sarr", "barr", "vec", "dyn", "color",
    "$meta", "$x", "unknown",
    # literals
    "0", "1", "-1", "7", "9223372036854775807", "9223372036854775808", "1.5", "1e-3", "1e308", ".5",
    "0x1f", '"a"', "'b'", '"a%"', '"%_"', '""', '"\\u00e9"', '"\\"', "true", "FALSE", "True",
    # keywords and operators
    "and", "AND", "&&", "or", "||", "not", "NOT", "!", "in", "not in", "like", "LIKE", "is", "null",
    "is null", "IS NOT NULL", "exists", "EXISTS", "==", "!=", "<", "<=", ">", ">=", "=", "+", "-",
    "*", "/", "%", "**", "(", ")", "[", "]", ",", "[]", "{p}", "{q}", "{", "}",
    # functions
    "array_contains", "ARRAY_CONTAINS_ALL", "array_contains_any", "array_length", "json_contains",
    "JSON_CONTAINS_ALL", "json_contains_any", "text_match", "PHRASE_MATCH", "body",
    # whole snippets
    'meta["a"]', "meta['b']['c']", "arr[0]", "arr[1]", "meta[0]", "sarr[0]", "[1, 2]", '["a", "b"]',
    "array_contains(arr, 1)", 'json_contains(meta["tags"], 1)', "(flag)", "i8 > 0",
    "text_match(body, 'a x')", "phrase_match(body, 'x a', 1)", "text_match(name, 'a')",
]
PARAMS = st.dictionaries(
    st.sampled_from(["p", "q"]),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                 lambda inner: st.lists(inner, max_size=3), max_leaves=6),
    max_size=2)


def check(text: str, params=None) -> None:
    try:
        compiled = compile_filter(text, FIELDS, "$meta", params)
    except FilterSyntaxError as exc:
        assert "internal error" not in exc.message, exc.message
        assert exc.message.startswith("invalid filter: ") and "^" in exc.message.splitlines()[-1]
        return
    mask = compiled.evaluate(SOURCE)  # any exception here fails the test
    assert mask.dtype == np.bool_ and mask.shape == (ROWS,)


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=60))
def test_arbitrary_text(text):
    check(text)


@FUZZ
@given(st.text(alphabet=st.characters(codec=None, categories=None), max_size=30))
def test_arbitrary_text_with_surrogates(text):
    try:
        compile_filter(text, FIELDS, "$meta")
    except MilvusException:
        pass


@FUZZ
@given(st.text(alphabet=" ()[]{}\"'\\%_!=<>+-*/,.$0123456789eExabcdinotrulkfgsmyjAND", max_size=50))
def test_dense_alphabet(text):
    check(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12),
       st.lists(st.sampled_from([" ", "", "  "]), min_size=12, max_size=12), PARAMS)
def test_token_soup(parts, spaces, params):
    text = "".join(part + space for part, space in zip(parts, spaces))
    check(text, params or None)


@FUZZ
@given(st.sampled_from(["meta[\"a\"] == {p}", "i8 in {p}", "name like {p}", "{p}", "arr[{p}] > 0",
                        "array_contains_any(meta['tags'], {p})", "f32 < {p}", "flag != {p}"]), PARAMS)
def test_template_params(text, params):
    check(text, params)


def test_pathological_inputs():
    for text in ["(" * 100_000, ")" * 1000, "not " * 100_000, "[" * 50_000, "-" * 100_000 + "1",
                 "a" * 100_000 + " > 1", '"' + "x" * 100_000, "1" * 5000 + " < id", "0x" + "f" * 5000,
                 "id in [" + ",".join(["1"] * 100_000) + "]", "\x00", "\ud800", "id == '\\ud800'",
                 "id == 1e-400", "f64 == 1" + "0" * 400]:
        check(text)


# -- structured but type-unaware filters: many compile, and every one that does evaluates

VALUES = ["id", "i8", "f32", "f64", "name", "flag", 'meta["a"]', 'meta["b"]["c"]', "meta['tags'][0]",
          "dyn", "color", "$meta['dyn']", "arr[0]", "arr[2]", "sarr[0]", "barr[1]", "meta[1]", "meta",
          "arr", "0", "-1", "2.5", "9223372036854775807", "-9223372036854775808", "1e300", '"a%"',
          "''", "true", "false", "array_length(arr)", "array_length(meta['tags'])", "array_length(dyn)"]
LISTS = ["[]", "[1, 2]", '["a", "x"]', "[true]", "[1, 'x', 2.5]", "[[1, 2], 3]", "[0.5]"]
PATTERNS = ['"a%"', '"%_"', '"\\\\%"', '"%"', '"x"']


def _value(depth: int):
    leaf = st.sampled_from(VALUES)
    if depth <= 0:
        return leaf
    inner = _value(depth - 1)
    return st.one_of(leaf, st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", "**"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"), inner.map(lambda v: f"-{v}"))


def _condition(depth: int):
    value = _value(1)
    leaf = st.one_of(
        st.tuples(value, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), value).map(" ".join),
        st.tuples(value, st.sampled_from(["<", ">="]), value, st.sampled_from(["<=", ">"]), value).map(" ".join),
        st.tuples(value, st.sampled_from(["in", "not in"]), st.sampled_from(LISTS)).map(" ".join),
        st.tuples(value, st.sampled_from(["like", "not like"]), st.sampled_from(PATTERNS)).map(" ".join),
        st.tuples(value, st.sampled_from(["is null", "is not null"])).map(" ".join),
        st.sampled_from(VALUES).map(lambda v: f"exists {v}"),
        st.tuples(st.sampled_from(["array_contains", "json_contains", "array_contains_all",
                                   "json_contains_any"]), st.sampled_from(VALUES),
                  st.sampled_from(VALUES + LISTS)).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.sampled_from(["flag", "barr[0]", "true", "false"]),
        st.tuples(st.sampled_from(["text_match", "phrase_match"]),
                  st.sampled_from(["body", "name", "meta"]),
                  st.sampled_from(["'a x'", "'x a'", "''", "'The'", "{p}", "1"]),
                  st.sampled_from(["", ", 0", ", 2", ", -1", ", 'x'"])).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]}{t[3]})"),
    )
    if depth <= 0:
        return leaf
    inner = _condition(depth - 1)
    return st.one_of(leaf, st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"), inner.map(lambda c: f"not ({c})"),
        inner.map(lambda c: f"({c}) == true"))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_condition(2))
def test_structured_filters(text):
    check(text)
