"""BM25 documents, statistics merged across segments, and the exact scorer, checked
against a per-document Python reference and against milvus-lite's BM25 index."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from redkite.engine.text import get_analyzer, term_id
from redkite.engine.text.bm25 import (Bm25Stats, bm25_scores, query_terms, row_lengths,
                                      texts_to_term_frequencies)
from redkite.errors import ParamError

ANALYZER = get_analyzer({"type": "english"})
DOCS = [
    "The quick brown fox jumps over the lazy dog",
    "Machine learning boosts efficiency of search engines",
    "Deep learning and machine learning models",
    "",
    None,
    "fox fox fox hunting in the forest",
    "Search engines rank documents with BM25 and learning to rank",
    "the the the",
]
QUERIES = ["machine learning", "fox", "search ranking engines", "unknown words", "the", ""]


def reference_scores(docs, queries, k1=1.2, b=0.75, stats_docs=None):
    """Direct transcription of the BM25 formula, one document at a time."""
    analyze = ANALYZER.tokens
    doc_tokens = [analyze(d or "") for d in docs]
    stats_tokens = doc_tokens if stats_docs is None else [analyze(d or "") for d in stats_docs]
    n = len(stats_tokens)
    total = sum(len(t) for t in stats_tokens)
    avgdl = total / n if total else 1.0
    df = Counter(term for tokens in stats_tokens for term in set(tokens))
    out = np.zeros((len(queries), len(docs)))
    for qi, query in enumerate(queries):
        for term, qtf in Counter(analyze(query)).items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            for di, tokens in enumerate(doc_tokens):
                tf = tokens.count(term)
                if tf:
                    norm = tf + k1 * (1 - b + b * len(tokens) / avgdl)
                    out[qi, di] += qtf * idf * tf * (k1 + 1) / norm
    return out


def test_term_frequencies_are_sorted_csr_rows_of_counts():
    indptr, indices, values = texts_to_term_frequencies(["b a b", None, "", "c"],
                                                        get_analyzer(None))
    assert indptr.tolist() == [0, 2, 2, 2, 3]
    assert indptr.dtype == np.int64 and indices.dtype == np.uint32 and values.dtype == np.float32
    row0 = dict(zip(indices[:2].tolist(), values[:2].tolist()))
    assert row0 == {term_id("a"): 1.0, term_id("b"): 2.0}
    assert indices[:2].tolist() == sorted(indices[:2].tolist())
    assert indices[2:].tolist() == [term_id("c")]
    assert row_lengths(indptr, values).tolist() == [3.0, 0.0, 0.0, 1.0]


def test_stats_merge_across_segments_equals_stats_of_the_whole():
    whole = Bm25Stats.from_csr(texts_to_term_frequencies(DOCS, ANALYZER))
    parts = [Bm25Stats.from_csr(texts_to_term_frequencies(DOCS[a:b], ANALYZER))
             for a, b in [(0, 3), (3, 5), (5, 8)]]
    merged = parts[0].merge(*parts[1:])
    assert merged.num_docs == whole.num_docs == len(DOCS)
    assert merged.total_length == whole.total_length
    assert merged.terms.tolist() == whole.terms.tolist()
    assert merged.doc_freq.tolist() == whole.doc_freq.tolist()
    assert Bm25Stats.empty().merge(whole).doc_freq.tolist() == whole.doc_freq.tolist()
    fox = np.array([term_id("fox"), term_id("absent")], dtype=np.uint32)
    assert whole.document_frequency(fox).tolist() == [2, 0]


def test_stats_skip_deleted_rows():
    csr = texts_to_term_frequencies(["a b", "a", "c c c"], get_analyzer(None))
    stats = Bm25Stats.from_csr(csr, alive=np.array([True, False, True]))
    assert stats.num_docs == 2 and stats.total_length == 5.0
    assert stats.document_frequency(np.array([term_id("a"), term_id("c")])).tolist() == [1, 1]


def test_stats_without_a_subset_equal_the_stats_of_the_rest():
    csr = texts_to_term_frequencies(DOCS, ANALYZER)
    gone = np.zeros(len(DOCS), bool)
    gone[[1, 5, 7]] = True
    rest = Bm25Stats.from_csr(csr).without(Bm25Stats.from_csr(csr, alive=gone))
    expected = Bm25Stats.from_csr(csr, alive=~gone)
    assert (rest.num_docs, rest.total_length) == (expected.num_docs, expected.total_length)
    assert rest.terms.tolist() == expected.terms.tolist()  # terms left in no row are gone
    assert rest.doc_freq.tolist() == expected.doc_freq.tolist()


def test_idf_is_positive_and_matches_the_formula():
    stats = Bm25Stats(10, 40.0, np.array([1, 2], np.uint32), np.array([10, 1], np.int64))
    idf = stats.idf(np.array([1, 2, 3], np.uint32))
    expected = [math.log(1 + (10 - df + 0.5) / (df + 0.5)) for df in (10, 1, 0)]
    assert np.allclose(idf, expected) and (idf > 0).all()
    assert stats.avgdl == 4.0
    assert Bm25Stats.empty().avgdl == 1.0


@pytest.mark.parametrize("k1, b", [(1.2, 0.75), (2.0, 0.0), (0.5, 1.0)])
def test_scores_match_the_reference(k1, b):
    docs = texts_to_term_frequencies(DOCS, ANALYZER)
    stats = Bm25Stats.from_csr(docs)
    scores = bm25_scores(docs, None, query_terms(QUERIES, ANALYZER), stats, k1=k1, b=b)
    assert scores.shape == (len(QUERIES), len(DOCS)) and scores.dtype == np.float32
    assert np.allclose(scores, reference_scores(DOCS, QUERIES, k1, b), rtol=1e-5, atol=1e-6)
    assert (scores >= 0).all()


def test_scores_use_collection_wide_stats_for_one_segment():
    segment = DOCS[:3]
    stats = Bm25Stats.from_csr(texts_to_term_frequencies(DOCS, ANALYZER))
    scores = bm25_scores(texts_to_term_frequencies(segment, ANALYZER), None,
                         query_terms(QUERIES, ANALYZER), stats)
    expected = reference_scores(segment, QUERIES, stats_docs=DOCS)
    assert np.allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_top_k_and_allowed_rows():
    docs = texts_to_term_frequencies(DOCS, ANALYZER)
    stats = Bm25Stats.from_csr(docs)
    queries = query_terms(["learning", "fox", "nothing"], ANALYZER)
    dense = bm25_scores(docs, None, queries, stats)
    ids, best = bm25_scores(docs, None, queries, stats, k=2)
    assert ids.shape == best.shape == (3, 2)
    assert ids[0].tolist() == [2, 1]            # "learning" twice beats once
    assert np.allclose(best[0], dense[0, [2, 1]])
    assert ids[1].tolist() == [5, 0]            # "fox" three times beats once
    assert ids[2].tolist() == [-1, -1] and best[2].tolist() == [0.0, 0.0]
    allowed = np.ones(len(DOCS), dtype=bool)
    allowed[2] = False
    ids, best = bm25_scores(docs, None, queries, stats, allowed=allowed, k=3)
    assert ids[0].tolist() == [1, 6, -1]


def test_top_k_ties_break_by_row():
    docs = texts_to_term_frequencies(["a b", "a c", "a d", "b"], get_analyzer(None))
    stats = Bm25Stats.from_csr(docs)
    ids, _ = bm25_scores(docs, None, query_terms(["a"], get_analyzer(None)), stats, k=2)
    assert ids.tolist() == [[0, 1]]


def test_invalid_parameters():
    docs = texts_to_term_frequencies(["a"], get_analyzer(None))
    stats = Bm25Stats.from_csr(docs)
    queries = query_terms(["a"], get_analyzer(None))
    for kwargs in ({"k1": -1}, {"b": 1.5}, {"k": 0}, {"k": True}):
        with pytest.raises(ParamError):
            bm25_scores(docs, None, queries, stats, **kwargs)


def test_agrees_with_milvus_lite_bm25_index_on_one_segment():
    """Lite scores with segment-local stats, k1=1.5, and reports distance = -score."""
    from milvus_lite.index.sparse_inverted import SparseInvertedIndex

    texts = [d for d in DOCS if d]
    docs = texts_to_term_frequencies(texts, ANALYZER)
    indptr, indices, values = docs
    vectors = [dict(zip(indices[a:b].tolist(), values[a:b].tolist()))
               for a, b in zip(indptr[:-1], indptr[1:])]
    lite = SparseInvertedIndex(k1=1.5, b=0.75)
    lite.build(vectors)
    q_indptr, q_indices, q_values = query_terms(["machine learning fox"], ANALYZER)
    lite_ids, lite_dist = lite.search([dict(zip(q_indices.tolist(), q_values.tolist()))], 4)
    ours_ids, ours = bm25_scores(docs, None, (q_indptr, q_indices, q_values),
                                 Bm25Stats.from_csr(docs), k1=1.5, k=4)
    assert np.asarray(lite_ids)[0].tolist() == ours_ids[0].tolist()
    assert np.allclose(-np.asarray(lite_dist)[0], ours[0], rtol=1e-5)
