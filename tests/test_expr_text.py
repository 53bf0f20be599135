"""text_match / phrase_match in filters, against a row-at-a-time reference."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pyarrow as pa
import pytest

from redkite.engine.expr import FieldInfo, TableSource, compile_filter
from redkite.engine.text import get_analyzer, params_key
from redkite.errors import FilterSyntaxError
from redkite.schema import FieldSchema
from redkite.types import DataType as D

ENGLISH = params_key({"type": "english"})
FIELDS = {f.name: f for f in [
    FieldInfo("id", D.INT64, is_primary=True),
    FieldInfo("text", D.VARCHAR, nullable=True, enable_match=True),
    FieldInfo("en", D.VARCHAR, enable_match=True, analyzer_params=ENGLISH),
    FieldInfo("plain", D.VARCHAR),
    FieldInfo("meta", D.JSON),
]}
VOCAB = ["machine", "learning", "deep", "the", "model", "Data", "search", "a"]


def random_texts(seed: int, rows: int) -> list[str | None]:
    rng = random.Random(seed)
    texts = []
    for _ in range(rows):
        if rng.random() < 0.1:
            texts.append(None)
        else:
            texts.append(" ".join(rng.choice(VOCAB) for _ in range(rng.randint(0, 9))))
    return texts


def source(texts, english=None) -> TableSource:
    english = english if english is not None else ["" if t is None else t for t in texts]
    return TableSource(pa.table({
        "id": pa.array(range(len(texts)), pa.int64()),
        "text": pa.array(texts, pa.string()),
        "en": pa.array(english, pa.string()),
        "plain": pa.array(["x"] * len(texts), pa.string()),
        "meta": pa.array(["{}"] * len(texts), pa.string()),
    }))


def selected(expr: str, src: TableSource) -> list[int]:
    return np.flatnonzero(compile_filter(expr, FIELDS).evaluate(src)).tolist()


def analyzed(text: str, params=None) -> list[tuple[str, int]]:
    batch = get_analyzer(params).analyze([text])
    return list(zip(batch.tokens, batch.positions.tolist()))


def reference_text_match(text, query, params=None) -> bool:
    if text is None:
        return False
    wanted = {t for t, _ in analyzed(query, params)}
    return any(t in wanted for t, _ in analyzed(text, params))


def reference_phrase_match(text, query, slop, params=None) -> bool:
    """Try every choice of one document position per query token."""
    if text is None:
        return False
    doc = analyzed(text, params)
    query_tokens = analyzed(query, params)
    if not query_tokens:
        return False
    choices = [[p for t, p in doc if t == token] for token, _ in query_tokens]
    for chain in itertools.product(*choices):
        steps = zip(zip(chain, query_tokens), zip(chain[1:], query_tokens[1:]))
        if all(0 <= (p2 - q2[1]) - (p1 - q1[1]) <= slop for (p1, q1), (p2, q2) in steps):
            return True
    return False


QUERIES = ["machine learning", "learning machine", "the model", "deep", "DATA search",
           "machine machine", "a learning a", "zebra", "", "machine zebra learning"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_text_match_agrees_with_the_reference(seed):
    texts = random_texts(seed, 120)
    src = source(texts)
    for query in QUERIES:
        expected = [i for i, t in enumerate(texts) if reference_text_match(t, query)]
        assert selected(f"text_match(text, {query!r})", src) == expected, query


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_phrase_match_agrees_with_the_reference(seed):
    texts = random_texts(seed, 120)
    src = source(texts)
    for query, slop in itertools.product(QUERIES, [0, 1, 2, 5]):
        expected = [i for i, t in enumerate(texts) if reference_phrase_match(t, query, slop)]
        assert selected(f"phrase_match(text, {query!r}, {slop})", src) == expected, (query, slop)


def test_phrase_match_examples():
    texts = ["machine learning boosts efficiency", "learning machine", "machine deep learning",
             "machine deep big learning", "machine the learning"]
    src = source(texts)
    assert selected("phrase_match(text, 'machine learning')", src) == [0]
    assert selected("phrase_match(text, 'machine learning', 0)", src) == [0]
    assert selected("phrase_match(text, 'machine learning', 1)", src) == [0, 2, 4]
    assert selected("phrase_match(text, 'machine learning', 2)", src) == [0, 2, 3, 4]
    # order is never swapped, whatever the slop
    assert 1 not in selected("phrase_match(text, 'machine learning', 100)", src)
    assert selected("phrase_match(text, 'machine learning', 4294967295)", src) == [0, 2, 3, 4]
    # stop words removed by the english analyzer still count as distance ...
    assert selected("phrase_match(en, 'machine learning')", src) == [0]
    # ... on both sides: the query 'machine the learning' expects one word between
    assert selected("phrase_match(en, 'machine the learning')", src) == [2, 4]


def test_text_match_uses_the_field_analyzer():
    src = source(["He runs daily", "the runner", "RUNNING", "nothing here"])
    assert selected("text_match(en, 'running')", src) == [0, 2]
    assert selected("text_match(text, 'running')", src) == [2]
    assert selected("text_match(en, 'the')", src) == []   # a stop word: no query token
    assert selected("text_match(text, '')", src) == []


def test_null_rows_are_unknown_so_not_excludes_them():
    src = source(["fox", None, "dog"])
    assert selected("text_match(text, 'fox')", src) == [0]
    assert selected("not text_match(text, 'fox')", src) == [2]
    assert selected("not phrase_match(text, 'fox')", src) == [2]
    assert selected("text_match(text, 'fox') or id == 1", src) == [0, 1]
    assert selected("text_match(text, 'fox') and id >= 0", src) == [0]


def test_template_parameters_and_case_insensitive_names():
    src = source(["machine learning", "deep learning"])
    params = {"q": "deep", "s": 1}
    assert np.flatnonzero(compile_filter("TEXT_MATCH(text, {q})", FIELDS, params=params)
                          .evaluate(src)).tolist() == [1]
    assert np.flatnonzero(compile_filter("Phrase_Match(text, 'machine learning', {s})", FIELDS,
                                         params=params).evaluate(src)).tolist() == [0]


def test_tokenized_column_is_cached_per_source():
    src = source(["machine learning", "deep"])
    selected("text_match(text, 'deep')", src)
    cached = [key for key in src.cache if "text-tokens" in key]
    assert len(cached) == 1
    column = src.cache[cached[0]]
    selected("phrase_match(text, 'machine learning')", src)
    assert src.cache[cached[0]] is column


def test_schema_fields_with_params_dicts():
    fields = {
        "id": FieldSchema("id", D.INT64, is_primary=True),
        "body": FieldSchema("body", D.VARCHAR, max_length=100, enable_analyzer=True,
                            enable_match="true",
                            analyzer_params='{"tokenizer": "whitespace"}'),
    }
    src = TableSource(pa.table({"id": pa.array([0, 1]), "body": pa.array(["foo_bar x", "foo y"])}))
    mask = compile_filter("text_match(body, 'foo_bar')", fields).evaluate(src)
    assert mask.tolist() == [True, False]


@pytest.mark.parametrize("expr, column, message", [
    ("text_match(plain, 'x')", 12, "does not enable match"),
    ("text_match(id, 'x')", 12, "needs a VARCHAR field"),
    ("text_match(meta['a'], 'x')", 12, "must be the name of a VARCHAR field"),
    ("text_match(nope, 'x')", 12, "must be the name of a VARCHAR field"),
    ("text_match(text)", 1, "takes 2 arguments"),
    ("text_match(text, 'a', 1)", 1, "takes 2 arguments"),
    ("phrase_match(text, 'a', 1, 2)", 1, "takes 2 or 3 arguments"),
    ("text_match(text, 5)", 18, "must be a string literal"),
    ("text_match(text, ['a'])", 18, "a list is not allowed"),
    ("phrase_match(text, 'a', -1)", 25, "slop of phrase_match() must be an integer"),
    ("phrase_match(text, 'a', 1.5)", 25, "slop of phrase_match() must be an integer"),
    ("phrase_match(text, 'a', true)", 25, "slop of phrase_match() must be an integer"),
    ("phrase_match(text, 'a', 4294967296)", 25, "slop of phrase_match() must be an integer"),
    ("text_match(text, 'a') + 1", 1, "must be numeric"),
])
def test_errors_point_at_the_culprit(expr, column, message):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr, FIELDS)
    text = info.value.message
    assert message in text, text
    assert f"column {column}" in text, text
    assert text.splitlines()[-1].index("^") == column + 1  # caret line is indented by 2


def test_agrees_with_milvus_lite_text_match(tmp_path):
    """Lite analyzes with \\w+ (so no '_' in these texts) and matches ANY query token."""
    from pymilvus import DataType, MilvusClient

    texts = [t or "" for t in random_texts(7, 40)] + ["Naïve Café", "e-mail 3.14"]
    client = MilvusClient(str(tmp_path / "lite.db"))
    try:
        schema = client.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=200, enable_analyzer=True,
                         enable_match=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
        client.create_collection("t", schema=schema)
        client.insert("t", [{"id": i, "text": t, "vec": [0.0, 1.0]} for i, t in enumerate(texts)])
        src = source(texts)
        for query in ["machine learning", "DATA", "café naive", "mail", "zebra"]:
            expr = f"text_match(text, {query!r})"
            lite = sorted(r["id"] for r in client.query("t", filter=expr, output_fields=["id"]))
            assert selected(expr, src) == lite, query
    finally:
        client.close()
