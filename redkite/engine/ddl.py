"""Catalog operations of the engine: databases, collections, partitions, indexes, aliases.

Each change holds the database lock and ends with a manifest write, so it is durable when
the call returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import (
    AliasNotExistException, CollectionNotExistException, DatabaseNotExistException,
    DescribeCollectionException,
    IndexNotExistException, MilvusException, ParamError, PartitionAlreadyExistException,
    PartitionNotExistException,
)
from ..schema import CollectionSchema, validate_name
from ..types import ConsistencyLevel, LoadState
from .catalog import (
    DEFAULT_DB, DEFAULT_PARTITION, MAX_PARTITIONS, CollectionMeta, IndexMeta, normalize_index,
)
from .alter import collection_properties, database_properties
from .text import validate_schema_analyzers
from .expr.scalar_index import forget_structures
from .index.scalar_rules import parse_json_path

COLLECTION_NOT_LOADED = 101


class DdlMixin:
    """Mixed into :class:`~redkite.engine.database.Database`."""

    # ---- lookups -------------------------------------------------------------------------
    def _db(self, db_name: str | None) -> str:
        name = db_name or DEFAULT_DB
        if name not in self.databases:
            raise DatabaseNotExistException(f"database not found[database={name}]")
        return name

    def _get(self, db_name: str | None, name: str,
             missing: type[CollectionNotExistException] = CollectionNotExistException):
        """The collection (names and aliases); ``missing`` is raised if there is none.

        Paths where pymilvus first describes the collection (describe, insert, upsert,
        get, delete) raise DescribeCollectionException, a CollectionNotExistException.
        """
        db = self._db(db_name)
        if not isinstance(name, str) or not name:
            raise ParamError(f"collection name must be a non-empty string, got {name!r}")
        target = self.aliases.get(db, {}).get(name, name)
        collection = self.collections.get((db, target))
        if collection is None:
            raise missing(f"collection not found[database={db}][collection={name}]")
        return collection

    def _partition_id(self, collection, partition_name: str) -> int:
        pid = collection.meta.partition_id(partition_name)
        if pid is None:
            raise PartitionNotExistException(
                f"partition not found[partition={partition_name}] in collection "
                f"{collection.meta.name!r}")
        return pid

    def _require_loaded(self, collection, partition_names: list[str] | None = None) -> None:
        meta = collection.meta
        if meta.load_state != LoadState.Loaded:
            raise MilvusException(COLLECTION_NOT_LOADED,
                                  f"collection not loaded[collection={meta.name}]: call "
                                  "load_collection first")
        if meta.loaded_partitions is not None:
            wanted = set(partition_names or meta.partitions)
            missing = sorted(wanted - meta.loaded_partitions)
            if missing:
                raise MilvusException(COLLECTION_NOT_LOADED,
                                      f"partition not loaded[partition={missing[0]}]")

    # ---- databases -----------------------------------------------------------------------
    def create_database(self, db_name: str, properties: dict | None = None) -> None:
        validate_name(db_name, "database")
        with self._lock:
            if db_name in self.databases:
                raise ParamError(f"database already exist: {db_name}")
            self.databases[db_name] = database_properties(properties) if properties else {}
            self._persist()

    def drop_database(self, db_name: str) -> None:
        with self._lock:
            if db_name == DEFAULT_DB:
                raise ParamError("can not drop default database")
            if db_name not in self.databases:
                return
            if any(db == db_name for db, _ in self.collections):
                raise ParamError(f"database {db_name!r} is not empty: drop its collections first")
            del self.databases[db_name]
            self.aliases.pop(db_name, None)
            self._persist()

    def list_databases(self) -> list[str]:
        return sorted(self.databases)

    def describe_database(self, db_name: str) -> dict:
        db = self._db(db_name)
        return {"name": db, **self.databases[db]}

    # ---- collections ---------------------------------------------------------------------
    def create_collection(self, db_name: str | None, name: str, schema: CollectionSchema,
                          index_params: list[dict] | None = None, load: bool = False,
                          consistency_level: Any = None, num_shards: int = 1,
                          properties: dict | None = None,
                          num_partitions: int | None = None) -> None:
        validate_name(name, "collection")
        db = self._db(db_name)
        schema = schema.copy()
        schema.verify()
        validate_schema_analyzers(schema)
        level = _consistency(consistency_level)
        props = collection_properties(properties) if properties else {}
        with self._lock:
            existing = self.collections.get((db, name))
            if existing is not None or name in self.aliases.get(db, {}):
                raise ParamError(f"collection already exists: {name!r} in database {db!r}")
            self._check_collection_quota(db)
            meta = CollectionMeta(self._allocate_object_id(), db, name, schema,
                                  {DEFAULT_PARTITION: self._allocate_object_id()},
                                  consistency_level=level, num_shards=int(num_shards or 1),
                                  properties=props)
            indexes = [self._index_meta(meta, p) for p in index_params or []]
            meta.indexes = {i.index_name: i for i in indexes}
            if load:
                self._check_loadable(meta)
                meta.load_state = LoadState.Loaded
            collection = self._new_collection(meta)
            meta.flushed_lsn = self._last_lsn
            self.collections[(db, name)] = collection
            self._persist()

    def drop_collection(self, db_name: str | None, name: str) -> None:
        with self._lock:
            db = self._db(db_name)
            collection = self.collections.pop((db, name), None)
            if collection is None:
                return
            self.aliases[db] = {a: t for a, t in self.aliases.get(db, {}).items() if t != name}
            self._persist()
            self._remove_unreferenced_files()

    def has_collection(self, db_name: str | None, name: str) -> bool:
        db = self._db(db_name)
        return (db, self.aliases.get(db, {}).get(name, name)) in self.collections

    def list_collections(self, db_name: str | None = None) -> list[str]:
        db = self._db(db_name)
        return sorted(name for d, name in self.collections if d == db)

    def describe_collection(self, db_name: str | None, name: str) -> dict:
        collection = self._get(db_name, name, DescribeCollectionException)
        meta = collection.meta
        aliases = sorted(a for a, t in self.aliases.get(meta.db_name, {}).items()
                         if t == meta.name)
        return {
            "collection_name": meta.name, "auto_id": meta.schema.auto_id,
            "num_shards": meta.num_shards, "description": meta.schema.description,
            "fields": [f.to_dict() for f in meta.schema.fields],
            "functions": meta.schema.describe_functions(), "aliases": aliases,
            "collection_id": meta.collection_id,
            "consistency_level": int(meta.consistency_level),
            "consistency_level_name": meta.consistency_level.name,
            "properties": dict(meta.properties), "num_partitions": len(meta.partitions),
            "enable_dynamic_field": meta.schema.enable_dynamic_field,
            "schema_version": meta.schema_epoch, "created_timestamp": meta.created_ms,
            "update_timestamp": meta.update_timestamp,
        }

    def schema_of(self, db_name: str | None, name: str) -> tuple[CollectionSchema, int]:
        meta = self._get(db_name, name).meta
        return meta.schema, meta.schema_epoch

    def rename_collection(self, db_name: str | None, old_name: str, new_name: str,
                          new_db_name: str | None = None) -> None:
        validate_name(new_name, "collection")
        with self._lock:
            db = self._db(db_name)
            target_db = self._db(new_db_name or db)
            collection = self.collections.get((db, old_name))
            if collection is None:
                raise CollectionNotExistException(
                    f"collection not found[database={db}][collection={old_name}]")
            if (target_db, new_name) in self.collections:
                raise ParamError(f"duplicated new collection name {new_name!r} in database "
                                 f"{target_db!r}")
            del self.collections[(db, old_name)]
            collection.meta.name, collection.meta.db_name = new_name, target_db
            self.collections[(target_db, new_name)] = collection
            self._persist()

    def get_collection_stats(self, db_name: str | None, name: str) -> dict:
        collection = self._get(db_name, name)
        return {"row_count": collection.store.live_rows()}

    def truncate_collection(self, db_name: str | None, name: str) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            collection.store.clear()
            collection.meta.flushed_lsn = self._last_lsn
            self._persist()
            self._remove_unreferenced_files()

    def flush(self, db_name: str | None, name: str) -> None:
        self._checkpoint_collection(self._get(db_name, name))

    def flush_all(self) -> None:
        """Seal and persist every collection of every database (Milvus's FlushAll)."""
        self._checkpoint_all()
        self._compactor.nudge()
        self._index_builder.nudge()

    def get_flush_all_state(self) -> bool:
        """Whether the last flush_all completed: always, as flush_all returns once done."""
        return True

    def compact(self, db_name: str | None, name: str) -> int:
        collection = self._get(db_name, name)
        return self._compactor.compact_now(collection)

    def get_compaction_state(self, job_id: int) -> str:
        return self._compactor.state(job_id)

    # ---- load / release ------------------------------------------------------------------
    def _check_loadable(self, meta: CollectionMeta) -> None:
        for field in meta.schema.fields:
            if field.is_vector and meta.index_for_field(field.name) is None:
                raise IndexNotExistException(
                    f"there is no vector index on field: [{field.name}], please create index "
                    "firstly: collection="
                    f"{meta.name}")

    def load_collection(self, db_name: str | None, name: str) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            self._check_loadable(collection.meta)
            collection.meta.load_state = LoadState.Loaded
            collection.meta.loaded_partitions = None
            self._persist()

    def release_collection(self, db_name: str | None, name: str) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            collection.meta.load_state = LoadState.NotLoad
            collection.meta.loaded_partitions = None
            self._persist()

    def load_partitions(self, db_name: str | None, name: str, partition_names: list[str]) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            for partition in partition_names:
                self._partition_id(collection, partition)
            self._check_loadable(collection.meta)
            meta = collection.meta
            if meta.load_state == LoadState.Loaded and meta.loaded_partitions is None:
                return
            meta.loaded_partitions = set(meta.loaded_partitions or ()) | set(partition_names)
            meta.load_state = LoadState.Loaded
            self._persist()

    def release_partitions(self, db_name: str | None, name: str,
                           partition_names: list[str]) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            for partition in partition_names:
                self._partition_id(collection, partition)
            loaded = set(meta.partitions) if meta.loaded_partitions is None \
                else set(meta.loaded_partitions)
            if meta.load_state != LoadState.Loaded:
                loaded = set()
            loaded -= set(partition_names)
            meta.loaded_partitions = loaded
            meta.load_state = LoadState.Loaded if loaded else LoadState.NotLoad
            if not loaded:
                meta.loaded_partitions = None
            self._persist()

    def get_load_state(self, db_name: str | None, name: str, partition_name: str = "") -> dict:
        if not self.has_collection(db_name, name):
            return {"state": LoadState.NotExist}
        collection = self._get(db_name, name)
        meta = collection.meta
        if partition_name:
            self._partition_id(collection, partition_name)
            loaded = meta.load_state == LoadState.Loaded and (
                meta.loaded_partitions is None or partition_name in meta.loaded_partitions)
            return {"state": LoadState.Loaded if loaded else LoadState.NotLoad}
        return {"state": meta.load_state}

    # ---- partitions ----------------------------------------------------------------------
    def create_partition(self, db_name: str | None, name: str, partition_name: str) -> None:
        validate_name(partition_name, "partition")
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            if partition_name in meta.partitions:
                raise PartitionAlreadyExistException(
                    f"partition already exists: {partition_name!r}")
            if len(meta.partitions) >= MAX_PARTITIONS:
                raise ParamError(f"a collection has at most {MAX_PARTITIONS} partitions")
            meta.partitions[partition_name] = self._allocate_object_id()
            self._persist()

    def drop_partition(self, db_name: str | None, name: str, partition_name: str) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            if partition_name == DEFAULT_PARTITION:
                raise ParamError("default partition cannot be deleted")
            pid = meta.partitions.get(partition_name)
            if pid is None:
                return
            if meta.load_state == LoadState.Loaded and (
                    meta.loaded_partitions is None or partition_name in meta.loaded_partitions):
                raise ParamError(f"partition {partition_name!r} is loaded: release it before "
                                 "dropping it")
            del meta.partitions[partition_name]
            collection.store.drop_partition(pid)
            self._persist()
            self._remove_unreferenced_files()

    def has_partition(self, db_name: str | None, name: str, partition_name: str) -> bool:
        return partition_name in self._get(db_name, name).meta.partitions

    def list_partitions(self, db_name: str | None, name: str) -> list[str]:
        return list(self._get(db_name, name).meta.partitions)

    def get_partition_stats(self, db_name: str | None, name: str, partition_name: str) -> dict:
        collection = self._get(db_name, name)
        pid = self._partition_id(collection, partition_name)
        return {"row_count": collection.store.live_rows({pid})}

    # ---- indexes -------------------------------------------------------------------------
    def _index_meta(self, meta: CollectionMeta, spec: dict) -> IndexMeta:
        field_name = spec.get("field_name")
        field = meta.schema.field(field_name) if isinstance(field_name, str) else None
        if field is None:
            raise ParamError(f"cannot create index on non-existent field: {field_name!r}")
        params = dict(spec.get("params") or {})
        metric = _function_output_metric(field, spec.get("metric_type")
                                         or params.get("metric_type"))
        kind, metric, build = normalize_index(field.name, field.dtype,
                                              spec.get("index_type") or "", metric,
                                              params, dim=field.params.get("dim"),
                                              element_type=field.element_type,
                                              is_primary=field.is_primary)
        index_name = spec.get("index_name") or field.name
        validate_name(index_name, "index")
        return IndexMeta(index_name, field.name, kind, metric, build)

    def create_index(self, db_name: str | None, name: str, spec: dict) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            index = self._index_meta(meta, spec)
            if _add_index(meta, index):
                collection.store.set_scalar_indexes(meta.scalar_index_types())
                self._persist()
        if meta.schema.field(index.field_name).is_vector:
            # Like Milvus's create_index: return once the sealed data is indexed (the
            # builder works in the background; growing rows are searched exactly meanwhile).
            self._index_builder.wait(collection)

    def drop_index(self, db_name: str | None, name: str, index_name: str) -> None:
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            if index_name not in meta.indexes:
                return
            if meta.load_state == LoadState.Loaded:
                raise ParamError(f"index {index_name!r} cannot be dropped while collection "
                                 f"{meta.name!r} is loaded: release it first")
            field_name = meta.indexes.pop(index_name).field_name
            collection.store.detach_indexes(field_name)
            scalar_indexes = meta.scalar_index_types()
            collection.store.set_scalar_indexes(scalar_indexes)
            for view in collection.store.snapshot():
                forget_structures(view.cache, scalar_indexes)
            self._persist()
            self._remove_unreferenced_files()

    def list_indexes(self, db_name: str | None, name: str, field_name: str = "") -> list[str]:
        meta = self._get(db_name, name).meta
        return [i.index_name for i in meta.indexes.values()
                if not field_name or i.field_name == field_name]

    def describe_index(self, db_name: str | None, name: str, index_name: str) -> dict | None:
        """The index as Milvus describes it: type, metric (vector indexes only), build
        parameters, field and index names, and row counters."""
        collection = self._get(db_name, name)
        index = collection.meta.indexes.get(index_name)
        if index is None:
            return None
        if not collection.meta.schema.field(index.field_name).is_vector:
            return {"index_type": index.index_type, **index.params, **index.properties,
                    "field_name": index.field_name, "index_name": index.index_name,
                    **self._scalar_index_progress(collection)}
        return {"index_type": index.index_type, "metric_type": index.metric_type,
                **index.params, **index.properties, "field_name": index.field_name, "index_name": index.index_name,
                **self._index_builder.progress(collection, index)}

    def _scalar_index_progress(self, collection) -> dict:
        """A scalar index serves every sealed row (its structure is built on first use);
        growing rows are scanned, as Milvus scans a growing segment."""
        with self._lock:
            store = collection.store
            sealed = sum(int(np.count_nonzero(~s.deleted[: s.num_rows])) for s in store.sealed)
            total = store.live_rows()
        return {"total_rows": total, "indexed_rows": sealed, "pending_index_rows": 0,
                "state": "Finished"}

    # ---- aliases -------------------------------------------------------------------------
    def create_alias(self, db_name: str | None, name: str, alias: str) -> None:
        validate_name(alias, "alias")
        with self._lock:
            db = self._db(db_name)
            target = self._get(db, name).meta.name
            table = self.aliases.setdefault(db, {})
            if alias in table or (db, alias) in self.collections:
                raise ParamError(f"alias or collection named {alias!r} already exists")
            table[alias] = target
            self._persist()

    def alter_alias(self, db_name: str | None, name: str, alias: str) -> None:
        with self._lock:
            db = self._db(db_name)
            target = self._get(db, name).meta.name
            table = self.aliases.setdefault(db, {})
            if alias not in table:
                raise AliasNotExistException(f"alias not found[database={db}][alias={alias}]")
            table[alias] = target
            self._persist()

    def drop_alias(self, db_name: str | None, alias: str) -> None:
        with self._lock:
            db = self._db(db_name)
            if self.aliases.get(db, {}).pop(alias, None) is not None:
                self._persist()

    def describe_alias(self, db_name: str | None, alias: str) -> dict:
        db = self._db(db_name)
        target = self.aliases.get(db, {}).get(alias)
        if target is None:
            raise AliasNotExistException(f"alias not found[database={db}][alias={alias}]")
        return {"alias": alias, "collection_name": target, "db_name": db}

    def list_aliases(self, db_name: str | None, name: str = "") -> dict:
        db = self._db(db_name)
        if name:
            self._get(db, name)
        aliases = sorted(a for a, t in self.aliases.get(db, {}).items() if not name or t == name)
        return {"aliases": aliases, "collection_name": name, "db_name": db}


def _function_output_metric(field, metric: Any) -> Any:
    """The metric of an index on ``field``: BM25 for a BM25 function's output (the default
    there, and the only one allowed); BM25 on any other field is refused, as in Milvus."""
    given = metric.upper() if isinstance(metric, str) and metric else None
    if field.is_function_output:
        if given not in (None, "BM25"):
            raise ParamError(f"index metric type of BM25 function output field "
                             f"{field.name!r} must be BM25, got {metric}")
        return "BM25"
    if given == "BM25":
        raise ParamError(f"only BM25 Function output field support BM25 metric type: field "
                         f"{field.name!r} is not the output of a BM25 function")
    return metric


def _add_index(meta: CollectionMeta, index: IndexMeta) -> bool:
    """Add ``index`` to ``meta``; False if the very same index exists already.

    A field has at most one index, except a JSON field: one per ``json_path``.
    """
    target = _index_target(index)
    current = next((i for i in meta.indexes.values() if _index_target(i) == target), None)
    if current is not None:
        if (current.index_name, current.index_type, current.metric_type, current.params) == (
                index.index_name, index.index_type, index.metric_type, index.params):
            return False
        what = f"json_path {current.params['json_path']!r} of field" if (
            "json_path" in current.params) else "field"
        raise ParamError(f"at most one distinct index is allowed per field: {what} "
                         f"{index.field_name!r} already has index {current.index_name!r} "
                         f"({_index_summary(current)}); drop it first")
    if index.index_name in meta.indexes:
        raise ParamError(f"index name {index.index_name!r} is already used (by field "
                         f"{meta.indexes[index.index_name].field_name!r})")
    meta.indexes[index.index_name] = index
    return True


def _index_target(index: IndexMeta) -> tuple:
    """What an index covers: its field, and for a JSON index the keys of its path."""
    path = index.params.get("json_path")
    keys = None if path is None else parse_json_path(index.field_name, path)
    return index.field_name, keys


def _index_summary(index: IndexMeta) -> str:
    return ", ".join(filter(None, (index.index_type, index.metric_type)))


def _consistency(level: Any) -> ConsistencyLevel:
    if level is None or level == "":
        return ConsistencyLevel.Bounded
    if isinstance(level, str):
        try:
            return ConsistencyLevel[level]
        except KeyError:
            pass
    elif isinstance(level, int) and not isinstance(level, bool):
        try:
            return ConsistencyLevel(level)
        except ValueError:
            pass
    raise ParamError(f"invalid consistency_level {level!r}: use one of "
                     f"{[c.name for c in ConsistencyLevel]}")
