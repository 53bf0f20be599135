"""Analyzers configured by Milvus analyzer_params, and run_analyzer's result shape."""

from __future__ import annotations

import zlib

import pytest

from redkite.engine.text import get_analyzer, params_key, run_analyzer, term_id, term_ids
from redkite.errors import ParamError

SENTENCE = "The 2 QUICK Brown-Foxes jumped over the lazy dog's bone; foo_bar 32.3 中文 café"


def tokens(params, text=SENTENCE):
    return get_analyzer(params).tokens(text)


def test_standard_analyzer_splits_on_non_alphanumerics_and_lowercases():
    expected = ["the", "2", "quick", "brown", "foxes", "jumped", "over", "the", "lazy", "dog",
                "s", "bone", "foo", "bar", "32", "3", "中文", "café"]
    assert tokens(None) == expected
    assert tokens({}) == expected
    assert tokens({"type": "standard"}) == expected
    assert tokens({"tokenizer": "standard", "filter": ["lowercase"]}) == expected


def test_default_analyzer_is_shared_by_equivalent_params():
    assert get_analyzer(None) is get_analyzer({})
    a = get_analyzer({"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]})
    b = get_analyzer('{"filter": ["lowercase", "asciifolding"], "tokenizer": "standard"}')
    assert a is b
    assert params_key({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'


def test_english_analyzer_stems_then_removes_english_stop_words():
    text = "The runners are running and jumped over these lazy foxes"
    assert tokens({"type": "english"}, text) == ["runner", "run", "jump", "over", "lazi", "fox"]
    assert tokens({"type": "english", "stop_words": ["over", "fox"]}, text) == [
        "runner", "run", "jump", "lazi"]


def test_standard_analyzer_with_stop_words():
    assert tokens({"type": "standard", "stop_words": ["_english_", "quick"]},
                  "The quick fox is here") == ["fox", "here"]


def test_stop_words_leave_position_gaps():
    batch = get_analyzer({"type": "english"}).analyze(["the cat and the hat", "a b"])
    assert batch.tokens == ["cat", "hat", "b"]
    assert batch.positions.tolist() == [1, 4, 1]
    assert batch.rows.tolist() == [0, 0, 1]


def test_whitespace_tokenizer_keeps_punctuation_and_case():
    assert tokens({"tokenizer": "whitespace"}, "Hello,  World!\tfoo_bar\u3000x") == [
        "Hello,", "World!", "foo_bar", "x"]
    assert tokens({"tokenizer": {"type": "whitespace"}, "filter": ["lowercase"]}, "A b") == ["a", "b"]


def test_filters():
    text = "Café Straße Œuvre naïve"
    folded = {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
    assert tokens(folded, text) == ["cafe", "strasse", "oeuvre", "naive"]
    assert tokens({"tokenizer": "whitespace", "filter": ["removepunct"]},
                  "hello, world ! it's ok") == ["world", "ok"]
    assert tokens({"tokenizer": "whitespace", "filter": ["alphanumonly"]},
                  "abc a-b ü 42") == ["abc", "42"]
    # length counts UTF-8 bytes: "über" is 5 bytes
    assert tokens({"tokenizer": "standard", "filter": [{"type": "length", "max": 4}]},
                  "über uber abcde a") == ["uber", "a"]
    assert tokens({"tokenizer": "standard",
                   "filter": ["lowercase", {"type": "stop", "stop_words": ["_english_", "x"]}]},
                  "The X and Y") == ["y"]
    assert tokens({"tokenizer": "standard",
                   "filter": [{"type": "stemmer", "language": "French"}]},
                  "continuellement chevaux") == ["continuel", "cheval"]


def test_filters_apply_in_order():
    stop_then_lower = {"tokenizer": "standard",
                       "filter": [{"type": "stop", "stop_words": ["the"]}, "lowercase"]}
    lower_then_stop = {"tokenizer": "standard",
                       "filter": ["lowercase", {"type": "stop", "stop_words": ["the"]}]}
    assert tokens(stop_then_lower, "The the end") == ["the", "end"]
    assert tokens(lower_then_stop, "The the end") == ["end"]


def test_tokens_many_keeps_one_list_per_text_including_none_and_empty():
    analyzer = get_analyzer(None)
    assert analyzer.tokens_many(["A b", None, "", "c"]) == [["a", "b"], [], [], ["c"]]
    assert analyzer.tokens_many([]) == []


@pytest.mark.parametrize("params, culprit", [
    ({"type": "klingon"}, "klingon"),
    ({"type": "chinese"}, "chinese"),
    ({"type": 3}, "3"),
    ({"type": "standard", "filter": ["lowercase"]}, "filter"),
    ({"tokenizer": "nonsense"}, "nonsense"),
    ({"tokenizer": "jieba"}, "jieba"),
    ({"tokenizer": {"type": "icu"}}, "icu"),
    ({"tokenizer": {"kind": "standard"}}, "type"),
    ({"tokenizer": "standard", "filter": ["upper"]}, "upper"),
    ({"tokenizer": "standard", "filter": ["cncharonly"]}, "cncharonly"),
    ({"tokenizer": "standard", "filter": [{"type": "synonym"}]}, "synonym"),
    ({"tokenizer": "standard", "filter": [{"type": "length", "max": -1}]}, "max"),
    ({"tokenizer": "standard", "filter": [{"type": "length", "max": "5"}]}, "max"),
    ({"tokenizer": "standard", "filter": [{"type": "stemmer", "language": "elvish"}]}, "elvish"),
    ({"tokenizer": "standard", "filter": [{"type": "stop", "stop_words": "the"}]}, "stop_words"),
    ({"tokenizer": "standard", "filter": [{"type": "stop", "stop_words": ["_french_"]}]}, "_french_"),
    ({"tokenizer": "standard", "filter": [{"type": "stop", "words": []}]}, "words"),
    ({"tokenizer": "standard", "filter": "lowercase"}, "filter"),
    ({"tokenizer": "standard", "char_filter": []}, "char_filter"),
    ({"filter": ["lowercase"]}, "tokenizer"),
    ("{not json", "JSON"),
    (["standard"], "dict"),
])
def test_invalid_params_raise_param_error_naming_the_culprit(params, culprit):
    with pytest.raises(ParamError) as info:
        get_analyzer(params)
    assert culprit in info.value.message
    assert info.value.code == 1100


def test_run_analyzer_shapes():
    assert run_analyzer("Hello World") == ["hello", "world"]
    assert run_analyzer(["Hello World", "x"]) == [["hello", "world"], ["x"]]
    assert run_analyzer(["The cats"], {"type": "english"}) == [["cat"]]
    detail = run_analyzer("héllo wörld the", {"type": "english"}, with_detail=True)
    # offsets are UTF-8 byte offsets, as tantivy reports them
    assert detail == [
        {"token": "héllo", "start_offset": 0, "end_offset": 6, "position": 0, "position_length": 1},
        {"token": "wörld", "start_offset": 7, "end_offset": 13, "position": 1, "position_length": 1},
    ]
    hashed = run_analyzer(["hello"], with_hash=True)
    assert hashed == [[{"token": "hello", "hash": 907060870}]]  # CRC-32 of b"hello"
    with pytest.raises(ParamError):
        run_analyzer([1, 2])
    with pytest.raises(ParamError):
        run_analyzer("x", {"type": "nope"})


def test_term_ids_are_milvus_crc32_of_the_first_100_bytes():
    assert term_id("hello") == zlib.crc32(b"hello")
    long_a, long_b = "x" * 100 + "a", "x" * 100 + "b"
    assert term_id(long_a) == term_id(long_b) == zlib.crc32(b"x" * 100)
    assert term_ids(["hello", "é", "hello"]).tolist() == [
        zlib.crc32(b"hello"), zlib.crc32("é".encode()), zlib.crc32(b"hello")]


def test_matches_milvus_lite_standard_analyzer_on_plain_words():
    """milvus-lite's analyzer (\\w+ lowercased) agrees wherever no '_' is involved."""
    from milvus_lite.analyzer.standard import StandardAnalyzer

    lite = StandardAnalyzer()
    texts = ["The QUICK brown fox", "Vector databases: Milvus, redkite & co. 2024!",
             "naïve café déjà-vu", "e-mail 3.14 don't"]
    ours = get_analyzer(None)
    for text in texts:
        assert ours.tokens(text) == lite.tokenize(text)
    assert ours.tokens("foo_bar") == ["foo", "bar"] != lite.tokenize("foo_bar")


def test_a_column_of_texts_is_tokenized_in_one_batch():
    """Every token of every text, stop words removed (its speed is in bench/micro.py)."""
    words = ["alpha", "Beta", "gamma", "delta", "epsilon", "running", "jumps", "the"]
    texts = [" ".join(words[(i + j) % 8] for j in range(12)) + f" n{i}" for i in range(2_000)]
    batch = get_analyzer({"type": "english"}).analyze(texts)
    expected = sum(len(text.split()) - text.split().count("the") for text in texts)
    assert len(batch.tokens) == expected
