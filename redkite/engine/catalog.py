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
from ..types import (
    FLOATING_TYPES, INTEGER_TYPES, VECTOR_TYPES, ConsistencyLevel, DataType, LoadState,
)
from ..vectors import VectorLayout, layout_of
from .index import registry as index_registry
from .index import scalar_rules

DEFAULT_DB = "default"
DEFAULT_PARTITION = "_default"
MAX_PARTITIONS = 1024
SCALAR_COLUMN_TYPES = frozenset({DataType.BOOL, *INTEGER_TYPES, *FLOATING_TYPES,
                                 DataType.VARCHAR})


@dataclass
class IndexMeta:
    index_name: str
    field_name: str
    index_type: str
    metric_type: str
    params: dict[str, Any] = field(default_factory=dict)
    # Settings altered after the build (alter_index_properties), e.g. "mmap.enabled":
    # shown by describe_index, not part of the index definition.
    properties: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"index_name": self.index_name, "field_name": self.field_name,
                "index_type": self.index_type, "metric_type": self.metric_type,
                "params": self.params, "properties": self.properties}

    @classmethod
    def from_json(cls, raw: dict) -> IndexMeta:
        return cls(raw["index_name"], raw["field_name"], raw["index_type"], raw["metric_type"],
                   dict(raw.get("params", {})), dict(raw.get("properties", {})))


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
    updated_ms: int = 0  # when the schema last changed (0: at creation)
    # Dropped fields' columns: name -> first object id allocated after the drop (segments
    # with a smaller id hold a stale column of that name; see CollectionStore).
    dropped_columns: dict[str, int] = field(default_factory=dict)

    def schema_changed(self) -> None:
        """Bump the schema epoch and the update time (strictly later than before, so a
        request stamped with the previous schema is told apart)."""
        self.schema_epoch += 1
        self.updated_ms = max(int(time.time() * 1000), self.update_timestamp + 1)

    @property
    def update_timestamp(self) -> int:
        return self.updated_ms or self.created_ms

    @property
    def primary(self):
        pk = self.schema.primary_field
        assert pk is not None
        return pk

    def vector_layouts(self) -> dict[str, VectorLayout]:
        return {f.name: layout_of(f) for f in self.schema.fields if f.is_vector}

    def index_for_field(self, field_name: str) -> IndexMeta | None:
        return next((i for i in self.indexes.values() if i.field_name == field_name), None)

    def scalar_index_types(self) -> dict:
        """The scalar indexes the filter evaluator may use: field name -> serving index
        type for BOOL, number and VARCHAR fields, and (JSON field, path keys) -> cast type
        for JSON path indexes cast to DOUBLE or VARCHAR. ARRAY indexes are not here."""
        out: dict = {}
        for index in self.indexes.values():
            field = self.schema.field(index.field_name)
            if field is None:
                continue
            if field.dtype in SCALAR_COLUMN_TYPES:
                out[field.name] = scalar_rules.served_type(index.index_type, field.dtype)
            elif field.dtype == DataType.JSON and index.params.get("json_cast_type") in (
                    "DOUBLE", "VARCHAR"):
                path = scalar_rules.parse_json_path(field.name, index.params["json_path"])
                if path:
                    out[(field.name, path)] = index.params["json_cast_type"]
        return out

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
            "updated_ms": self.updated_ms, "dropped_columns": self.dropped_columns,
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
            updated_ms=int(raw.get("updated_ms", 0)),
            dropped_columns={k: int(v) for k, v in raw.get("dropped_columns", {}).items()},
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
                    metric_type: str | None, params: dict[str, Any],
                    dim: int | None = None, *, element_type: DataType | None = None,
                    is_primary: bool = False) -> tuple[str, str, dict]:
    """Validate an index request; return (index_type, metric, params).

    Vector fields follow :mod:`redkite.engine.index.registry` (index types per vector
    type, metrics, build parameters and their ranges); scalar fields follow
    :mod:`redkite.engine.index.scalar_rules` and get an empty metric.
    """
    if field_dtype in VECTOR_TYPES:
        requested = index_type or params.get("index_type")
        if scalar_rules.is_scalar_index_type(requested):
            kind = index_registry.vector_kind(field_name, field_dtype)
            raise ParamError(f"index type {str(requested).upper()} is a scalar index and does "
                             f"not apply to {DataType(field_dtype).name} field {field_name!r}; "
                             f"vector index types for it: {index_registry.index_types_for(kind)}")
        return index_registry.normalize_index(field_name, field_dtype, index_type or None,
                                              metric_type, params, dim=dim)
    kind, build = scalar_rules.normalize_scalar_index(
        field_name, field_dtype, index_type or None, metric_type, params,
        element_type=element_type, is_primary=is_primary)
    return kind, "", build
