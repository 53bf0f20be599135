"""Full-text search (BM25 functions), Lite vs redkite.

milvus-lite 3.2.2 supports BM25 functions with a SPARSE_INVERTED_INDEX. Scenarios run on
both; where Lite follows Milvus the results are compared directly. Where it does not,
Lite's behaviour is recorded and Milvus's asserted on redkite:

* Lite reports BM25 scores as negative distances; Milvus (and redkite) return the
  positive score. With one segment and k1=1.5 the magnitudes agree and the ranking is
  the same; Lite scores with k1=1.5 whatever the index's ``bm25_k1`` says.
* With a filter (scalar or ``text_match``), Lite computes the statistics over the rows
  that pass it; Milvus (and redkite) use the whole collection's.
* Lite returns the function output field for ``output_fields=["*"]``; Milvus leaves it
  out ("not allowed to retrieve raw data").
* Lite's describe_collection numbers functions and their fields 0; Milvus numbers them.
* Lite has no ``run_analyzer``.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import helpers as H
from .helpers import Err, capture, norm_rows, norm_search

TEXTS = [
    "vector search with sparse vectors",
    "full text search ranks documents by relevance",
    "the quick brown fox jumps over the lazy dog",
    "search engines index text and vectors",
    "a short text",
    "relevance ranking with bm25 scores",
    "dense vectors and sparse vectors in hybrid search",
    "nothing relevant here at all",
    "",
    "text text text search",
]


@pytest.fixture(autouse=True)
def _milvus_side(pair):
    """Every check here asserts Milvus's behaviour on the redkite side."""
    if pair.selftest:
        pytest.skip("selftest: the redkite side is Lite")


QUERIES = ["vector search", "text relevance", "fox dog", "hybrid sparse dense vectors",
           "unknownword"]


def make_bm25(client, name, k1=1.5):
    DT = H.datatype_of(client)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DT.INT64, is_primary=True)
    schema.add_field("text", DT.VARCHAR, max_length=500, enable_analyzer=True,
                     enable_match=True)
    schema.add_field("sparse", DT.SPARSE_FLOAT_VECTOR)
    schema.add_field("g", DT.INT64)
    lib = H.library_of(client)
    schema.add_function(lib.Function(name="bm25", function_type=lib.FunctionType.BM25,
                                     input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": k1, "bm25_b": 0.75})
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": i, "text": t, "g": i % 3} for i, t in enumerate(TEXTS)])


def scenario_bm25_search(client, name, k1=1.5):
    make_bm25(client, name, k1)
    search = client.search
    return {
        "plain": norm_search(search(name, data=QUERIES, anns_field="sparse", limit=4,
                                    search_params={"metric_type": "BM25"},
                                    output_fields=["text"])),
        "filtered": norm_search(search(name, data=QUERIES[:2], anns_field="sparse", limit=3,
                                       filter="g != 1", output_fields=["g"])),
        "text_match": norm_search(search(name, data=QUERIES[:1], anns_field="sparse",
                                         limit=5, filter="text_match(text, 'vectors')")),
        "query": norm_rows(client.query(name, filter="id < 3", output_fields=["text", "g"])),
        "insert_output": capture(client.insert, name,
                                 [{"id": 50, "text": "x", "g": 0, "sparse": {1: 0.5}}]),
        "vector_query": capture(search, name, data=[{1: 0.5}], anns_field="sparse", limit=3),
    }


def _ranked(hits: list[dict]) -> list[tuple[float, int]]:
    return sorted((round(abs(h["distance"]), 4), h["id"]) for h in hits)


def reference_scores(k1: float, queries=QUERIES, keep=lambda i: True) -> list[dict]:
    """Per query, {id: BM25 score} with statistics over the rows ``keep`` selects."""
    from redkite.engine.text import get_analyzer
    from redkite.engine.text.bm25 import (
        Bm25Stats, bm25_scores, query_terms, texts_to_term_frequencies,
    )

    analyzer = get_analyzer(None)
    ids = [i for i in range(len(TEXTS)) if keep(i)]
    docs = texts_to_term_frequencies([TEXTS[i] for i in ids], analyzer)
    scores = bm25_scores(docs, None, query_terms(list(queries), analyzer),
                         Bm25Stats.from_csr(docs), k1=k1, b=0.75)
    return [dict(zip(ids, row.tolist())) for row in scores]


def _scores_match(hits: list[list[dict]], expected: list[dict], sign: int) -> bool:
    return all(np.isclose(sign * h["distance"], expected[q][h["id"]], rtol=1e-5)
               for q, query_hits in enumerate(hits) for h in query_hits)


FILTERED = {"filtered": lambda i: i % 3 != 1,
            "text_match": lambda i: "vectors" in TEXTS[i].split()}


def check_bm25_search(lite, rk):
    for key in ("plain", "filtered", "text_match"):
        for q, (lite_hits, rk_hits) in enumerate(zip(lite[key], rk[key])):
            assert all(h["distance"] < 0 for h in lite_hits), (key, q)  # Lite: -score
            assert all(h["distance"] > 0 for h in rk_hits), (key, q)  # Milvus: score
            assert bool(lite_hits) == bool(rk_hits) == (QUERIES[q] != "unknownword")
            ordered = [h["distance"] for h in rk_hits]
            assert ordered == sorted(ordered, reverse=True), (key, q)
    assert [_ranked(h) for h in lite["plain"]] == [_ranked(h) for h in rk["plain"]]
    assert lite["plain"][4] == rk["plain"][4] == []
    # Milvus scores filtered searches with the whole collection's statistics; Lite
    # computes them over the rows that pass the filter
    for key, keep in FILTERED.items():
        queries = QUERIES[:len(rk[key])]
        assert _scores_match(rk[key], reference_scores(1.5, queries), 1), key
        assert _scores_match(lite[key], reference_scores(1.5, queries, keep), -1), key
        assert not _scores_match(lite[key], reference_scores(1.5, queries), -1), key
    assert lite["query"] == rk["query"]
    for key in ("insert_output", "vector_query"):
        assert isinstance(lite[key], Err) and isinstance(rk[key], Err), key
    H.check_same_error(lite["insert_output"], rk["insert_output"], where="insert_output")
    H.check_redkite_error(rk["vector_query"], mentions=["sparse", "text"],
                          where="vector_query")


def test_bm25_search(pair):
    pair.run(scenario_bm25_search, check=check_bm25_search)


def test_scores_equal_lite_up_to_sign(pair):
    """One segment, k1=1.5 (Lite's own): Lite's distances are exactly minus redkite's."""
    lite, rk = pair.run(scenario_bm25_search, check=lambda lite, rk: None)
    for lite_hits, rk_hits in zip(lite["plain"], rk["plain"]):
        assert np.allclose([-h["distance"] for h in lite_hits],
                           [h["distance"] for h in rk_hits], rtol=1e-5)


def test_lite_ignores_bm25_k1(pair):
    """Lite scores with k1=1.5 whatever the index's bm25_k1; redkite uses the index's."""

    def check(lite, rk):
        assert _scores_match(lite["plain"], reference_scores(1.5), -1)
        assert _scores_match(rk["plain"], reference_scores(1.2), 1)
        assert not _scores_match(rk["plain"], reference_scores(1.5), 1)
    pair.run(scenario_bm25_search, 1.2, check=check)


def scenario_describe_and_star(client, name):
    make_bm25(client, name)
    described = client.describe_collection(name)
    functions = [{k: (list(v) if k.endswith(("_names", "_ids")) else v)
                  for k, v in f.items()} for f in described["functions"]]
    fields = {f["name"]: f for f in described["fields"]}
    return {"functions": functions, "output_flag": fields["sparse"].get("is_function_output"),
            "star": norm_rows(client.query(name, filter="id == 4", output_fields=["*"])),
            "index_metric": client.describe_index(name, "sparse")["metric_type"]}


def check_describe_and_star(lite, rk):
    assert lite["output_flag"] is rk["output_flag"] is True
    assert lite["index_metric"] == rk["index_metric"] == "BM25"
    for side in (lite, rk):
        (function,) = side["functions"]
        assert (function["name"], function["input_field_names"],
                function["output_field_names"], function["params"]) == (
            "bm25", ["text"], ["sparse"], {})
    # Lite numbers functions and fields 0; Milvus gives ids (functions from 100)
    assert lite["functions"][0]["id"] == 0 and lite["functions"][0]["input_field_ids"] == []
    assert rk["functions"][0]["id"] == 100 and rk["functions"][0]["input_field_ids"] == [101]
    assert rk["functions"][0]["output_field_ids"] == [102]
    # Lite returns the computed sparse vector for "*"; Milvus never returns it
    assert "sparse" in lite["star"][0]
    assert rk["star"] == [{"id": 4, "text": "a short text", "g": 1}]


def test_describe_and_star_output(pair):
    pair.run(scenario_describe_and_star, check=check_describe_and_star)


def scenario_run_analyzer(client, name):
    return capture(client.run_analyzer, ["Hello World", "foo_bar baz"])


def check_run_analyzer(lite, rk):
    assert isinstance(lite, Err)  # Lite: RunAnalyzer is not implemented
    assert [r.tokens for r in rk] == [["hello", "world"], ["foo", "bar", "baz"]]


def test_run_analyzer(pair):
    pair.run(scenario_run_analyzer, check=check_run_analyzer)
