"""Full-text search end to end: BM25 function schemas, computed sparse vectors, search by
raw text with collection-wide statistics (growing, sealed and indexed segments, deletes,
partitions), filters, range, grouping, hybrid search, iterators, run_analyzer, errors.

Scores are checked against ``redkite.engine.text.bm25.bm25_scores``, the reference
scorer, computed over the live rows of the same corpus.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

from redkite import (
    AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, ParamError, RRFRanker,
    WeightedRanker,
)
from redkite.errors import DataNotMatchException, MilvusException
from redkite.engine.text import get_analyzer
from redkite.engine.text.bm25 import Bm25Stats, bm25_scores, query_terms, texts_to_term_frequencies
from redkite.engine.text.functions import Bm25Function
from redkite.results import AnalyzeResult, AnalyzeToken

WORDS = ("search engine vector database text query index token segment score rank "
         "python milvus document field filter sparse dense hybrid fusion recall memory "
         "disk write read log seal merge compact delete upsert insert schema analyzer "
         "stemmer stop word phrase match range group limit offset").split()
QUERIES = ["vector search", "sparse index score", "python python milvus", "delete upsert",
           "nothing matches zzz", "the"]


def corpus(n: int, seed: int = 5) -> list[str]:
    """Texts with Zipf-like word frequencies (so document frequencies vary)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(WORDS) + 1)
    weights /= weights.sum()
    lengths = rng.integers(2, 25, n)
    return [" ".join(rng.choice(WORDS, size=int(length), p=weights)) for length in lengths]


def make(client, name="docs", *, index_type="SPARSE_INVERTED_INDEX", params=None,
         analyzer=None, nullable=False, dim=None):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    text_kwargs = {"enable_analyzer": True, "enable_match": True, "nullable": nullable}
    if analyzer is not None:
        text_kwargs["analyzer_params"] = analyzer
    schema.add_field("text", DataType.VARCHAR, max_length=2000, **text_kwargs)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("tag", DataType.INT64)
    if dim:
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type=index_type, metric_type="BM25", params=params or {})
    if dim:
        index.add_index("dense", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    return index


def rows(texts, start=0):
    return [{"id": start + i, "text": t, "tag": (start + i) % 4} for i, t in enumerate(texts)]


def reference(texts_by_id: dict, queries, k1=1.2, b=0.75, analyzer=None) -> np.ndarray:
    """BM25 score of every document (columns ordered by id) for every query."""
    analyzer = analyzer or get_analyzer(None)
    ids = sorted(texts_by_id)
    docs = texts_to_term_frequencies([texts_by_id[i] for i in ids], analyzer)
    scores = bm25_scores(docs, None, query_terms(list(queries), analyzer),
                         Bm25Stats.from_csr(docs), k1=k1, b=b)
    return ids, scores


def assert_like_reference(hits, ids, scores, limit, keep=None):
    """Each query's hits are the ``limit`` best positive reference scores (ties in any
    order), with those scores, best first."""
    for q, query_hits in enumerate(hits):
        expected = scores[q].astype(np.float64)
        allowed = np.ones(len(ids), bool) if keep is None else np.array([keep(i) for i in ids])
        candidates = np.sort(expected[(expected > 0) & allowed])[::-1][:limit]
        got = np.array([h["distance"] for h in query_hits])
        assert len(got) == len(candidates), (q, len(got), len(candidates))
        assert np.allclose(got, candidates, rtol=1e-5), q
        assert np.all(got > 0) and np.all(np.diff(got) <= 1e-6)
        by_id = dict(zip(ids, expected))
        for hit in query_hits:
            assert by_id[hit["id"]] == pytest.approx(hit["distance"], rel=1e-5)
            assert allowed[ids.index(hit["id"])]


@pytest.fixture
def client(tmp_path):
    with MilvusClient(str(tmp_path / "ft.db")) as c:
        yield c


# ---- schema, describe, insert ------------------------------------------------------------

def test_describe_shows_the_function_and_a_bm25_index(client):
    make(client, params={"bm25_k1": 1.5})
    described = client.describe_collection("docs")
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["sparse"]["is_function_output"] is True
    assert described["functions"] == [{
        "name": "bm25", "id": 100, "description": "", "type": FunctionType.BM25, "params": {},
        "input_field_names": ["text"], "input_field_ids": [fields["text"]["field_id"]],
        "output_field_names": ["sparse"], "output_field_ids": [fields["sparse"]["field_id"]]}]
    index = client.describe_index("docs", "sparse")
    assert (index["metric_type"], index["bm25_k1"], index["bm25_b"], index["bm25_avgdl"]) == (
        "BM25", 1.5, 0.75, 100.0)


def test_the_metric_of_a_bm25_field_defaults_to_bm25(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=100, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function("f", FunctionType.BM25, ["text"], ["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="AUTOINDEX")
    client.create_collection("auto", schema=schema, index_params=index)
    assert client.describe_index("auto", "sparse")["metric_type"] == "BM25"
    client.insert("auto", [{"id": 1, "text": "hello world"}])
    assert client.search("auto", data=["hello"], limit=3)[0][0]["id"] == 1


def test_users_cannot_write_the_function_output(client):
    make(client)
    client.insert("docs", rows(["alpha beta"]))
    for write in (client.insert, client.upsert):
        with pytest.raises(DataNotMatchException, match="unexpected function output field "
                                                        "`sparse`"):
            write("docs", [{"id": 5, "text": "x", "tag": 0, "sparse": {1: 0.5}}])
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == 1


def test_the_output_field_is_never_returned(client):
    make(client)
    client.insert("docs", rows(["alpha beta"]))
    assert client.query("docs", filter="id >= 0", output_fields=["*"]) == [
        {"id": 0, "text": "alpha beta", "tag": 0}]
    assert client.get("docs", ids=[0])[0] == {"id": 0, "text": "alpha beta", "tag": 0}
    with pytest.raises(ParamError, match="not allowed to retrieve raw data of field sparse"):
        client.query("docs", filter="id >= 0", output_fields=["sparse"])
    with pytest.raises(ParamError, match="sparse"):
        client.search("docs", data=["alpha"], output_fields=["sparse"])
    hit = client.search("docs", data=["alpha"], output_fields=["*"])[0][0]
    assert hit["entity"] == {"id": 0, "text": "alpha beta", "tag": 0}


def test_null_and_empty_texts_are_stored_and_match_nothing(client):
    make(client, nullable=True)
    client.insert("docs", [{"id": 0, "text": None, "tag": 0}, {"id": 1, "text": "", "tag": 0},
                           {"id": 2, "text": "a lone word", "tag": 0},
                           {"id": 3, "text": "!!! ...", "tag": 0}])
    assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == 4
    hits = client.search("docs", data=["word", "", "a lone word"], limit=10)
    assert [[h["id"] for h in q] for q in hits] == [[2], [], [2]]


def test_two_functions_each_fill_and_search_their_own_field(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("title", DataType.VARCHAR, max_length=100, enable_analyzer=True)
    schema.add_field("body", DataType.VARCHAR, max_length=100, enable_analyzer=True,
                     analyzer_params={"type": "english"})
    for name in ("title", "body"):
        schema.add_field(f"{name}_sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(f"{name}_bm25", FunctionType.BM25, [name],
                                     [f"{name}_sparse"]))
    index = client.prepare_index_params()
    for name in ("title", "body"):
        index.add_index(f"{name}_sparse", index_type="SPARSE_WAND", metric_type="BM25")
    client.create_collection("two", schema=schema, index_params=index)
    client.insert("two", [{"id": 1, "title": "running shoes", "body": "for trails"},
                          {"id": 2, "title": "trail maps", "body": "running routes"}])
    by_title = client.search("two", data=["running"], anns_field="title_sparse", limit=5)
    by_body = client.search("two", data=["runs"], anns_field="body_sparse", limit=5)
    assert [h["id"] for h in by_title[0]] == [1] and [h["id"] for h in by_body[0]] == [2]
    with pytest.raises(DataNotMatchException, match="title"):
        client.insert("two", [{"id": 3, "title": 42, "body": "x"}])


# ---- search by text ----------------------------------------------------------------------

def test_scores_and_ranking_match_the_reference(client):
    texts = corpus(300)
    make(client)
    client.insert("docs", rows(texts))
    hits = client.search("docs", data=QUERIES, anns_field="sparse", limit=7,
                         search_params={"metric_type": "BM25"})
    ids, scores = reference(dict(enumerate(texts)), QUERIES)
    assert_like_reference(hits, ids, scores, 7)
    assert hits[4] == [] and hits[5] == []  # no known word; "the" is in no document


def test_statistics_span_sealed_and_growing_segments_and_skip_deleted_rows(client):
    texts = corpus(400, seed=9)
    make(client)
    for start in (0, 100, 200):
        client.insert("docs", rows(texts[start:start + 100], start))
        client.flush("docs")  # each batch becomes its own sealed segment
    client.insert("docs", rows(texts[300:], 300))  # growing
    deleted = list(range(0, 400, 7))
    client.delete("docs", ids=deleted)
    client.upsert("docs", [{"id": 5, "text": "vector vector vector search", "tag": 1}])
    live = {i: t for i, t in enumerate(texts) if i not in deleted}
    live[5] = "vector vector vector search"
    hits = client.search("docs", data=QUERIES[:4], limit=10)
    ids, scores = reference(live, QUERIES[:4])
    assert_like_reference(hits, ids, scores, 10)
    # the same answer once everything is sealed in one compacted segment
    client.flush("docs")
    client.compact("docs")
    again = client.search("docs", data=QUERIES[:4], limit=10)
    assert_like_reference(again, ids, scores, 10)


def test_partitions_scope_the_statistics(client):
    texts = corpus(120, seed=2)
    make(client)
    client.create_partition("docs", "p1")
    client.insert("docs", rows(texts[:60]))
    client.insert("docs", rows(texts[60:], 60), partition_name="p1")
    hits = client.search("docs", data=QUERIES[:3], limit=5, partition_names=["p1"])
    ids, scores = reference({i: texts[i] for i in range(60, 120)}, QUERIES[:3])
    assert_like_reference(hits, ids, scores, 5)


def test_k1_and_b_come_from_the_index(client):
    texts = corpus(150, seed=4)
    make(client, params={"bm25_k1": 2.0, "bm25_b": 0.3})
    client.insert("docs", rows(texts))
    ids, scores = reference(dict(enumerate(texts)), QUERIES[:3], k1=2.0, b=0.3)
    assert_like_reference(client.search("docs", data=QUERIES[:3], limit=6), ids, scores, 6)


def test_the_field_analyzer_analyzes_documents_and_queries(client):
    make(client, analyzer={"type": "english"})
    client.insert("docs", rows(["The runners were running", "a runner", "walking"]))
    hits = client.search("docs", data=["RUNNERS runs"], limit=5)
    assert sorted(h["id"] for h in hits[0]) == [0, 1]
    english = get_analyzer({"type": "english"})
    ids, scores = reference({0: "The runners were running", 1: "a runner", 2: "walking"},
                            ["RUNNERS runs"], analyzer=english)
    assert_like_reference(hits, ids, scores, 5)


def test_filters_offset_output_fields_and_text_match(client):
    texts = corpus(200, seed=11)
    make(client)
    client.insert("docs", rows(texts))
    ids, scores = reference(dict(enumerate(texts)), QUERIES[:3])
    hits = client.search("docs", data=QUERIES[:3], limit=5, filter="tag in [1, 2]",
                         output_fields=["tag", "text"])
    assert_like_reference(hits, ids, scores, 5, keep=lambda i: i % 4 in (1, 2))
    assert all(h["entity"] == {"tag": h["id"] % 4, "text": texts[h["id"]]} for h in hits[0])
    full = client.search("docs", data=QUERIES[:1], limit=8)
    paged = client.search("docs", data=QUERIES[:1], limit=5, offset=3)
    assert [h["distance"] for h in paged[0]] == [h["distance"] for h in full[0][3:8]]
    matched = client.search("docs", data=["vector"], limit=50, filter="text_match(text, 'disk')")
    assert matched[0] and all("disk" in texts[h["id"]].split() for h in matched[0])
    assert_like_reference(matched, ids, reference(dict(enumerate(texts)), ["vector"])[1], 50,
                          keep=lambda i: "disk" in texts[i].split())


def test_range_search_on_bm25_scores(client):
    texts = corpus(200, seed=12)
    make(client)
    client.insert("docs", rows(texts))
    ids, scores = reference(dict(enumerate(texts)), QUERIES[:2])
    low, high = np.quantile(scores[0][scores[0] > 0], [0.3, 0.8])
    hits = client.search("docs", data=QUERIES[:2], limit=100,
                         search_params={"params": {"radius": float(low),
                                                   "range_filter": float(high)}})
    for q, query_hits in enumerate(hits):
        got = np.array([h["distance"] for h in query_hits])
        expected = scores[q][(scores[q] > np.float32(low)) & (scores[q] <= np.float32(high))]
        assert len(got) == min(100, len(expected)) and np.all((got > low) & (got <= high * 1.00001))


def test_grouping_returns_only_matching_rows(client):
    make(client)
    client.insert("docs", rows(["vector one", "vector vector two", "other", "more words"]))
    hits = client.search("docs", data=["vector"], limit=4, group_by_field="tag")
    assert sorted(h["id"] for h in hits[0]) == [0, 1]


def test_drop_ratio_search_drops_the_weakest_weighted_terms(client):
    texts = ["search"] * 50 + ["rare"] + ["search rare"]
    make(client)
    client.insert("docs", rows(texts))
    full = client.search("docs", data=["search rare"], limit=60)
    dropped = client.search("docs", data=["search rare"], limit=60,
                            search_params={"params": {"drop_ratio_search": 0.5}})
    assert len(full[0]) == 52
    assert sorted(h["id"] for h in dropped[0]) == [50, 51]  # "search" has the smaller idf


def test_hybrid_search_fuses_a_text_leg_and_a_dense_leg(client):
    texts = corpus(80, seed=13)
    make(client, dim=4)
    vectors = np.random.default_rng(1).random((80, 4)).astype(np.float32)
    client.insert("docs", [dict(r, dense=vectors[r["id"]]) for r in rows(texts)])
    text_leg = AnnSearchRequest(data=["vector search"], anns_field="sparse",
                                param={"metric_type": "BM25"}, limit=10)
    dense_leg = AnnSearchRequest(data=[vectors[3]], anns_field="dense", param={}, limit=10,
                                 expr="tag != 0")
    fused = client.hybrid_search("docs", [text_leg, dense_leg], RRFRanker(60), limit=8)
    text_hits = client.search("docs", data=["vector search"], anns_field="sparse", limit=10)[0]
    dense_hits = client.search("docs", data=[vectors[3]], anns_field="dense", limit=10,
                               filter="tag != 0")[0]
    expected: dict[int, float] = {}
    for hits in (text_hits, dense_hits):
        for rank, hit in enumerate(hits):
            expected[hit["id"]] = expected.get(hit["id"], 0.0) + 1.0 / (60 + rank + 1)
    best = sorted(expected.items(), key=lambda item: (-item[1], item[0]))[:8]
    assert [(h["id"], round(h["distance"], 6)) for h in fused[0]] == [
        (i, round(s, 6)) for i, s in best]
    # Milvus's weighted normalisation: BM25 2*atan(s)/pi, L2 1 - 2*atan(d)/pi
    weighted = client.hybrid_search("docs", [text_leg, dense_leg], WeightedRanker(0.6, 0.4),
                                    limit=5)
    expected = {}
    for weight, hits, norm in ((0.6, text_hits, lambda s: 2 * np.arctan(s) / np.pi),
                               (0.4, dense_hits, lambda d: 1 - 2 * np.arctan(d) / np.pi)):
        for hit in hits:
            expected[hit["id"]] = expected.get(hit["id"], 0.0) + weight * norm(hit["distance"])
    best = sorted(expected.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [h["id"] for h in weighted[0]] == [i for i, _ in best]
    assert np.allclose([h["distance"] for h in weighted[0]], [s for _, s in best], rtol=1e-5)


def test_search_iterator_walks_every_matching_row_once(client):
    texts = corpus(150, seed=14)
    make(client)
    client.insert("docs", rows(texts))
    iterator = client.search_iterator("docs", data=["vector search"], batch_size=7,
                                      anns_field="sparse")
    seen = []
    while page := iterator.next():
        seen.extend(page)
    ids, scores = reference(dict(enumerate(texts)), ["vector search"])
    assert sorted(h["id"] for h in seen) == [i for i, s in zip(ids, scores[0]) if s > 0]
    assert np.all(np.diff([h["distance"] for h in seen]) <= 1e-6)


# ---- indexed sealed segments -------------------------------------------------------------

def test_an_indexed_segment_answers_as_the_exact_scan(tmp_path):
    texts = corpus(4500, seed=21)
    path = str(tmp_path / "big.db")
    with MilvusClient(path) as client:
        index = make(client, params={"bm25_k1": 1.4, "bm25_b": 0.6})
        client.insert("docs", rows(texts))
        exact = client.search("docs", data=QUERIES, limit=10, filter="tag != 3")
        client.delete("docs", ids=list(range(0, 4500, 10)))  # too few to compact
        exact_deleted = client.search("docs", data=QUERIES[:3], limit=10)
        client.flush("docs")
        client.create_index("docs", index)  # waits for the background build
        described = client.describe_index("docs", "sparse")
        assert described["indexed_rows"] == described["total_rows"] == 4050
        indexed_deleted = client.search("docs", data=QUERIES[:3], limit=10)
        for got, want in zip(indexed_deleted, exact_deleted):  # equal up to float rounding
            assert {h["id"] for h in got} == {h["id"] for h in want}
            assert np.allclose([h["distance"] for h in got], [h["distance"] for h in want],
                               rtol=1e-6)
        live = {i: t for i, t in enumerate(texts) if i % 10}
        ids, scores = reference(live, QUERIES[:3], k1=1.4, b=0.6)
        assert_like_reference(indexed_deleted, ids, scores, 10)
        assert_like_reference(exact_deleted, ids, scores, 10)
        client.insert("docs", rows(["vector search vector", "zebra search"], 9000))  # growing
        mixed = client.search("docs", data=QUERIES[:3] + ["zebra"], limit=10)
        assert [h["id"] for h in mixed[3]] == [9001]
        assert_like_reference(mixed, *reference(
            {**live, 9000: "vector search vector", 9001: "zebra search"},
            QUERIES[:3] + ["zebra"], k1=1.4, b=0.6), 10)
    all_ids, all_scores = reference(dict(enumerate(texts)), QUERIES, k1=1.4, b=0.6)
    assert_like_reference(exact, all_ids, all_scores, 10, keep=lambda i: i % 4 != 3)


def test_replay_reads_stored_vectors_without_analyzing(tmp_path, monkeypatch):
    """A process dies with rows only in the WAL; the next open replays their stored
    sparse vectors (the analyzer is not called) and search sees them."""
    texts = corpus(60, seed=22)
    path = str(tmp_path / "r.db")
    pid = os.fork()
    if pid == 0:  # child: write, then die without closing (no checkpoint)
        code = 1
        try:
            client = MilvusClient(path)
            make(client)
            client.insert("docs", rows(texts[:30]))
            client.flush("docs")
            client.insert("docs", rows(texts[30:], 30))
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0

    def refuse(self, texts):
        raise AssertionError("replay analyzed texts again")
    monkeypatch.setattr(Bm25Function, "output_column", refuse)
    with MilvusClient(path) as client:
        assert client.query("docs", filter="", output_fields=["count(*)"])[0]["count(*)"] == 60
        hits = client.search("docs", data=QUERIES[:3], limit=5)
    assert_like_reference(hits, *reference(dict(enumerate(texts)), QUERIES[:3]), 5)


# ---- errors ------------------------------------------------------------------------------

def test_text_and_vectors_go_to_the_right_fields(client):
    make(client, dim=4)
    client.insert("docs", [dict(r, dense=[0.0, 0.0, 0.0, 1.0]) for r in rows(["alpha"])])
    cases = [
        (dict(data=[{1: 0.5}], anns_field="sparse"), "query texts"),
        (dict(data=[[0.1, 0.2, 0.3, 0.4]], anns_field="sparse"), "query texts"),
        (dict(data=["alpha"], anns_field="dense"), "raw text"),
        (dict(data=["alpha", {1: 0.5}], anns_field="sparse"), "query texts"),
        (dict(data=["alpha"], anns_field="sparse", search_params={"metric_type": "IP"}),
         "metric type not match"),
        (dict(data="alpha", anns_field="sparse"), "illegal"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ParamError, match=message):
            client.search("docs", limit=3, **kwargs)


def test_index_metrics_are_checked(client):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=100, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("plain", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function("f", FunctionType.BM25, ["text"], ["sparse"]))
    for field, metric, message in [("sparse", "IP", "must be BM25"),
                                   ("plain", "BM25", "only BM25 Function output field")]:
        index = client.prepare_index_params()
        index.add_index(field, index_type="SPARSE_INVERTED_INDEX", metric_type=metric)
        with pytest.raises(ParamError, match=message):
            client.create_collection("bad", schema=schema, index_params=index)
    bad = client.create_schema()
    bad.add_field("id", DataType.INT64, is_primary=True)
    bad.add_field("text", DataType.VARCHAR, max_length=100, enable_analyzer=True,
                  analyzer_params={"tokenizer": "jieba"})
    bad.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    bad.add_function(Function("f", FunctionType.BM25, ["text"], ["sparse"]))
    with pytest.raises(ParamError, match="field 'text'.*jieba"):
        client.create_collection("bad", schema=bad)
    assert not client.has_collection("bad")


# ---- run_analyzer ------------------------------------------------------------------------

def test_run_analyzer_has_pymilvus_signature_and_shapes(client):
    from pymilvus import MilvusClient as PyMilvusClient

    ours = inspect.signature(MilvusClient.run_analyzer).parameters
    theirs = inspect.signature(PyMilvusClient.run_analyzer).parameters
    assert [(p.name, p.default) for p in ours.values()] == [
        (p.name, p.default) for p in theirs.values()]
    one = client.run_analyzer("Hello, World")
    assert isinstance(one, AnalyzeResult) and one.tokens == ["hello", "world"]
    assert str(one) == "['hello', 'world']"
    many = client.run_analyzer(["a b", "c"], analyzer_params={"tokenizer": "whitespace"})
    assert [r.tokens for r in many] == [["a", "b"], ["c"]]
    detailed = client.run_analyzer("Héllo wörld", with_detail=True, with_hash=True)
    token = detailed.tokens[1]
    assert isinstance(token, AnalyzeToken)
    assert token.dict == {"token": "wörld", "start_offset": 7, "end_offset": 13,
                          "position": 1, "position_length": 1, "hash": token.hash}
    assert token["token"] == token.token == "wörld"
    hashed = client.run_analyzer(["x"], with_hash=True)[0].tokens[0]
    assert set(hashed.dict) == {"token", "hash"}


def test_run_analyzer_with_a_collection_field(client):
    make(client, analyzer={"type": "english"})
    assert client.run_analyzer("The Runners", collection_name="docs",
                               field_name="text").tokens == ["runner"]
    for kwargs, message in [(dict(collection_name="docs"), "both"),
                            (dict(field_name="text"), "both"),
                            (dict(collection_name="docs", field_name="tag"), "no analyzer"),
                            (dict(collection_name="docs", field_name="text",
                                  analyzer_params={}), "not both"),
                            (dict(analyzer_names="en"), "multi_analyzer_params"),
                            (dict(with_hash="yes"), "with_hash")]:
        with pytest.raises(ParamError, match=message):
            client.run_analyzer("x", **kwargs)
    with pytest.raises(MilvusException, match="collection not found"):
        client.run_analyzer("x", collection_name="nope", field_name="text")
