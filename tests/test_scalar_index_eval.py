"""Scalar-index acceleration equals the scan: the same filters evaluated on one table with
and without ``scalar_indexes``, over many seeded random predicates, with nulls, NaN,
duplicates, int64 extremes and unicode strings."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest

from redkite.engine.expr import FieldInfo, TableSource, compile_filter
from redkite.engine.expr import scalar_index
from redkite.engine.expr.binder import format_literal
from redkite.engine.expr.scalar_index import like_prefix
from redkite.types import DataType as D

ROWS = 3000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
WORDS = ["", "a", "ab", "abc", "abd", "b", "b%", "b_c", "a\\b", "z", "ü", "üx", "日本",
         "\U0010ffff", "\U0010ffffa", "ab\U0010ffff", "a b", "A", "0"]
FIELDS = {f.name: f for f in [
    FieldInfo("id", D.INT64, is_primary=True),
    FieldInfo("i8", D.INT8, nullable=True),
    FieldInfo("i64", D.INT64, nullable=True),
    FieldInfo("f32", D.FLOAT, nullable=True),
    FieldInfo("f64", D.DOUBLE),
    FieldInfo("s", D.VARCHAR, nullable=True),
    FieldInfo("flag", D.BOOL, nullable=True),
    FieldInfo("j", D.JSON, nullable=True),
]}
INDEXED = {"id": "STL_SORT", "i8": "BITMAP", "i64": "INVERTED", "f32": "STL_SORT",
           "f64": "INVERTED", "s": "TRIE", "flag": "BITMAP",
           ("j", ("a",)): "DOUBLE", ("j", ("s",)): "VARCHAR", ("j", ("n", 0)): "DOUBLE"}
JSON_PATHS = {'j["a"]': "number", 'j["s"]': "string", 'j["n"][0]': "number"}


class IndexedSource(TableSource):
    """A table that offers scalar indexes, as a sealed segment view does."""

    def __init__(self, table: pa.Table, indexes: dict[str, str]) -> None:
        super().__init__(table)
        self.scalar_indexes = indexes


def _table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    i64 = rng.integers(-50, 50, ROWS).astype(object)
    i64[rng.random(ROWS) < 0.02] = INT64_MAX
    i64[rng.random(ROWS) < 0.02] = INT64_MIN
    i64[rng.random(ROWS) < 0.1] = None
    f64 = rng.normal(0, 10, ROWS).round(1)
    f64[rng.random(ROWS) < 0.05] = np.nan
    f64[rng.random(ROWS) < 0.05] = -0.0
    f64[rng.random(ROWS) < 0.02] = 2.0**53 + 2
    f64[rng.random(ROWS) < 0.02] = 2.0**53  # the float64 nearest to the literal 2**53 + 1
    f32 = [None if rng.random() < 0.1 else float(np.float32(v)) for v in rng.normal(0, 3, ROWS)]
    words = [None if rng.random() < 0.1 else (random.Random(i).choice(WORDS)
             + ("" if rng.random() < 0.5 else str(rng.integers(0, 30)))) for i in range(ROWS)]
    return pa.table({
        "id": pa.array(np.arange(ROWS), pa.int64()),
        "i8": pa.array([None if v % 9 == 0 else int(v) for v in rng.integers(-128, 128, ROWS)],
                       pa.int8()),
        "i64": pa.array(list(i64), pa.int64()),
        "f32": pa.array(f32, pa.float32()),
        "f64": pa.array(f64, pa.float64()),
        "s": pa.array(words, pa.string()),
        "flag": pa.array([None if v == 2 else bool(v) for v in rng.integers(0, 3, ROWS)]),
        "j": pa.array([_json_value(random.Random(seed * ROWS + i)) for i in range(ROWS)],
                      pa.string()),
    })


def _json_value(rng: random.Random) -> str | None:
    """JSON text whose keys hold values of every JSON type, or are missing / null."""
    if rng.random() < 0.05:
        return None
    scalars = [rng.randint(-30, 30), rng.randint(-30, 30) + 0.5, 2**53 + 1, -(2**63), 2**70,
               rng.choice(WORDS) + str(rng.randint(0, 9)), "7", True, False, None, [1, 2],
               {"x": 1}, -0.0, 1e300]
    value = {key: rng.choice(scalars) for key in ("a", "s") if rng.random() < 0.9}
    if rng.random() < 0.8:
        value["n"] = [rng.choice(scalars) for _ in range(rng.randint(0, 2))]
    return json.dumps(value, ensure_ascii=False)


def _number_literal(rng: random.Random, field: str) -> object:
    choices = [rng.randint(-60, 60), rng.randint(-60, 60) + 0.5, 0.0, -0.0, 2.5, 1e19, -1e19,
               INT64_MAX, INT64_MIN, INT64_MAX - 1, 2**53 + 1, 2**53 + 2, float(2**53 + 2),
               float("inf"), float("-inf"), float("nan"), rng.uniform(-20, 20)]
    if field == "i8":
        choices += [127, -128, 127.5, -128.5]
    return rng.choice(choices)


def _literal(rng: random.Random, field: str) -> object:
    if field == "s":
        word = rng.choice(WORDS)
        return word + (str(rng.randint(0, 30)) if rng.random() < 0.5 else "")
    return _number_literal(rng, field)


class Predicates:
    """Random filters over FIELDS; non-finite float literals go in as template params."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.params: dict[str, object] = {}

    def text(self, value: object) -> str:
        if isinstance(value, float) and not np.isfinite(value):
            name = f"p{len(self.params)}"
            self.params[name] = value
            return "{" + name + "}"
        return format_literal(value)

    def literal(self, field: str) -> str:
        return self.text(_literal(self.rng, field))

    def next(self) -> str:
        self.params = {}
        rng = self.rng
        field = rng.choice(["id", "i8", "i64", "f32", "f64", "s", *JSON_PATHS])
        if field in JSON_PATHS:
            return self.json_predicate(field)
        shape = rng.random()
        if shape < 0.45:
            op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
            left, right = field, self.literal(field)
            return f"{left} {op} {right}" if rng.random() < 0.7 else f"{right} {op} {left}"
        if shape < 0.6:
            values = ", ".join(self.literal(field) for _ in range(rng.randint(0, 5)))
            return f"{field} {'not in' if rng.random() < 0.3 else 'in'} [{values}]"
        if shape < 0.8:
            low, high = self.literal(field), self.literal(field)
            first, second = rng.choice(["<", "<="]), rng.choice(["<", "<="])
            if rng.random() < 0.5:
                return f"{low} {first} {field} {second} {high}"
            return f"{field} >= {low} and {field} < {high} and id >= 0"
        if field == "s":
            prefix = rng.choice(WORDS)
            tail = rng.choice(["%", "", "%%", "_", "%1", "_%", "\\%%", "%\\_"])
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            negated = "not like" if rng.random() < 0.2 else "like"
            return f"s {negated} {format_literal(escaped + tail)}"
        return f"not ({field} > {self.literal(field)}) or {field} is null"

    def json_literal(self, path: str) -> str:
        """Mostly of the indexed kind; sometimes another (a scan, same answer)."""
        kind = JSON_PATHS[path] if self.rng.random() < 0.8 else self.rng.choice(
            ["number", "string", "bool"])
        if kind == "bool":
            return self.rng.choice(["true", "false"])
        return self.literal("s" if kind == "string" else "i64")

    def json_predicate(self, path: str) -> str:
        rng = self.rng
        shape = rng.random()
        if shape < 0.5:
            op, literal = rng.choice(["==", "!=", "<", "<=", ">", ">="]), self.json_literal(path)
            if literal in ("true", "false") and op not in ("==", "!="):
                op = "=="
            return f"{path} {op} {literal}" if rng.random() < 0.7 else f"{literal} {op} {path}"
        if shape < 0.7:
            values = ", ".join(self.json_literal(path) for _ in range(rng.randint(0, 4)))
            return f"{path} {'not in' if rng.random() < 0.3 else 'in'} [{values}]"
        if shape < 0.85:
            prefix = rng.choice(WORDS).replace("\\", "\\\\").replace("%", "\\%")
            tail = rng.choice(["%", "", "_%", "%1"])
            return f"{path} like {format_literal(prefix.replace('_', '') + tail)}"
        low, high = self.json_literal(path), self.json_literal(path)
        if "true" in (low, high) or "false" in (low, high):
            return f"not ({path} == {low}) and {path} is not null"
        if rng.random() < 0.3:  # == decides rows of other types too: not one interval
            return f"not ({path} == {low} and {path} >= {high})"
        return f"not ({low} < {path} and {path} <= {high})"


@pytest.mark.parametrize("mark_ratio", [1, scalar_index.NUMERIC_MARK_RATIO])
@pytest.mark.parametrize("seed", [0, 1])
def test_indexed_evaluation_equals_scan(monkeypatch, seed, mark_ratio):
    """mark_ratio=1 forces the index path for every numeric predicate."""
    monkeypatch.setattr(scalar_index, "NUMERIC_MARK_RATIO", mark_ratio)
    table = _table(seed)
    plain, indexed = TableSource(table), IndexedSource(table, INDEXED)
    predicates = Predicates(seed)
    for _ in range(600):
        text = predicates.next()
        compiled = compile_filter(text, FIELDS, params=predicates.params)
        expected = compiled.evaluate(plain)
        got = compiled.evaluate(indexed)
        assert np.array_equal(expected, got), (text, predicates.params)


def test_index_structures_are_built_once_and_used():
    table = _table(3)
    source = IndexedSource(table, INDEXED)
    compile_filter('s like "ab%" and i64 == 7 and f64 in [1.5, 2.0]', FIELDS).evaluate(source)
    keys = {key[1] for key in source.cache if key[0] == scalar_index.CACHE_KEY}
    assert keys == {"s", "i64", "f64"}
    built = {key: value for key, value in source.cache.items() if key[0] == scalar_index.CACHE_KEY}
    compile_filter('s like "b%" or i64 < -10', FIELDS).evaluate(source)
    assert all(source.cache[key] is value for key, value in built.items())


def test_indexed_predicates_return_none_when_a_scan_is_cheaper():
    source = IndexedSource(_table(4), INDEXED)
    predicates = scalar_index.IndexedPredicates(source, INDEXED)
    selective = compile_filter("i64 == 7", FIELDS).plan
    broad = compile_filter("i64 > 0", FIELDS).plan
    assert predicates.compare(selective) is not None
    assert predicates.compare(broad) is None  # about half the rows: a scan is cheaper
    assert predicates.like(compile_filter('s like "%b"', FIELDS).plan) is None  # no prefix
    # BOOL and non-literal comparisons are never served by the index
    assert predicates.compare(compile_filter("i64 == i8", FIELDS).plan) is None
    assert predicates.in_list(compile_filter("flag in [true]", FIELDS).plan) is None


def test_sources_without_indexes_build_nothing():
    source = TableSource(_table(5))
    compile_filter("i64 == 7 and s like 'a%'", FIELDS).evaluate(source)
    assert not [key for key in source.cache if key[0] == scalar_index.CACHE_KEY]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("abc%", ("abc", "%")), ("abc", ("abc", "")), ("a\\%b%", ("a%b", "%")),
    ("a\\\\%", ("a\\", "%")), ("%x", ("", "%x")), ("ab_c", ("ab", "_c")), ("\\_", ("_", "")),
])
def test_like_prefix(pattern, expected):
    assert like_prefix(pattern) == expected


def test_empty_and_all_null_columns():
    table = pa.table({"id": pa.array([], pa.int64()), "i8": pa.array([], pa.int8()),
                      "i64": pa.array([], pa.int64()), "f32": pa.array([], pa.float32()),
                      "f64": pa.array([], pa.float64()), "s": pa.array([], pa.string()),
                      "flag": pa.array([], pa.bool_())})
    nulls = pa.table({name: pa.nulls(4, column.type) for name, column in
                      zip(table.column_names, table.columns)})
    for data in (table, nulls):
        for text in ("i64 == 1", "s like 'a%'", "f64 != 2.0", "1 < i8 < 9", "s in ['a']"):
            compiled = compile_filter(text, FIELDS)
            expected = compiled.evaluate(TableSource(data))
            assert np.array_equal(expected, compiled.evaluate(IndexedSource(data, INDEXED)))
