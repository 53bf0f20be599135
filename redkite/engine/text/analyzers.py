"""Text analyzers configured by Milvus ``analyzer_params``.

An analyzer is a tokenizer followed by token filters. Two forms of params exist, as in
Milvus (its tantivy binding, ``analyzer.rs``):

* built-in: ``{"type": "standard"}`` (the default, also for ``None`` and ``{}``):
  standard tokenizer + ``lowercase``; ``{"type": "english"}``: standard tokenizer +
  ``lowercase`` + English snowball stemmer + English stop words. Both accept an extra
  ``"stop_words": [...]`` list. ``{"type": "chinese"}`` needs the jieba tokenizer and is
  rejected.
* custom: ``{"tokenizer": "standard" | "whitespace" | {"type": ...}, "filter": [...]}``
  where a filter is ``"lowercase"``, ``"asciifolding"``, ``"alphanumonly"``,
  ``"removepunct"``, ``{"type": "stop", "stop_words": [...]}``,
  ``{"type": "stemmer", "language": "english"}`` or ``{"type": "length", "max": N}``.

Tokenizers: ``standard`` splits text into maximal runs of Unicode letters and digits
(tantivy's SimpleTokenizer: ``foo_bar`` -> ``foo``, ``bar``; ``don't`` -> ``don``,
``t``); ``whitespace`` splits on Unicode white space. Each token keeps the position the
tokenizer gave it (0, 1, 2, ...); filters that drop tokens leave gaps, as tantivy does,
so phrase matching sees removed stop words as distance.

Unknown types, tokenizers, filters and keys raise :class:`ParamError` naming them;
tokenizers and filters Milvus has but redkite does not (jieba, lindera, icu, regex,
synonym, decompounder, ...) raise a ParamError saying so. Differences from Milvus:
letters are Python's ``str.isalnum`` (Rust's ``is_alphanumeric`` also counts combining
vowel signs of Indic scripts as letters), ``asciifolding`` folds Latin letters by
Unicode decomposition plus a table of letters that do not decompose, and the snowball
stemmers come from the ``snowballstemmer`` package.

Analyzing many texts is one regex ``findall`` per text plus filters that run once per
distinct token; analyzers are cached by their canonical JSON params.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Callable

import numpy as np
import snowballstemmer

from redkite.errors import ParamError

from .terms import term_id

_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TOKENIZER_PATTERNS = {
    "standard": re.compile(r"[^\W_]+"),
    "whitespace": re.compile(f"[^{_WHITESPACE}]+"),
}
_UNSUPPORTED_TOKENIZERS = frozenset({"jieba", "lindera", "icu", "language_identifier",
                                     "char_group", "ngram", "grpc"})
_UNSUPPORTED_FILTERS = frozenset({"cncharonly", "cnalphanumonly", "decompounder", "regex",
                                  "synonym", "pinyin", "decimaldigit", "arabic_normalization"})
# Snowball's English stop word list, as Milvus ships it ("_english_").
ENGLISH_STOP_WORDS = frozenset((
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with").split())
_MILVUS_STOP_LISTS = frozenset({"_chinese_", "_danish_", "_dutch_", "_finnish_", "_french_",
                                "_german_", "_hungarian_", "_italian_", "_norwegian_",
                                "_portuguese_", "_russian_", "_spanish_", "_swedish_"})
STEMMER_LANGUAGES = frozenset({
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish",
    "swedish", "tamil", "turkish"})
_CACHE_SIZE = 256


@dataclass(slots=True)
class TokenBatch:
    """Tokens of many texts laid end to end.

    ``rows[i]`` is the text token ``i`` came from (ascending), ``positions[i]`` its
    position in that text as the tokenizer numbered it; ``starts`` / ``ends`` are
    character offsets, filled only when the caller asked for details.
    """
    tokens: list[str]
    rows: np.ndarray
    positions: np.ndarray
    num_rows: int
    starts: np.ndarray | None = None
    ends: np.ndarray | None = None

    def keep(self, mask: np.ndarray) -> TokenBatch:
        """The batch without the tokens where ``mask`` is false."""
        if mask.all():
            return self
        tokens = list(itertools.compress(self.tokens, mask.tolist()))
        pick = (lambda a: None if a is None else a[mask])
        return TokenBatch(tokens, self.rows[mask], self.positions[mask], self.num_rows,
                          pick(self.starts), pick(self.ends))

    def with_tokens(self, tokens: list[str]) -> TokenBatch:
        return TokenBatch(tokens, self.rows, self.positions, self.num_rows, self.starts, self.ends)

    def row_bounds(self) -> np.ndarray:
        """``bounds[r]:bounds[r + 1]`` are the tokens of text ``r``."""
        return np.searchsorted(self.rows, np.arange(self.num_rows + 1))

    def per_row(self) -> list[list[str]]:
        bounds = self.row_bounds().tolist()
        tokens = self.tokens
        return [tokens[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def tokenize(pattern: re.Pattern, texts: list[str], detail: bool) -> TokenBatch:
    """Run the tokenizer regex over every text (empty for None)."""
    texts = ["" if text is None else text for text in texts]
    starts = ends = None
    if detail:
        matches = [list(pattern.finditer(text)) for text in texts]
        counts = np.fromiter(map(len, matches), dtype=np.int64, count=len(texts))
        flat = list(itertools.chain.from_iterable(matches))
        tokens = [m.group() for m in flat]
        starts = np.fromiter((m.start() for m in flat), dtype=np.int64, count=len(flat))
        ends = np.fromiter((m.end() for m in flat), dtype=np.int64, count=len(flat))
    else:
        lists = list(map(pattern.findall, texts))
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(texts))
        tokens = list(itertools.chain.from_iterable(lists))
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    first = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(texts) else counts
    positions = np.arange(len(tokens), dtype=np.int64) - np.repeat(first, counts)
    return TokenBatch(tokens, rows, positions, len(texts), starts, ends)


# -- filters: TokenBatch -> TokenBatch ---------------------------------------------------

Filter = Callable[[TokenBatch], TokenBatch]


def map_distinct(batch: TokenBatch, function: Callable[[str], str]) -> TokenBatch:
    """Replace every token by ``function(token)``, computed once per distinct token."""
    mapped = {token: function(token) for token in dict.fromkeys(batch.tokens)}
    return batch.with_tokens(list(map(mapped.__getitem__, batch.tokens)))


def keep_distinct(batch: TokenBatch, predicate: Callable[[str], bool]) -> TokenBatch:
    """Keep the tokens for which ``predicate`` holds, evaluated once per distinct token."""
    decided = {token: bool(predicate(token)) for token in dict.fromkeys(batch.tokens)}
    mask = np.fromiter(map(decided.__getitem__, batch.tokens), dtype=bool, count=len(batch.tokens))
    return batch.keep(mask)


def lowercase(batch: TokenBatch) -> TokenBatch:
    return batch.with_tokens(list(map(str.lower, batch.tokens)))


def stop_filter(words: frozenset[str]) -> Filter:
    def remove_stop_words(batch: TokenBatch) -> TokenBatch:
        stopped = np.fromiter(map(words.__contains__, batch.tokens), dtype=bool,
                              count=len(batch.tokens))
        return batch.keep(~stopped)
    return remove_stop_words


_STEM_MEMO_SIZE = 500_000


@functools.lru_cache(maxsize=None)
def stemmer_filter(language: str) -> Filter:
    """Snowball stemming; stems are remembered across calls (up to 500k words)."""
    stemmer = snowballstemmer.stemmer(language)
    lock = threading.Lock()  # snowballstemmer objects keep per-word state
    memo: dict[str, str] = {}

    def stem(batch: TokenBatch) -> TokenBatch:
        with lock:
            missing = [t for t in dict.fromkeys(batch.tokens) if t not in memo]
            if len(memo) + len(missing) > _STEM_MEMO_SIZE:
                memo.clear()
            memo.update(zip(missing, stemmer.stemWords(missing)))
            stemmed = list(map(memo.__getitem__, batch.tokens))
        return batch.with_tokens(stemmed)
    return stem


def length_filter(max_bytes: int) -> Filter:
    return lambda batch: keep_distinct(batch, lambda t: len(t.encode("utf-8")) <= max_bytes)


def alphanum_only(batch: TokenBatch) -> TokenBatch:
    return keep_distinct(batch, lambda t: t.isascii() and t.isalnum())


def _has_punctuation_or_space(token: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch).startswith("P") for ch in token)


def remove_punct(batch: TokenBatch) -> TokenBatch:
    return keep_distinct(batch, lambda t: not _has_punctuation_or_space(t))


# Latin letters without a Unicode decomposition to ASCII, folded as Lucene does.
_FOLD_SPECIAL = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH",
    "ħ": "h", "Ħ": "H", "ı": "i", "ŋ": "n", "Ŋ": "N", "ŧ": "t", "Ŧ": "T", "ĸ": "q",
    "ſ": "s", "ƒ": "f", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...", "«": '"', "»": '"',
}


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    special = _FOLD_SPECIAL.get(ch)
    if special is not None:
        return special
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch)
                         if not unicodedata.combining(c))
    return decomposed if decomposed and decomposed.isascii() else ch


def fold_to_ascii(token: str) -> str:
    """Latin letters with diacritics to their ASCII base (``café`` -> ``cafe``)."""
    if token.isascii():
        return token
    return "".join(map(_fold_char, token))


def asciifolding(batch: TokenBatch) -> TokenBatch:
    return map_distinct(batch, fold_to_ascii)


# -- building analyzers from params ------------------------------------------------------

class Analyzer:
    """A tokenizer plus filters; thread-safe and reusable."""

    def __init__(self, key: str, tokenizer: str, filters: list[Filter]) -> None:
        self.key = key
        self.tokenizer = tokenizer
        self._pattern = TOKENIZER_PATTERNS[tokenizer]
        self._filters = filters

    def analyze(self, texts: list[str], detail: bool = False) -> TokenBatch:
        """Tokens of every text, with rows and positions (None texts have no tokens)."""
        batch = tokenize(self._pattern, texts, detail)
        for apply in self._filters:
            if not batch.tokens:
                break
            batch = apply(batch)
        return batch

    def tokens(self, text: str) -> list[str]:
        return self.analyze([text]).tokens

    def tokens_many(self, texts: list[str]) -> list[list[str]]:
        return self.analyze(list(texts)).per_row()

    def __repr__(self) -> str:
        return f"Analyzer({self.key})"


def _string_list(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParamError(f"analyzer_params: {what} must be a list of strings, got {value!r}")
    return value


def stop_words(value, what: str = "stop_words") -> frozenset[str]:
    """A stop word list; ``"_english_"`` stands for the English list."""
    words: set[str] = set()
    for word in _string_list(value, what):
        if word == "_english_":
            words |= ENGLISH_STOP_WORDS
        elif word in _MILVUS_STOP_LISTS:
            raise ParamError(f"analyzer_params: the stop word list {word!r} is not supported "
                             "by redkite (only '_english_' is built in); list the words instead")
        else:
            words.add(word)
    return frozenset(words)


def _check_keys(params: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParamError(f"analyzer_params: unknown key(s) {unknown} in {what} "
                         f"(allowed: {list(allowed)})")


def _builtin(params: dict) -> tuple[str, list[Filter]]:
    kind = params["type"]
    if not isinstance(kind, str):
        raise ParamError(f"analyzer_params: analyzer type must be a string, got {kind!r}")
    _check_keys(params, ("type", "stop_words"), f"the {kind!r} analyzer")
    extra = [stop_filter(stop_words(params["stop_words"]))] if "stop_words" in params else []
    if kind == "standard":
        return "standard", [lowercase, *extra]
    if kind == "english":
        return "standard", [lowercase, stemmer_filter("english"),
                            stop_filter(ENGLISH_STOP_WORDS), *extra]
    if kind == "chinese":
        raise ParamError("analyzer_params: the 'chinese' analyzer needs the jieba tokenizer, "
                         "which redkite does not support; use 'standard' or 'english'")
    raise ParamError(f"analyzer_params: unknown built-in analyzer type {kind!r} "
                     "(supported: 'standard', 'english')")


def _tokenizer_name(spec) -> str:
    if isinstance(spec, dict):
        if "type" not in spec:
            raise ParamError("analyzer_params: a tokenizer given as a dict needs a 'type'")
        _check_keys(spec, ("type",), f"tokenizer {spec.get('type')!r}")
        spec = spec["type"]
    if not isinstance(spec, str):
        raise ParamError(f"analyzer_params: tokenizer must be a name or a dict, got {spec!r}")
    if spec in TOKENIZER_PATTERNS:
        return spec
    if spec in _UNSUPPORTED_TOKENIZERS:
        raise ParamError(f"analyzer_params: tokenizer {spec!r} is not supported by redkite "
                         "(supported: 'standard', 'whitespace')")
    raise ParamError(f"analyzer_params: unknown tokenizer {spec!r} "
                     "(supported: 'standard', 'whitespace')")


_NAMED_FILTERS: dict[str, Filter] = {
    "lowercase": lowercase, "asciifolding": asciifolding, "alphanumonly": alphanum_only,
    "removepunct": remove_punct,
}


def _configured_filter(spec: dict) -> Filter:
    kind = spec.get("type")
    if not isinstance(kind, str):
        raise ParamError(f"analyzer_params: a filter given as a dict needs a string 'type', "
                         f"got {spec!r}")
    if kind == "stop":
        _check_keys(spec, ("type", "stop_words"), "the 'stop' filter")
        return stop_filter(stop_words(spec.get("stop_words", []), "the 'stop' filter's stop_words"))
    if kind == "stemmer":
        _check_keys(spec, ("type", "language"), "the 'stemmer' filter")
        language = spec.get("language")
        if not isinstance(language, str):
            raise ParamError("analyzer_params: the 'stemmer' filter needs a 'language' string")
        language = "arabic" if language.lower() == "arabig" else language.lower()
        if language not in STEMMER_LANGUAGES:
            raise ParamError(f"analyzer_params: unsupported stemmer language {spec['language']!r} "
                             f"(supported: {sorted(STEMMER_LANGUAGES)})")
        return stemmer_filter(language)
    if kind == "length":
        _check_keys(spec, ("type", "max"), "the 'length' filter")
        limit = spec.get("max")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ParamError(f"analyzer_params: the 'length' filter needs 'max' as a "
                             f"non-negative integer, got {limit!r}")
        return length_filter(limit)
    return _named_filter(kind)


def _named_filter(name: str) -> Filter:
    found = _NAMED_FILTERS.get(name)
    if found is not None:
        return found
    if name in _UNSUPPORTED_FILTERS:
        raise ParamError(f"analyzer_params: filter {name!r} is not supported by redkite")
    raise ParamError(f"analyzer_params: unknown filter {name!r}")


def _custom(params: dict) -> tuple[str, list[Filter]]:
    _check_keys(params, ("tokenizer", "filter"), "a custom analyzer")
    if "tokenizer" not in params:
        raise ParamError("analyzer_params: set 'type' (a built-in analyzer) or 'tokenizer' "
                         "(a custom analyzer)")
    tokenizer = _tokenizer_name(params["tokenizer"])
    specs = params.get("filter", [])
    if not isinstance(specs, list):
        raise ParamError(f"analyzer_params: 'filter' must be a list, got {specs!r}")
    filters = []
    for spec in specs:
        if isinstance(spec, str):
            filters.append(_named_filter(spec))
        elif isinstance(spec, dict):
            filters.append(_configured_filter(spec))
        else:
            raise ParamError(f"analyzer_params: a filter must be a name or a dict, got {spec!r}")
    return tokenizer, filters


def normalize_params(params) -> dict:
    """``analyzer_params`` as a dict: accepts None, a dict, or its JSON text."""
    if params is None:
        return {}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            raise ParamError(f"analyzer_params is not valid JSON: {params[:80]!r}") from None
    if not isinstance(params, dict):
        raise ParamError(f"analyzer_params must be a dict, got {type(params).__name__}")
    return params


def params_key(params) -> str:
    """Canonical JSON text of ``analyzer_params`` (the analyzer cache key)."""
    return json.dumps(normalize_params(params), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


_cache: dict[str, Analyzer] = {}
_cache_lock = threading.Lock()


def get_analyzer(params=None) -> Analyzer:
    """The analyzer for ``analyzer_params`` (dict, JSON text or None); raises ParamError."""
    key = params_key(params)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    parsed = json.loads(key)
    tokenizer, filters = (_builtin(parsed) if "type" in parsed else
                          _custom(parsed) if parsed else ("standard", [lowercase]))
    analyzer = Analyzer(key, tokenizer, filters)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        return _cache.setdefault(key, analyzer)


def validate_params(params) -> dict:
    """Check ``analyzer_params`` (ParamError if invalid); return them as a dict."""
    get_analyzer(params)
    return normalize_params(params)


def _byte_offsets(text: str, char_offsets: np.ndarray) -> np.ndarray:
    """UTF-8 byte offsets of character offsets into ``text``."""
    if text.isascii():
        return char_offsets
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    widths = 1 + (codes >= 0x80) + (codes >= 0x800) + (codes >= 0x10000)
    prefix = np.concatenate(([0], np.cumsum(widths)))
    return prefix[char_offsets]


def _detailed(text: str, batch: TokenBatch, lo: int, hi: int, with_detail: bool,
              with_hash: bool) -> list[dict]:
    tokens = batch.tokens[lo:hi]
    out = [{"token": token} for token in tokens]
    if with_detail:
        starts = _byte_offsets(text, batch.starts[lo:hi]).tolist()
        ends = _byte_offsets(text, batch.ends[lo:hi]).tolist()
        positions = batch.positions[lo:hi].tolist()
        for entry, start, end, position in zip(out, starts, ends, positions):
            entry.update(start_offset=start, end_offset=end, position=position,
                         position_length=1)
    if with_hash:
        for entry, token in zip(out, tokens):
            entry["hash"] = term_id(token)
    return out


def run_analyzer(texts: str | list[str], analyzer_params=None, with_detail: bool = False,
                 with_hash: bool = False) -> list:
    """What ``MilvusClient.run_analyzer`` returns, as plain data.

    For each text: its tokens (a list of str), or, with ``with_detail`` / ``with_hash``,
    a list of dicts with ``token`` plus ``start_offset`` / ``end_offset`` (UTF-8 byte
    offsets), ``position``, ``position_length`` and/or ``hash`` (the BM25 term id). A
    single string gives one result, a list of strings a list of results.
    """
    single = isinstance(texts, str)
    batch_texts = [texts] if single else texts
    if not isinstance(batch_texts, (list, tuple)) or not all(isinstance(t, str) for t in batch_texts):
        raise ParamError(f"run_analyzer: texts must be a string or a list of strings, "
                         f"got {type(texts).__name__}")
    batch_texts = list(batch_texts)
    analyzer = get_analyzer(analyzer_params)
    batch = analyzer.analyze(batch_texts, detail=with_detail)
    bounds = batch.row_bounds().tolist()
    if with_detail or with_hash:
        results = [_detailed(text, batch, lo, hi, with_detail, with_hash)
                   for text, lo, hi in zip(batch_texts, bounds[:-1], bounds[1:])]
    else:
        results = [batch.tokens[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    return results[0] if single else results
