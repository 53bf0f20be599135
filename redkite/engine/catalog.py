"""Catalog metadata: databases, collections, partitions, indexes and aliases.

Everything here is plain data that round-trips through the manifest as JSON. Each
collection carries a ``schema_epoch`` bumped on every schema change, so requests built
against an older schema can be told apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParamError
from ..schema import CollectionSchema
from ..types import ConsistencyLevel, DataType, LoadState
from ..vectors import VectorLayout, layout_of

DEFAULT_DB = "default"
DEFAULT_PARTITION = "_default"
MAX_PARTITIONS = 1024
_DENSE_INDEX = (("FLAT", "AUTOINDEX"), ("L2", "IP", "COSINE"), "COSINE")
# vector type -> (index types, metrics, default metric); every index here searches exactly
INDEX_RULES = {
    DataType.FLOAT_VECTOR: _DENSE_INDEX,
    DataType.FLOAT16_VECTOR: _DENSE_INDEX,
    DataType.BFLOAT16_VECTOR: _DENSE_INDEX,
    DataType.INT8_VECTOR: _DENSE_INDEX,
    DataType.BINARY_VECTOR: (("BIN_FLAT", "AUTOINDEX"), ("HAMMING", "JACCARD"), "HAMMING"),
    DataType.SPARSE_FLOAT_VECTOR: (("SPARSE_INVERTED_INDEX", "AUTOINDEX"), ("IP",), "IP"),
}
# index type -> build parameter -> accepted values (kept in the index's params)
BUILD_PARAMS = {
    "SPARSE_INVERTED_INDEX": {"inverted_index_algo": ("DAAT_MAXSCORE", "DAAT_WAND",
                                                      "TAAT_NAIVE")},
}
_IGNORED_BUILD_KEYS = {"metric_type", "index_type", "mmap.enabled"}


@dataclass
class IndexMeta:
    index_name: str
    field_name: str
    index_type: str
    metric_type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"index_name": self.index_name, "field_name": self.field_name,
                "index_type": self.index_type, "metric_type": self.metric_type,
                "params": self.params}

    @classmethod
    def from_json(cls, raw: dict) -> IndexMeta:
        return cls(raw["index_name"], raw["field_name"], raw["index_type"], raw["metric_type"],
                   dict(raw.get("params", {})))


@dataclass
class CollectionMeta:
    collection_id: int
    db_name: str
    name: str
    schema: CollectionSchema
    partitions: dict[str, int]
    indexes: dict[str, IndexMeta] = field(default_factory=dict)
    load_state: LoadState = LoadState.NotLoad
    loaded_partitions: set[str] | None = None
    schema_epoch: int = 1
    consistency_level: ConsistencyLevel = ConsistencyLevel.Bounded
    num_shards: int = 1
    properties: dict[str, Any] = field(default_factory=dict)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    flushed_lsn: int = 0

    @property
    def primary(self):
        pk = self.schema.primary_field
        assert pk is not None
        return pk

    def vector_layouts(self) -> dict[str, VectorLayout]:
        return {f.name: layout_of(f) for f in self.schema.fields if f.is_vector}

    def index_for_field(self, field_name: str) -> IndexMeta | None:
        return next((i for i in self.indexes.values() if i.field_name == field_name), None)

    def partition_id(self, name: str) -> int | None:
        return self.partitions.get(name)

    def to_json(self) -> dict:
        return {
            "collection_id": self.collection_id, "db_name": self.db_name, "name": self.name,
            "schema": _schema_json(self.schema), "partitions": self.partitions,
            "indexes": [i.to_json() for i in self.indexes.values()],
            "load_state": int(self.load_state),
            "loaded_partitions": (None if self.loaded_partitions is None
                                  else sorted(self.loaded_partitions)),
            "schema_epoch": self.schema_epoch, "consistency_level": int(self.consistency_level),
            "num_shards": self.num_shards, "properties": self.properties,
            "created_ms": self.created_ms, "flushed_lsn": self.flushed_lsn,
        }

    @classmethod
    def from_json(cls, raw: dict) -> CollectionMeta:
        indexes = [IndexMeta.from_json(i) for i in raw.get("indexes", [])]
        loaded = raw.get("loaded_partitions")
        return cls(
            collection_id=int(raw["collection_id"]), db_name=raw["db_name"], name=raw["name"],
            schema=_schema_from_json(raw["schema"]),
            partitions={k: int(v) for k, v in raw["partitions"].items()},
            indexes={i.index_name: i for i in indexes},
            load_state=LoadState(raw.get("load_state", LoadState.NotLoad)),
            loaded_partitions=None if loaded is None else set(loaded),
            schema_epoch=int(raw.get("schema_epoch", 1)),
            consistency_level=ConsistencyLevel(raw.get("consistency_level", 2)),
            num_shards=int(raw.get("num_shards", 1)), properties=raw.get("properties", {}),
            created_ms=int(raw.get("created_ms", 0)), flushed_lsn=int(raw.get("flushed_lsn", 0)),
        )


def _schema_json(schema: CollectionSchema) -> dict:
    raw = schema.to_dict()
    for f in raw["fields"]:
        f["type"] = int(f["type"])
        if "element_type" in f:
            f["element_type"] = int(f["element_type"])
    for fn in raw["functions"]:
        fn["type"] = int(fn["type"])
    return raw


def _schema_from_json(raw: dict) -> CollectionSchema:
    schema = CollectionSchema.construct_from_dict(raw)
    for index, fs in enumerate(schema.fields):
        fs.field_id = int(raw["fields"][index].get("field_id", 100 + index))
    return schema


def normalize_index(field_name: str, field_dtype: DataType, index_type: str,
                    metric_type: str | None, params: dict[str, Any]) -> tuple[str, str, dict]:
    """Validate an index request for a vector field; return (index_type, metric, params)."""
    kind = (index_type or "AUTOINDEX").upper()
    rules = INDEX_RULES.get(field_dtype)
    if rules is None:
        raise ParamError(f"cannot create a vector index on field {field_name!r} of type "
                         f"{field_dtype.name}; scalar indexes are not supported yet")
    kinds, metrics, default_metric = rules
    if kind not in kinds:
        raise ParamError(f"index type {kind!r} is not supported on field {field_name!r} of "
                         f"type {field_dtype.name} by this version of redkite (supported: "
                         f"{', '.join(kinds)})")
    metric = (metric_type or default_metric).upper()
    if metric not in metrics:
        raise ParamError(f"metric type {metric_type!r} is not valid for field {field_name!r} "
                         f"of type {field_dtype.name} (use one of {', '.join(metrics)})")
    accepted = BUILD_PARAMS.get(kind, {})
    unknown = sorted(set(params) - _IGNORED_BUILD_KEYS - set(accepted))
    if unknown:
        raise ParamError(f"index {kind} does not take the build parameter(s) {unknown}"
                         + (f" (accepted: {sorted(accepted)})" if accepted else ""))
    build = {key: params[key] for key in accepted if key in params}
    for key, value in build.items():
        if value not in accepted[key]:
            raise ParamError(f"index {kind}: {key} must be one of {', '.join(accepted[key])}, "
                             f"got {value!r}")
    return kind, metric, build
