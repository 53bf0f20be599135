"""The rules of vector indexes: which index type fits which vector, metric and parameters.

Everything here is data: :data:`INDEX_RULES` maps each index type to the vector kinds it
applies to, its metrics, and the build and search parameters it takes (name, type, range,
default). Two functions apply the table:

* :func:`normalize_index` checks a ``create_index`` request and returns the index type, the
  metric and the build parameters with their defaults filled in;
* :func:`normalize_search_params` checks the ``params`` of a search on that index and returns
  them with defaults filled in (``ef`` defaults to ``max(limit, 16)`` as in Milvus).

Ranges and defaults follow Milvus 2.6 (the knowhere configs and the Milvus index pages).
Strings for numbers (``"16"``) are accepted as Milvus accepts them; a parameter that is out
of range, of the wrong type, or unknown to the index type raises :class:`ParamError` naming
the index type, the parameter and what is allowed. The one tolerance, as in Milvus: a search
parameter that belongs to *another* index type (``nprobe`` sent to an HNSW index, which
generic client code does) is dropped; a key no index knows is rejected.

Vector kinds: ``float`` (FLOAT_VECTOR, FLOAT16_VECTOR, BFLOAT16_VECTOR, all searched as
float32), ``int8`` (INT8_VECTOR), ``binary`` (BINARY_VECTOR) and ``sparse``
(SPARSE_FLOAT_VECTOR). ``SCANN`` is served by faiss IVF + 4-bit PQ fast scan with an exact
re-ranking step over the raw vectors (faiss has no ScaNN; the anisotropic quantizer of ScaNN
is not reproduced). AUTOINDEX picks a concrete index per vector kind (:data:`AUTOINDEX_CHOICE`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ParamError
from ...types import DataType

INT_MAX = 2**31 - 1
FLOAT_KINDS = {DataType.FLOAT_VECTOR, DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR}
KIND_OF_DTYPE = {
    **{dtype: "float" for dtype in FLOAT_KINDS},
    DataType.INT8_VECTOR: "int8",
    DataType.BINARY_VECTOR: "binary",
    DataType.SPARSE_FLOAT_VECTOR: "sparse",
}
DEFAULT_METRIC = {"float": "COSINE", "int8": "COSINE", "binary": "HAMMING", "sparse": "IP"}
DENSE_METRICS = ("L2", "IP", "COSINE")
BINARY_METRICS = ("HAMMING", "JACCARD")
SPARSE_METRICS = ("IP", "BM25")
# Precision order of quantized representations (a refine step must be more precise).
PRECISION_RANK = {"SQ6": 1, "SQ8": 2, "FP16": 3, "BF16": 3, "FP32": 4}
EF_MIN_DEFAULT = 16
EF_MAX = 32768
TRUE_STRINGS = {"true": True, "false": False}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type (int, float, bool, str), range or choices, and default.

    ``low``/``high`` bound the value (``high_open`` makes the upper bound exclusive);
    ``default`` of ``None`` means the parameter is optional with no value filled in.
    ``at_least_limit`` marks search parameters that must be >= the search ``limit``.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    default: Any = None
    choices: tuple[str, ...] = ()
    high_open: bool = False
    required: bool = False
    at_least_limit: bool = False

    def describe(self) -> str:
        if self.choices:
            return f"one of {list(self.choices)}"
        if self.kind == "bool":
            return "true or false"
        high = "inf" if self.high is None else _fmt(self.high)
        closing = ")" if self.high_open or self.high is None else "]"
        low = "limit" if self.at_least_limit else _fmt(self.low)
        return f"{self.kind} in [{low}, {high}{closing}"


@dataclass(frozen=True)
class IndexRule:
    """What one index type accepts."""

    name: str
    kinds: tuple[str, ...]
    metrics: tuple[str, ...]
    build: tuple[ParamSpec, ...] = ()
    search: tuple[ParamSpec, ...] = ()
    note: str = ""
    build_by_name: dict = field(init=False, repr=False, compare=False)
    search_by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "build_by_name", {p.name: p for p in self.build})
        object.__setattr__(self, "search_by_name", {p.name: p for p in self.search})


def _fmt(value: float | None) -> str:
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else str(value)


NLIST = ParamSpec("nlist", "int", 1, 65536, default=128)
NPROBE = ParamSpec("nprobe", "int", 1, 65536, default=8)
HNSW_M = ParamSpec("M", "int", 2, 2048, default=30)
EF_CONSTRUCTION = ParamSpec("efConstruction", "int", 1, INT_MAX, default=360)
EF = ParamSpec("ef", "int", 1, EF_MAX, at_least_limit=True)
REFINE = ParamSpec("refine", "bool", default=False)
REFINE_TYPE = ParamSpec("refine_type", "str", choices=("SQ6", "SQ8", "FP16", "BF16", "FP32"))
REFINE_K = ParamSpec("refine_k", "float", 1, None, default=1.0)
DROP_RATIO_BUILD = ParamSpec("drop_ratio_build", "float", 0, 1, default=0.0, high_open=True)
DROP_RATIO_SEARCH = ParamSpec("drop_ratio_search", "float", 0, 1, default=0.0, high_open=True)
DIM_MAX_SCORE_RATIO = ParamSpec("dim_max_score_ratio", "float", 0.5, 1.3, default=1.05)
INVERTED_INDEX_ALGO = ParamSpec("inverted_index_algo", "str", default="DAAT_MAXSCORE",
                                choices=("DAAT_MAXSCORE", "DAAT_WAND", "TAAT_NAIVE"))
BM25_K1 = ParamSpec("bm25_k1", "float", 0, 3, default=1.2)
BM25_B = ParamSpec("bm25_b", "float", 0, 1, default=0.75)
# Milvus fills bm25_avgdl (default 100) into a BM25 index's params; searches use the
# collection's actual mean document length, so the value is only recorded.
BM25_AVGDL = ParamSpec("bm25_avgdl", "float", 0, None, default=100.0)
BM25_PARAMS = ("bm25_k1", "bm25_b", "bm25_avgdl")
RBQ_BITS_QUERY = ParamSpec("rbq_bits_query", "int", 0, 8, default=0)
LEVEL = ParamSpec("level", "int", 1, 10, default=1)
SPARSE_BUILD = (DROP_RATIO_BUILD, INVERTED_INDEX_ALGO, BM25_K1, BM25_B, BM25_AVGDL)
SPARSE_SEARCH = (DROP_RATIO_SEARCH, DIM_MAX_SCORE_RATIO)

INDEX_RULES: dict[str, IndexRule] = {rule.name: rule for rule in (
    # Milvus serves INT8_VECTOR with the HNSW family only; exact FLAT costs nothing extra.
    IndexRule("FLAT", ("float", "int8"), DENSE_METRICS, note="exact search"),
    IndexRule("IVF_FLAT", ("float",), DENSE_METRICS, (NLIST,), (NPROBE,)),
    IndexRule("IVF_SQ8", ("float",), DENSE_METRICS, (NLIST,), (NPROBE,)),
    IndexRule("IVF_PQ", ("float",), DENSE_METRICS, (
        NLIST, ParamSpec("m", "int", 1, 65536, required=True),
        ParamSpec("nbits", "int", 1, 24, default=8)), (NPROBE,)),
    IndexRule("IVF_RABITQ", ("float",), DENSE_METRICS, (NLIST, REFINE, REFINE_TYPE),
              (NPROBE, RBQ_BITS_QUERY, REFINE_K)),
    IndexRule("SCANN", ("float",), DENSE_METRICS, (
        NLIST, ParamSpec("with_raw_data", "bool", default=True),
        ParamSpec("sub_dim", "int", 1, 65536, default=2)), (
        NPROBE, ParamSpec("reorder_k", "int", 1, INT_MAX, at_least_limit=True)),
        note="faiss IVF + 4-bit PQ fast scan, re-ranked over the raw vectors"),
    IndexRule("HNSW", ("float", "int8"), DENSE_METRICS, (HNSW_M, EF_CONSTRUCTION), (EF,)),
    IndexRule("HNSW_SQ", ("float", "int8"), DENSE_METRICS, (
        HNSW_M, EF_CONSTRUCTION,
        ParamSpec("sq_type", "str", default="SQ8", choices=("SQ6", "SQ8", "BF16", "FP16")),
        REFINE, REFINE_TYPE), (EF, REFINE_K)),
    IndexRule("HNSW_PQ", ("float", "int8"), DENSE_METRICS, (
        HNSW_M, EF_CONSTRUCTION, ParamSpec("m", "int", 1, 65536, default=32),
        ParamSpec("nbits", "int", 1, 16, default=8), REFINE, REFINE_TYPE), (EF, REFINE_K)),
    IndexRule("BIN_FLAT", ("binary",), BINARY_METRICS, note="exact search"),
    IndexRule("BIN_IVF_FLAT", ("binary",), BINARY_METRICS, (NLIST,), (NPROBE,)),
    IndexRule("SPARSE_INVERTED_INDEX", ("sparse",), SPARSE_METRICS, SPARSE_BUILD,
              SPARSE_SEARCH),
    IndexRule("SPARSE_WAND", ("sparse",), SPARSE_METRICS, SPARSE_BUILD, SPARSE_SEARCH,
              note="same exact term-at-a-time accumulation as SPARSE_INVERTED_INDEX"),
    IndexRule("AUTOINDEX", ("float", "int8", "binary", "sparse"),
              DENSE_METRICS + BINARY_METRICS + SPARSE_METRICS, (),
              (LEVEL, EF, DROP_RATIO_SEARCH)),
)}

# What AUTOINDEX builds, per vector kind (Milvus's autoIndex.params.build for dense vectors).
AUTOINDEX_CHOICE: dict[str, tuple[str, dict]] = {
    "float": ("HNSW", {"M": 18, "efConstruction": 240}),
    "int8": ("HNSW", {"M": 18, "efConstruction": 240}),
    "binary": ("BIN_FLAT", {}),
    "sparse": ("SPARSE_INVERTED_INDEX", {"drop_ratio_build": 0.0,
                                         "inverted_index_algo": "DAAT_MAXSCORE"}),
}
# ef an AUTOINDEX search uses at each ``level`` (1..10), before raising it to ``limit``.
AUTOINDEX_LEVEL_EF = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048)

REJECTED_TYPES = {
    "DISKANN": "DISKANN is not supported by redkite (an in-memory engine); use HNSW, "
               "HNSW_SQ or IVF_RABITQ for large collections",
    "GPU_IVF_FLAT": "GPU indexes are not supported by redkite",
    "GPU_IVF_PQ": "GPU indexes are not supported by redkite",
    "GPU_CAGRA": "GPU indexes are not supported by redkite",
    "GPU_BRUTE_FORCE": "GPU indexes are not supported by redkite",
}
# Keys of a search request that are not index parameters: validated here only for their
# type (``radius``/``range_filter``) or passed through for the caller to interpret.
SEARCH_MODE_KEYS = ("radius", "range_filter")
REQUEST_KEYS = frozenset({
    "metric_type", "offset", "topk", "round_decimal", "ignore_growing", "page_retain_order",
    "group_by_field", "group_size", "strict_group_size", "hints", "anns_field",
    "analyzer_name", "iterator", "collection_id", "search_iter_v2", "search_iter_batch_size",
    "search_iter_last_bound", "search_iter_id",
})
# Search parameters of index types redkite does not serve (named as such when rejected).
OTHER_MILVUS_SEARCH_KEYS = frozenset({"search_list", "search_width", "itopk_size",
                                      "max_iterations", "min_iterations", "team_size",
                                      "refine_ratio", "beamwidth", "filter_threshold"})
BUILD_PASSTHROUGH = ("mmap.enabled",)
# Every search parameter name of every rule (named as such when sent to another type).
_FOREIGN_SEARCH_KEYS = frozenset(p.name for r in INDEX_RULES.values() for p in r.search)
SEARCH_ALIASES = {"rbq_query_bits": "rbq_bits_query"}


def vector_kind(field_name: str, dtype: DataType) -> str:
    """``float``/``int8``/``binary``/``sparse`` for a vector field type."""
    try:
        return KIND_OF_DTYPE[DataType(dtype)]
    except (KeyError, ValueError):
        name = getattr(dtype, "name", dtype)
        raise ParamError(f"field {field_name!r} of type {name} is not a vector field: a "
                         f"vector index cannot be built on it") from None


def rule_for(index_type: str) -> IndexRule:
    """The rule of ``index_type`` (upper case), or ParamError naming the supported types."""
    name = str(index_type).upper()
    if name in REJECTED_TYPES:
        raise ParamError(REJECTED_TYPES[name])
    try:
        return INDEX_RULES[name]
    except KeyError:
        raise ParamError(f"invalid index type: {index_type!r}, supported: "
                         f"{sorted(INDEX_RULES)}") from None


def normalize_index(field_name: str, dtype: DataType, index_type: str | None,
                    metric_type: str | None, params: Mapping[str, Any] | None, *,
                    dim: int | None = None) -> tuple[str, str, dict]:
    """Validate a create_index request; return (INDEX_TYPE, METRIC, build params).

    ``params`` may carry ``index_type``/``metric_type`` (as pymilvus sends them; they must
    agree with the arguments) and ``mmap.enabled`` (kept, as a bool). Missing build
    parameters get their defaults. ``dim`` enables the checks that depend on the dimension
    (PQ ``m`` and SCANN ``sub_dim`` must divide it). AUTOINDEX takes nothing but a metric.
    """
    params = dict(params or {})
    index_type = merge_key("index_type", index_type, params.pop("index_type", None))
    metric_type = merge_key("metric_type", metric_type, params.pop("metric_type", None))
    kind = vector_kind(field_name, dtype)
    rule = rule_for(index_type or "AUTOINDEX")
    if kind not in rule.kinds:
        raise ParamError(f"index type {rule.name} does not apply to {DataType(dtype).name} "
                         f"field {field_name!r}; index types for it: {index_types_for(kind)}")
    if rule.name == "AUTOINDEX" and params:
        raise ParamError(f"only metric type can be passed when use AutoIndex (field "
                         f"{field_name!r} got {sorted(params)})")
    return check_build_params(rule.name, kind, metric_type, params, dim=dim)


def check_build_params(index_type: str, kind: str, metric_type: str | None,
                       params: Mapping[str, Any] | None, *,
                       dim: int | None = None) -> tuple[str, str, dict]:
    """The build parameters of ``index_type`` on ``kind`` vectors, checked and completed.

    Idempotent: checking its own output returns it unchanged.
    """
    rule = rule_for(index_type)
    if kind not in rule.kinds:
        raise ParamError(f"index type {rule.name} does not apply to {kind} vectors; index "
                         f"types for them: {index_types_for(kind)}")
    metric = _check_metric(rule, kind, metric_type.upper() if metric_type else None)
    params = dict(params or {})
    out: dict[str, Any] = {}
    for key in BUILD_PASSTHROUGH:
        if key in params:
            out[key] = _convert(rule, ParamSpec(key, "bool"), params.pop(key))
    for key, value in params.items():
        spec = rule.build_by_name.get(key)
        if spec is None:
            raise ParamError(f"index type {rule.name} does not take parameter {key!r}; "
                             f"parameters: {_names(rule.build)}")
        out[key] = _convert(rule, spec, value)
    _fill_build_defaults(rule, metric, out)
    _check_build_relations(rule, metric, out, dim)
    return rule.name, metric, out


def index_types_for(kind: str) -> list[str]:
    return [name for name, rule in INDEX_RULES.items() if kind in rule.kinds]


def metrics_for(index_type: str, kind: str) -> tuple[str, ...]:
    """The metrics ``index_type`` supports on vectors of ``kind``."""
    rule = rule_for(index_type)
    if rule.name == "AUTOINDEX":
        return {"float": DENSE_METRICS, "int8": DENSE_METRICS, "binary": BINARY_METRICS,
                "sparse": SPARSE_METRICS}[kind]
    return rule.metrics


def resolve_autoindex(kind: str, metric: str) -> tuple[str, dict]:
    """The concrete index type and build params AUTOINDEX uses for ``kind`` and ``metric``."""
    index_type, params = AUTOINDEX_CHOICE[kind]
    params = dict(params)
    if kind == "sparse" and metric == "BM25":
        params.update(bm25_k1=BM25_K1.default, bm25_b=BM25_B.default,
                      bm25_avgdl=BM25_AVGDL.default)
    return index_type, params


def autoindex_ef(level: int, limit: int) -> int:
    """The HNSW ``ef`` an AUTOINDEX search at ``level`` uses for top-``limit``."""
    return max(int(limit), AUTOINDEX_LEVEL_EF[int(level) - 1])


def normalize_search_params(index_type: str, metric: str, params: Mapping[str, Any] | None,
                            *, limit: int) -> dict:
    """Validate the ``params`` of a search on an index; return them with defaults filled.

    ``params`` is the flattened dict pymilvus sends (index keys plus request keys such as
    ``metric_type``, ``offset``, ``radius``, ``range_filter``). Index keys are checked
    against the rule of ``index_type``; ``ef``/``reorder_k`` must be >= ``limit``;
    ``metric_type``, if present, must equal ``metric``; ``radius``/``range_filter`` must be
    numbers; the other request keys are returned unchanged for the caller. Normalizing an
    already normalized dict returns it unchanged.
    """
    rule = rule_for(index_type)
    metric = str(metric).upper()
    limit = _check_limit(limit)
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        key = SEARCH_ALIASES.get(key, key)
        spec = rule.search_by_name.get(key)
        if spec is not None:
            out[key] = _convert(rule, spec, value, limit=limit)
        elif key == "metric_type":
            out[key] = _check_search_metric(rule, metric, value)
        elif key in SEARCH_MODE_KEYS:
            out[key] = _convert(rule, ParamSpec(key, "float", None, None), value)
        elif key in REQUEST_KEYS:
            out[key] = value
        else:
            # Milvus drops the parameters of other index types silently; redkite says so.
            foreign = " (it belongs to other index types)" if (
                key in _FOREIGN_SEARCH_KEYS or key in OTHER_MILVUS_SEARCH_KEYS) else ""
            raise ParamError(f"index type {rule.name} does not take search parameter "
                             f"{key!r}{foreign}; search parameters: {_names(rule.search)}")
    for spec in rule.search:
        if spec.name not in out and spec.default is not None:
            out[spec.name] = spec.default
    if "ef" in rule.search_by_name and "ef" not in out and rule.name != "AUTOINDEX":
        out["ef"] = max(limit, EF_MIN_DEFAULT)
    if rule.name == "SCANN" and "reorder_k" not in out:
        out["reorder_k"] = limit
    return out


def merge_key(name: str, given: str | None, in_params: str | None) -> str | None:
    """``name`` given as an argument and/or inside params: they must agree; upper case."""
    given = given or None
    in_params = in_params or None
    if given and in_params and str(given).upper() != str(in_params).upper():
        raise ParamError(f"{name} given twice with different values: {given!r} and "
                         f"{in_params!r} in params")
    value = given or in_params
    if value is not None and not isinstance(value, str):
        raise ParamError(f"{name} must be a string, got {value!r}")
    return value.upper() if value else None


def _check_metric(rule: IndexRule, kind: str, metric_type: str | None) -> str:
    metric = metric_type or DEFAULT_METRIC[kind]
    allowed = metrics_for(rule.name, kind)
    if metric not in allowed:
        raise ParamError(f"metric type {metric} not found or not supported for index type "
                         f"{rule.name} on {kind} vectors, supported: {list(allowed)}")
    return metric


def _check_search_metric(rule: IndexRule, metric: str, value: Any) -> str:
    if not isinstance(value, str) or value.upper() != metric:
        raise ParamError(f"metric type not match: the {rule.name} index uses {metric}, "
                         f"the search asked for {value!r}")
    return metric


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ParamError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _names(specs: tuple[ParamSpec, ...]) -> list[str]:
    return [spec.name for spec in specs] or ["(none)"]


def _convert(rule: IndexRule, spec: ParamSpec, value: Any, *, limit: int | None = None) -> Any:
    """``value`` as the type of ``spec``, range-checked; ParamError naming everything."""
    converted = _coerce(spec.kind, value)
    if converted is None:
        raise ParamError(_bad(rule, spec, value, limit))
    if spec.choices:
        converted = converted.upper()
        if converted not in spec.choices:
            raise ParamError(_bad(rule, spec, value, limit))
        return converted
    if spec.kind in ("int", "float"):
        low = limit if (spec.at_least_limit and limit is not None) else spec.low
        too_low = low is not None and converted < low
        too_high = spec.high is not None and (converted >= spec.high if spec.high_open
                                              else converted > spec.high)
        if too_low or too_high:
            raise ParamError(_bad(rule, spec, value, limit))
    return converted


def _bad(rule: IndexRule, spec: ParamSpec, value: Any, limit: int | None) -> str:
    text = spec.describe()
    if spec.at_least_limit and limit is not None:
        text = text.replace("[limit,", f"[limit={limit},")
    return (f"invalid value {value!r} for parameter {spec.name!r} of index type "
            f"{rule.name}: must be {text}")


def _coerce(kind: str, value: Any) -> Any:
    """``value`` converted to ``kind`` or None. Numeric strings count; bools are not numbers."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        return TRUE_STRINGS.get(value.lower()) if isinstance(value, str) else None
    if kind == "str":
        return value if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = int(value) if kind == "int" else float(value)
        except ValueError:
            return None
    if kind == "int":
        return int(value) if _is_integral(value) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _is_integral(value: Any) -> bool:
    return isinstance(value, (int, np.integer))


def _fill_build_defaults(rule: IndexRule, metric: str, out: dict) -> None:
    for spec in rule.build:
        if spec.name in BM25_PARAMS:
            if metric != "BM25":
                if spec.name in out:
                    raise ParamError(f"parameter {spec.name!r} of index type {rule.name} "
                                     f"applies only to metric BM25, not {metric}")
                continue
        if spec.name in out:
            continue
        if spec.required:
            raise ParamError(f"index type {rule.name} requires parameter {spec.name!r} "
                             f"({spec.describe()})")
        if spec.default is not None and spec.name != "refine":
            out[spec.name] = spec.default
    if "refine" in rule.build_by_name:
        out.setdefault("refine", False)
        if out["refine"]:
            out.setdefault("refine_type", "FP32")


def _check_build_relations(rule: IndexRule, metric: str, out: dict, dim: int | None) -> None:
    if "refine_type" in out:
        if not out.get("refine"):
            raise ParamError(f"parameter 'refine_type' of index type {rule.name} needs "
                             f"refine=true")
        base = out.get("sq_type", "SQ8" if rule.name == "HNSW_SQ" else None)
        if base is not None and PRECISION_RANK[out["refine_type"]] <= PRECISION_RANK[base]:
            raise ParamError(f"refine_type {out['refine_type']} of index type {rule.name} "
                             f"must be more precise than sq_type {base}")
    if dim is None:
        return
    for key in ("m", "sub_dim"):
        if key in out and dim % out[key] != 0:
            raise ParamError(f"parameter {key!r} of index type {rule.name} must divide the "
                             f"vector dimension: dim {dim} is not a multiple of {out[key]}")
