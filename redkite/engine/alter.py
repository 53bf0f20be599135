"""Schema and property changes of existing objects: collection, field, index and database
properties, fields added or dropped, and the function DDL Milvus has.

The rules are Milvus 2.6 / 3.0's (see docs/client.md, "Changing a collection"):

* properties are string key/value pairs. Keys Milvus gives a meaning to are validated and
  either honoured (``collection.autocompaction.enabled``, ``dynamicfield.enabled``,
  ``database.max.collections``, ``mmap.enabled``) or rejected when redkite cannot honour
  them (a TTL, replicas, resource groups, rate limits, ...); any other key is stored as
  the user's own metadata, as Milvus does;
* mmap settings change only while the collection is released;
* an added field is a nullable scalar; rows written before read its default value, else
  null. A schema change seals the growing rows first, so every file holds one schema and
  old files are read through :func:`~redkite.engine.storage.store.conform_table`, never
  rewritten.

Each change validates everything before it touches the catalog (a rejected call leaves
the database as it was), holds the database lock, and ends with a manifest write.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..columnar import arrow_schema
from ..errors import FieldNotExistException, IndexNotExistException, MilvusException, ParamError
from ..schema import DYNAMIC_FIELD, MAX_ARRAY_CAPACITY, MAX_FIELDS, MAX_VARCHAR_LENGTH, \
    CollectionSchema, FieldSchema, Function
from ..types import DataType, LoadState
from .text import validate_schema_analyzers

MMAP_KEY = "mmap.enabled"
AUTOCOMPACTION_KEY = "collection.autocompaction.enabled"
DYNAMIC_KEY = "dynamicfield.enabled"
ISOLATION_KEY = "partitionkey.isolation"
MAX_COLLECTIONS_KEY = "database.max.collections"
COLLECTION_BOOL_KEYS = (MMAP_KEY, AUTOCOMPACTION_KEY, DYNAMIC_KEY, ISOLATION_KEY)
# Milvus's namespaces: a key in one of them that redkite does not honour is refused, so a
# setting that would change behaviour on Milvus never passes silently.
COLLECTION_NAMESPACES = ("collection.", "mmap.", "lazyload.", "partitionkey.",
                         "dynamicfield.", "warmup", "allow_insert_auto_id", "ttl_field",
                         "timezone")
DATABASE_NAMESPACES = ("database.", "timezone")
INDEX_KEYS = (MMAP_KEY,)


# ---- value checks ------------------------------------------------------------------------
def _bool_text(key: str, value: Any) -> str:
    """Milvus parses booleans with Go's strconv.ParseBool; stored as "true" / "false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return "true"
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return "false"
    raise ParamError(f"invalid value {value!r} for property {key!r}: expected a boolean")


def _int_value(key: str, value: Any, low: int, high: int | None = None) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ParamError(f"invalid value {value!r} for {key!r}: expected an integer {bound}")
    return number


def _property_map(properties: Any, what: str) -> dict[str, Any]:
    if not isinstance(properties, dict) or not properties:
        raise ParamError(f"{what}: properties must be a non-empty dict, got {properties!r}")
    for key in properties:
        if not isinstance(key, str) or not key:
            raise ParamError(f"{what}: property keys must be non-empty strings, got {key!r}")
    return properties


def _key_list(keys: Any, what: str) -> list[str]:
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)) or not keys or not all(
            isinstance(k, str) and k for k in keys):
        raise ParamError(f"{what}: property_keys must be a non-empty list of names, got "
                         f"{keys!r}")
    return list(keys)


def _unsupported(key: str, scope: str) -> ParamError:
    return ParamError(f"{scope} property {key!r} is not supported by redkite (it keeps no "
                      "row timestamps, replicas, resource groups or rate limits); other "
                      "keys outside Milvus's namespaces are stored as-is")


def collection_properties(properties: Any) -> dict[str, str]:
    """Milvus-known collection keys validated and normalized; other keys kept as text."""
    out: dict[str, str] = {}
    for key, value in _property_map(properties, "collection properties").items():
        if key in COLLECTION_BOOL_KEYS:
            out[key] = _bool_text(key, value)
        elif key.startswith(COLLECTION_NAMESPACES):
            raise _unsupported(key, "collection")
        else:
            out[key] = value if isinstance(value, str) else str(value)
    return out


def database_properties(properties: Any) -> dict[str, str]:
    """``database.max.collections`` (an integer >= 0, honoured by create_collection);
    other ``database.*`` keys refused; any other key kept as text."""
    out: dict[str, str] = {}
    for key, value in _property_map(properties, "database properties").items():
        if key == MAX_COLLECTIONS_KEY:
            out[key] = str(_int_value(key, value, 0))
        elif key.startswith(DATABASE_NAMESPACES):
            raise _unsupported(key, "database")
        else:
            out[key] = value if isinstance(value, str) else str(value)
    return out


def column_defaults(schema: CollectionSchema) -> dict[str, Any]:
    """What rows written before a column existed read in it: a field's default value
    (fields without one read null) and ``{}`` for a dynamic field enabled later."""
    out: dict[str, Any] = {f.name: f.default_value for f in schema.fields if f.has_default}
    if schema.enable_dynamic_field:
        out[DYNAMIC_FIELD] = "{}"
    return out


class AlterMixin:
    """Mixed into :class:`~redkite.engine.database.Database`."""

    # ---- helpers -------------------------------------------------------------------------
    @staticmethod
    def _require_released(meta, keys: Iterable[str], what: str) -> None:
        """Milvus changes mmap settings only on a released collection."""
        if meta.load_state == LoadState.Loaded and any(k in (MMAP_KEY, "mmap_enabled")
                                                       for k in keys):
            raise MilvusException(
                101, f"can not alter mmap properties of {what} while collection "
                     f"{meta.name!r} is loaded: release it first")

    def _change_schema(self, collection, schema: CollectionSchema) -> None:
        """Seal the growing rows, adopt ``schema`` (the old one stays valid for readers
        that hold it), bump the epoch and persist (caller holds the lock)."""
        meta, store = collection.meta, collection.store
        if arrow_schema(schema) != store.arrow_schema:
            store.seal_all()
            meta.flushed_lsn = self._last_lsn
            layouts = {n: layout for n, layout in store.layouts.items()
                       if schema.field(n) is not None}
            store.change_schema(arrow_schema(schema), layouts, column_defaults(schema),
                                meta.dropped_columns)
        meta.schema = schema
        meta.schema_changed()
        self._persist()
        self._index_builder.nudge()

    # ---- collection properties ------------------------------------------------------------
    def alter_collection_properties(self, db_name: str | None, name: str,
                                    properties: dict) -> None:
        """Set collection properties (see :func:`collection_properties`); describe_collection
        shows them. ``dynamicfield.enabled=true`` turns the dynamic field on (it cannot be
        turned off); ``partitionkey.isolation`` needs a partition key field."""
        props = collection_properties(properties)
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            self._require_released(meta, props, "a collection")
            if props.get(ISOLATION_KEY) == "true" and not any(
                    f.is_partition_key for f in meta.schema.fields):
                raise ParamError(f"partition key isolation needs a partition key field: "
                                 f"collection {meta.name!r} has none")
            dynamic = props.get(DYNAMIC_KEY)
            if dynamic == "false" and meta.schema.enable_dynamic_field:
                raise ParamError(f"the dynamic field of collection {meta.name!r} cannot be "
                                 "disabled once enabled")
            meta.properties.update(props)
            if dynamic == "true" and not meta.schema.enable_dynamic_field:
                schema = meta.schema.copy()
                schema.enable_dynamic_field = True
                self._change_schema(collection, schema)
            else:
                self._persist()

    def drop_collection_properties(self, db_name: str | None, name: str,
                                   property_keys: list[str]) -> None:
        """Remove collection properties; keys that are not set are ignored (as Milvus)."""
        keys = _key_list(property_keys, "drop_collection_properties")
        with self._lock:
            meta = self._get(db_name, name).meta
            self._require_released(meta, keys, "a collection")
            if DYNAMIC_KEY in keys and meta.schema.enable_dynamic_field:
                raise ParamError(f"the dynamic field of collection {meta.name!r} cannot be "
                                 f"disabled once enabled: {DYNAMIC_KEY!r} cannot be dropped")
            if any(k in meta.properties for k in keys):
                for key in keys:
                    meta.properties.pop(key, None)
                self._persist()

    # ---- fields --------------------------------------------------------------------------
    def alter_collection_field(self, db_name: str | None, name: str, field_name: str,
                               field_params: dict) -> None:
        """Change a field's ``max_length`` (VARCHAR, ARRAY of VARCHAR), ``max_capacity``
        (ARRAY) — only upwards, so stored rows stay valid — or ``mmap.enabled``. The
        primary key cannot be altered."""
        params = _property_map(field_params, "alter_collection_field")
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            field = self._field(meta, field_name)
            if field.is_primary:
                raise ParamError(f"the primary key field {field.name!r} cannot be altered")
            self._require_released(meta, params, f"field {field.name!r}")
            changes = dict(_field_param(field, key, value) for key, value in params.items())
            schema = meta.schema.copy()
            schema.field(field.name).params.update(changes)
            self._change_schema(collection, schema)

    def _field(self, meta, field_name: Any) -> FieldSchema:
        field = meta.schema.field(field_name) if isinstance(field_name, str) else None
        if field is None:
            raise FieldNotExistException(f"field not found[field={field_name}] in collection "
                                         f"{meta.name!r}")
        return field

    def add_collection_field(self, db_name: str | None, name: str,
                             field: FieldSchema) -> None:
        """Add a nullable scalar field. Rows already stored read its default value (null
        without one); new rows may fill it."""
        if not isinstance(field, FieldSchema):
            raise ParamError(f"add_collection_field expects a FieldSchema, got {field!r}")
        added = _checked_new_field(field)
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            if meta.schema.field(added.name) is not None:
                raise ParamError(f"field {added.name!r} already exists in collection "
                                 f"{meta.name!r}")
            if len(meta.schema.fields) >= MAX_FIELDS:
                raise ParamError(f"a collection has at most {MAX_FIELDS} fields: "
                                 f"{meta.name!r} has {len(meta.schema.fields)}")
            schema = meta.schema.copy()
            added.field_id = max(f.field_id for f in schema.fields) + 1
            schema.fields.append(added)
            validate_schema_analyzers(schema)
            self._change_schema(collection, schema)

    def drop_collection_field(self, db_name: str | None, name: str, field_name: str) -> None:
        """Drop a field (Milvus 3.0). Not the primary key, a partition or clustering key,
        a function's input or output, the last vector field, nor a field with an index
        (drop the index first). Stored files keep the column; it is no longer read."""
        with self._lock:
            collection = self._get(db_name, name)
            meta = collection.meta
            field = self._field(meta, field_name)
            _check_droppable(meta, field)
            schema = meta.schema.copy()
            schema.fields.remove(schema.field(field.name))
            meta.dropped_columns[field.name] = self._allocate_object_id()
            self._change_schema(collection, schema)

    # ---- functions -----------------------------------------------------------------------
    def add_collection_function(self, db_name: str | None, name: str,
                                function: Function) -> None:
        """Milvus adds only embedding functions to an existing collection (a BM25 function
        is declared at creation); redkite's only function type is BM25, so this checks the
        request and refuses it."""
        if not isinstance(function, Function):
            raise ParamError(f"add_collection_function expects a Function, got {function!r}")
        with self._lock:
            meta = self._get(db_name, name).meta
            if any(fn.name == function.name for fn in meta.schema.functions):
                raise ParamError(f"function {function.name!r} already exists in collection "
                                 f"{meta.name!r}")
        raise _function_change_refused("add", function)

    def alter_collection_function(self, db_name: str | None, name: str, function_name: str,
                                  function: Function) -> None:
        """Refused: Milvus does not alter a BM25 function, redkite's only function type."""
        if not isinstance(function, Function):
            raise ParamError(f"alter_collection_function expects a Function, got {function!r}")
        with self._lock:
            current = self._function(self._get(db_name, name).meta, function_name)
        raise _function_change_refused("alter", current)

    def drop_collection_function(self, db_name: str | None, name: str,
                                 function_name: str) -> None:
        """Refused: Milvus does not drop a BM25 function, redkite's only function type."""
        with self._lock:
            current = self._function(self._get(db_name, name).meta, function_name)
        raise _function_change_refused("drop", current)

    @staticmethod
    def _function(meta, function_name: Any) -> Function:
        found = next((fn for fn in meta.schema.functions if fn.name == function_name), None)
        if found is None:
            raise ParamError(f"function {function_name!r} not found in collection "
                             f"{meta.name!r}")
        return found

    # ---- index properties ----------------------------------------------------------------
    def alter_index_properties(self, db_name: str | None, name: str, index_name: str,
                               properties: dict) -> None:
        """Set ``mmap.enabled`` on an index (the only index property Milvus lets one
        change); describe_index shows it (a bool). The collection must be released."""
        props = _property_map(properties, "alter_index_properties")
        unknown = sorted(set(props) - set(INDEX_KEYS))
        if unknown:
            raise ParamError(f"{unknown[0]} is not a configurable index param (configurable: "
                             f"{list(INDEX_KEYS)})")
        values = {key: _bool_text(key, value) == "true" for key, value in props.items()}
        with self._lock:
            index = self._index(db_name, name, index_name, values)
            index.properties.update(values)
            self._persist()

    def drop_index_properties(self, db_name: str | None, name: str, index_name: str,
                              property_keys: list[str]) -> None:
        """Remove index properties (``mmap.enabled``); keys not set are ignored."""
        keys = _key_list(property_keys, "drop_index_properties")
        unknown = sorted(set(keys) - set(INDEX_KEYS))
        if unknown:
            raise ParamError(f"{unknown[0]} is not a configurable index param (configurable: "
                             f"{list(INDEX_KEYS)})")
        with self._lock:
            index = self._index(db_name, name, index_name, keys)
            if any(k in index.properties for k in keys):
                for key in keys:
                    index.properties.pop(key, None)
                self._persist()

    def _index(self, db_name: str | None, name: str, index_name: Any, keys: Iterable[str]):
        meta = self._get(db_name, name).meta
        index = meta.indexes.get(index_name) if isinstance(index_name, str) else None
        if index is None:
            raise IndexNotExistException(f"index not found[collection={meta.name}]"
                                         f"[index={index_name}]")
        self._require_released(meta, keys, f"index {index_name!r}")
        return index

    # ---- database properties -------------------------------------------------------------
    def alter_database_properties(self, db_name: str, properties: dict) -> None:
        """Set database properties (see :func:`database_properties`); describe_database
        shows them."""
        props = database_properties(properties)
        with self._lock:
            db = self._db(db_name)
            self.databases[db].update(props)
            self._persist()

    def drop_database_properties(self, db_name: str, property_keys: list[str]) -> None:
        """Remove database properties; keys that are not set are ignored."""
        keys = _key_list(property_keys, "drop_database_properties")
        with self._lock:
            db = self._db(db_name)
            if any(k in self.databases[db] for k in keys):
                for key in keys:
                    self.databases[db].pop(key, None)
                self._persist()

    def _check_collection_quota(self, db: str) -> None:
        """``database.max.collections``: creating one more collection is refused."""
        limit = self.databases[db].get(MAX_COLLECTIONS_KEY)
        if limit is None:
            return
        count = sum(1 for d, _ in self.collections if d == db)
        if count >= int(limit):
            raise MilvusException(
                65535, f"exceeded the limit number of collections[dbName={db}]"
                       f"[limit={limit}]: {MAX_COLLECTIONS_KEY} is {limit}")


def _field_param(field: FieldSchema, key: str, value: Any) -> tuple[str, Any]:
    """One alter_collection_field parameter checked against the field: the field
    parameter it sets and its value (``mmap.enabled`` is the field's ``mmap_enabled``)."""
    if key in (MMAP_KEY, "mmap_enabled"):
        return "mmap_enabled", _bool_text(key, value) == "true"
    where = f"field {field.name!r}"
    if key == "max_length":
        element = field.element_type if field.dtype == DataType.ARRAY else field.dtype
        if element != DataType.VARCHAR:
            raise ParamError(f"{where}: max_length applies to VARCHAR and ARRAY of VARCHAR "
                             f"fields, not {field.dtype.name}")
        limit = MAX_VARCHAR_LENGTH
    elif key == "max_capacity":
        if field.dtype != DataType.ARRAY:
            raise ParamError(f"{where}: max_capacity applies to ARRAY fields, not "
                             f"{field.dtype.name}")
        limit = MAX_ARRAY_CAPACITY
    else:
        raise ParamError(f"{where}: {key!r} cannot be altered (alterable: max_length, "
                         f"max_capacity, {MMAP_KEY})")
    number = _int_value(f"{where} {key}", value, 1, limit)
    current = int(field.params[key])
    if number < current:
        raise ParamError(f"{where}: {key} can only grow ({current} -> {number} would make "
                         "stored values invalid)")
    return key, number


def _checked_new_field(field: FieldSchema) -> FieldSchema:
    """A copy of ``field`` checked for add_collection_field (Milvus's rules: nullable
    scalar, no key role, no function output)."""
    added = FieldSchema.construct_from_dict(field.to_dict() | {"field_id": 0})
    where = f"add_collection_field: field {added.name!r}"
    if added.is_vector:
        raise ParamError(f"{where}: vector fields cannot be added to an existing collection "
                         "(nullable vector fields are not supported by redkite)")
    roles = [flag for flag in ("is_primary", "auto_id", "is_partition_key", "is_clustering_key",
                               "is_dynamic", "is_function_output") if getattr(added, flag)]
    if roles:
        raise ParamError(f"{where}: an added field cannot be {roles[0]}")
    if not added.nullable:
        raise ParamError(f"{where}: added field must be nullable (nullable=True), so rows "
                         "already stored can hold no value")
    if added.name == DYNAMIC_FIELD:
        raise ParamError(f"{where}: {DYNAMIC_FIELD} is reserved for the dynamic field "
                         f"(use the {DYNAMIC_KEY} collection property)")
    added.verify()
    return added


def _check_droppable(meta, field: FieldSchema) -> None:
    where = f"field {field.name!r} of collection {meta.name!r}"
    for flag, role in (("is_primary", "the primary key"), ("is_partition_key",
                       "the partition key"), ("is_clustering_key", "the clustering key")):
        if getattr(field, flag):
            raise ParamError(f"{where} cannot be dropped: it is {role}")
    for function in meta.schema.functions:
        if field.name in function.input_field_names + function.output_field_names:
            raise ParamError(f"{where} cannot be dropped: function {function.name!r} uses it")
    if field.is_vector and sum(f.is_vector for f in meta.schema.fields) == 1:
        raise ParamError(f"{where} cannot be dropped: a collection needs a vector field")
    index = next((i for i in meta.indexes.values() if i.field_name == field.name), None)
    if index is not None:
        raise ParamError(f"{where} cannot be dropped while it has index "
                         f"{index.index_name!r}: drop the index first")


def _function_change_refused(action: str, function: Function) -> ParamError:
    kind = function.function_type.name
    if kind == "BM25":
        return ParamError(f"{action} collection function {function.name!r}: Milvus does not "
                          f"support to {action} a BM25 function on an existing collection "
                          "(declare it in the schema at creation)")
    return ParamError(f"{action} collection function {function.name!r}: function type {kind} "
                      "is not supported by this version of redkite (only BM25)")
