"""The index parameter rules: what create_index and search accept, fill in and reject."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redkite.engine.index import (INDEX_RULES, check_build_params, metrics_for, normalize_index,
                                  normalize_search_params, resolve_autoindex)
from redkite.errors import ParamError
from redkite.types import DataType

F = DataType.FLOAT_VECTOR


def test_hnsw_defaults_follow_milvus():
    assert normalize_index("v", F, "HNSW", "L2", {}) == (
        "HNSW", "L2", {"M": 30, "efConstruction": 360})


def test_index_and_metric_are_case_insensitive_and_numbers_may_be_strings():
    assert normalize_index("v", F, "hnsw", "ip", {"M": "16", "efConstruction": " 64"}) == (
        "HNSW", "IP", {"M": 16, "efConstruction": 64})
    _, _, params = normalize_index("v", DataType.SPARSE_FLOAT_VECTOR, "sparse_inverted_index",
                                   "IP", {"drop_ratio_build": "0.2"})
    assert params["drop_ratio_build"] == pytest.approx(0.2)


def test_pymilvus_keys_inside_params_are_understood():
    # pymilvus may repeat index_type / metric_type inside params and adds mmap.enabled.
    got = normalize_index("v", F, None, None, {"index_type": "IVF_FLAT", "metric_type": "IP",
                                               "nlist": 64, "mmap.enabled": "true"})
    assert got == ("IVF_FLAT", "IP", {"nlist": 64, "mmap.enabled": True})


def test_conflicting_index_type_is_rejected():
    with pytest.raises(ParamError, match="index_type given twice"):
        normalize_index("v", F, "HNSW", None, {"index_type": "IVF_FLAT"})


def test_missing_index_type_means_autoindex_with_default_metric_per_kind():
    assert normalize_index("v", F, None, None, {}) == ("AUTOINDEX", "COSINE", {})
    assert normalize_index("v", DataType.BINARY_VECTOR, "", None, {}) == (
        "AUTOINDEX", "HAMMING", {})
    assert normalize_index("v", DataType.SPARSE_FLOAT_VECTOR, None, None, {}) == (
        "AUTOINDEX", "IP", {})
    assert normalize_index("v", DataType.INT8_VECTOR, "AUTOINDEX", "L2", {}) == (
        "AUTOINDEX", "L2", {})


@pytest.mark.parametrize("params", [{"M": 16}, {"mmap.enabled": True}, {"nlist": 8}])
def test_autoindex_takes_only_a_metric(params):
    with pytest.raises(ParamError, match="only metric type can be passed when use AutoIndex"):
        normalize_index("v", F, "AUTOINDEX", "L2", params)


def test_autoindex_choices_per_kind():
    assert resolve_autoindex("float", "COSINE") == ("HNSW", {"M": 18, "efConstruction": 240})
    assert resolve_autoindex("int8", "L2")[0] == "HNSW"
    assert resolve_autoindex("binary", "JACCARD") == ("BIN_FLAT", {})
    kind, params = resolve_autoindex("sparse", "BM25")
    assert kind == "SPARSE_INVERTED_INDEX" and params["bm25_k1"] == 1.2


def test_refine_defaults_and_precision_rule():
    _, _, params = normalize_index("v", F, "HNSW_SQ", "L2", {"refine": True})
    assert params["refine_type"] == "FP32" and params["sq_type"] == "SQ8"
    _, _, params = normalize_index("v", F, "HNSW_SQ", "L2", {"sq_type": "sq6", "refine": "true",
                                                             "refine_type": "sq8"})
    assert (params["sq_type"], params["refine_type"]) == ("SQ6", "SQ8")
    _, _, params = normalize_index("v", F, "HNSW_PQ", "L2", {})
    assert params == {"M": 30, "efConstruction": 360, "m": 32, "nbits": 8, "refine": False}


def test_bm25_parameters_get_defaults_only_for_bm25():
    sparse = DataType.SPARSE_FLOAT_VECTOR
    _, _, bm25 = normalize_index("v", sparse, "SPARSE_INVERTED_INDEX", "BM25", {"bm25_b": 0})
    assert bm25["bm25_k1"] == 1.2 and bm25["bm25_b"] == 0.0
    _, _, ip = normalize_index("v", sparse, "SPARSE_WAND", "IP", {})
    assert "bm25_k1" not in ip and ip["inverted_index_algo"] == "DAAT_MAXSCORE"


def test_normalized_params_check_again_unchanged():
    for index_type, kind, metric, params in [
            ("HNSW_SQ", "float", "IP", {"refine": True}), ("IVF_PQ", "float", "L2", {"m": 8}),
            ("SCANN", "float", "COSINE", {}), ("BIN_IVF_FLAT", "binary", "JACCARD", {}),
            ("SPARSE_INVERTED_INDEX", "sparse", "BM25", {})]:
        once = check_build_params(index_type, kind, metric, params, dim=64)
        assert check_build_params(index_type, kind, once[1], once[2], dim=64) == once


def test_metrics_per_kind():
    assert metrics_for("HNSW", "int8") == ("L2", "IP", "COSINE")
    assert metrics_for("BIN_IVF_FLAT", "binary") == ("HAMMING", "JACCARD")
    assert metrics_for("AUTOINDEX", "sparse") == ("IP", "BM25")
    assert set(INDEX_RULES) >= {"FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "IVF_RABITQ", "SCANN",
                                "HNSW", "HNSW_SQ", "HNSW_PQ", "BIN_FLAT", "BIN_IVF_FLAT",
                                "SPARSE_INVERTED_INDEX", "SPARSE_WAND", "AUTOINDEX"}


# (index type, data type, metric, params, dim, words the message must contain)
INVALID_BUILDS = [
    ("HNSW", F, "L2", {"M": 1}, None, ["HNSW", "'M'", "[2, 2048]"]),
    ("HNSW", F, "L2", {"M": 2049}, None, ["'M'", "2048"]),
    ("HNSW", F, "L2", {"M": 16.5}, None, ["'M'", "int"]),
    ("HNSW", F, "L2", {"M": True}, None, ["'M'"]),
    ("HNSW", F, "L2", {"M": "sixteen"}, None, ["'M'"]),
    ("HNSW", F, "L2", {"efConstruction": 0}, None, ["'efConstruction'", "[1, 2147483647]"]),
    ("HNSW", F, "L2", {"nlist": 128}, None, ["HNSW", "'nlist'", "'M'"]),
    ("HNSW", F, "L2", {"foo": 1}, None, ["'foo'"]),
    ("HNSW", F, "HAMMING", {}, None, ["HAMMING", "HNSW", "L2"]),
    ("IVF_FLAT", F, "L2", {"nlist": 0}, None, ["IVF_FLAT", "'nlist'", "[1, 65536]"]),
    ("IVF_FLAT", F, "L2", {"nlist": 65537}, None, ["'nlist'", "65536"]),
    ("IVF_PQ", F, "L2", {}, None, ["IVF_PQ", "requires", "'m'"]),
    ("IVF_PQ", F, "L2", {"m": 3}, 32, ["'m'", "dim 32"]),
    ("IVF_PQ", F, "L2", {"m": 8, "nbits": 25}, None, ["'nbits'", "[1, 24]"]),
    ("HNSW_PQ", F, "L2", {"nbits": 17}, None, ["HNSW_PQ", "'nbits'", "[1, 16]"]),
    ("SCANN", F, "L2", {"sub_dim": 3}, 32, ["'sub_dim'", "dim 32"]),
    ("SCANN", F, "L2", {"with_raw_data": "maybe"}, None, ["'with_raw_data'", "true or false"]),
    ("HNSW_SQ", F, "L2", {"sq_type": "SQ4"}, None, ["'sq_type'", "SQ6"]),
    ("HNSW_SQ", F, "L2", {"refine_type": "FP32"}, None, ["'refine_type'", "refine=true"]),
    ("HNSW_SQ", F, "L2", {"refine": True, "refine_type": "SQ8"}, None,
     ["refine_type SQ8", "more precise"]),
    ("IVF_RABITQ", F, "L2", {"refine": True, "refine_type": "INT4"}, None, ["'refine_type'"]),
    ("DISKANN", F, "L2", {}, None, ["DISKANN", "not supported"]),
    ("GPU_CAGRA", F, "L2", {}, None, ["GPU"]),
    ("NOPE", F, "L2", {}, None, ["invalid index type", "'NOPE'", "HNSW"]),
    ("IVF_FLAT", DataType.INT8_VECTOR, "L2", {}, None, ["IVF_FLAT", "INT8_VECTOR", "HNSW"]),
    ("HNSW", DataType.BINARY_VECTOR, "HAMMING", {}, None, ["HNSW", "BINARY_VECTOR"]),
    ("BIN_IVF_FLAT", DataType.BINARY_VECTOR, "L2", {}, None, ["L2", "HAMMING", "JACCARD"]),
    ("BIN_FLAT", DataType.BINARY_VECTOR, "SUBSTRUCTURE", {}, None, ["SUBSTRUCTURE"]),
    ("SPARSE_INVERTED_INDEX", DataType.SPARSE_FLOAT_VECTOR, "L2", {}, None, ["L2", "BM25"]),
    ("SPARSE_INVERTED_INDEX", DataType.SPARSE_FLOAT_VECTOR, "IP", {"drop_ratio_build": 1},
     None, ["'drop_ratio_build'", "[0, 1)"]),
    ("SPARSE_INVERTED_INDEX", DataType.SPARSE_FLOAT_VECTOR, "IP", {"bm25_k1": 1.2}, None,
     ["'bm25_k1'", "BM25"]),
    ("SPARSE_INVERTED_INDEX", DataType.SPARSE_FLOAT_VECTOR, "BM25", {"bm25_k1": 3.5}, None,
     ["'bm25_k1'", "[0, 3]"]),
    ("SPARSE_WAND", DataType.SPARSE_FLOAT_VECTOR, "IP", {"inverted_index_algo": "BMW"}, None,
     ["'inverted_index_algo'", "DAAT_MAXSCORE"]),
    ("HNSW", DataType.INT64, "L2", {}, None, ["not a vector field"]),
]


@pytest.mark.parametrize("index_type,dtype,metric,params,dim,words", INVALID_BUILDS)
def test_invalid_build_parameters_name_what_is_wrong(index_type, dtype, metric, params, dim,
                                                     words):
    with pytest.raises(ParamError) as caught:
        normalize_index("vec", dtype, index_type, metric, params, dim=dim)
    assert caught.value.code == 1100
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_search_defaults():
    assert normalize_search_params("HNSW", "L2", {}, limit=10) == {"ef": 16}
    assert normalize_search_params("HNSW", "L2", {}, limit=100) == {"ef": 100}
    assert normalize_search_params("IVF_FLAT", "L2", None, limit=5) == {"nprobe": 8}
    assert normalize_search_params("SCANN", "IP", {}, limit=7) == {"nprobe": 8, "reorder_k": 7}
    assert normalize_search_params("IVF_RABITQ", "L2", {"rbq_query_bits": 6}, limit=5) == {
        "nprobe": 8, "rbq_bits_query": 6, "refine_k": 1.0}
    assert normalize_search_params("SPARSE_INVERTED_INDEX", "IP", {}, limit=5) == {
        "drop_ratio_search": 0.0, "dim_max_score_ratio": 1.05}
    assert normalize_search_params("AUTOINDEX", "COSINE", {"level": "3"}, limit=5) == {
        "level": 3, "drop_ratio_search": 0.0}
    assert normalize_search_params("FLAT", "L2", {}, limit=5) == {}


def test_search_request_keys_pass_through():
    got = normalize_search_params("HNSW", "L2", {"ef": "64", "metric_type": "l2", "offset": 5,
                                                 "radius": "2.5", "range_filter": 0,
                                                 "page_retain_order": True}, limit=10)
    assert got == {"ef": 64, "metric_type": "L2", "offset": 5, "radius": 2.5,
                   "range_filter": 0.0, "page_retain_order": True}
    assert normalize_search_params("HNSW", "L2", got, limit=10) == got


def test_search_keys_of_other_index_types_and_unknown_keys_are_rejected():
    with pytest.raises(ParamError, match="'nprobe' \\(it belongs to other index types\\)"):
        normalize_search_params("HNSW", "IP", {"nprobe": 10}, limit=10)
    with pytest.raises(ParamError, match="'ef'"):
        normalize_search_params("FLAT", "IP", {"ef": 64}, limit=10)
    with pytest.raises(ParamError, match="'efSearch'"):
        normalize_search_params("HNSW", "IP", {"efSearch": 10}, limit=10)


# (index type, metric, params, limit, words the message must contain)
INVALID_SEARCHES = [
    ("HNSW", "L2", {"ef": 5}, 10, ["'ef'", "limit=10", "32768"]),
    ("HNSW", "L2", {"ef": 40000}, 10, ["'ef'", "32768"]),
    ("HNSW_SQ", "L2", {"refine_k": 0.5}, 10, ["'refine_k'", "[1, inf)"]),
    ("IVF_FLAT", "L2", {"nprobe": 0}, 10, ["IVF_FLAT", "'nprobe'", "[1, 65536]"]),
    ("IVF_RABITQ", "L2", {"rbq_bits_query": 9}, 10, ["'rbq_bits_query'", "[0, 8]"]),
    ("SCANN", "L2", {"reorder_k": 3}, 10, ["'reorder_k'", "limit=10"]),
    ("SPARSE_INVERTED_INDEX", "IP", {"drop_ratio_search": 1.0}, 10,
     ["'drop_ratio_search'", "[0, 1)"]),
    ("SPARSE_WAND", "IP", {"dim_max_score_ratio": 2}, 10, ["'dim_max_score_ratio'", "1.3"]),
    ("AUTOINDEX", "COSINE", {"level": 11}, 10, ["'level'", "[1, 10]"]),
    ("HNSW", "L2", {"metric_type": "IP"}, 10, ["metric type not match", "L2"]),
    ("HNSW", "L2", {"radius": "far"}, 10, ["'radius'"]),
    ("HNSW", "L2", {"ef": 64}, 0, ["limit"]),
]


@pytest.mark.parametrize("index_type,metric,params,limit,words", INVALID_SEARCHES)
def test_invalid_search_parameters_name_what_is_wrong(index_type, metric, params, limit, words):
    with pytest.raises(ParamError) as caught:
        normalize_search_params(index_type, metric, params, limit=limit)
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_numpy_integers_are_integers():
    assert normalize_index("v", F, "HNSW", "L2", {"M": np.int64(8)})[2]["M"] == 8


def test_docs_list_every_index_type_and_parameter():
    text = (Path(__file__).resolve().parent.parent / "docs" / "indexes.md").read_text()
    for name, rule in INDEX_RULES.items():
        assert name in text, name
        for spec in rule.build + rule.search:
            assert f"`{spec.name}`" in text, (name, spec.name)
