"""The rows of one collection: growing segments per partition plus sealed segments.

:class:`CollectionStore` applies inserts and deletes (the database calls it with its
write lock held, after the WAL append), seals growing segments into files, and hands
readers a snapshot: the list of segment views at one instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pyarrow as pa

from ...errors import StorageCorruptedError
from ...vectors import VectorLayout
from ..index.factory import load_index
from .pk_index import GrowingPkLookup, SortedPkLookup, keep_last_per_key, key_values
from .segments import (
    BaseSegment, FileRef, GrowingSegment, SealedSegment, SegmentView, open_table_file,
    pack_mask, unpack_mask, verify_file, write_bytes_file, write_table_file,
)

SEAL_ROWS = 1 << 17
SEAL_BYTES = 128 << 20


@dataclass
class SegmentIndex:
    """A vector index built over one sealed segment's field, and its file.

    ``signature`` identifies the index definition it was built for (type, metric, build
    parameters): a segment index whose signature no longer matches is rebuilt. Its file is
    checked at open like segment files (size and XXH3 digest).
    """

    field_name: str
    index_name: str
    signature: str
    file: FileRef
    index: Any = None  # the loaded VectorIndex

    @property
    def file_name(self) -> str:
        return self.file.name

    def to_json(self) -> dict:
        return {"field_name": self.field_name, "index_name": self.index_name,
                "signature": self.signature, "file": self.file.to_json()}

    @classmethod
    def from_json(cls, raw: dict) -> SegmentIndex:
        return cls(raw["field_name"], raw["index_name"], raw["signature"],
                   FileRef.from_json(raw["file"]))


@dataclass
class SegmentRecord:
    """A sealed segment as the manifest lists it."""

    segment_id: int
    partition_id: int
    rows: int
    data_file: FileRef
    delete_file: FileRef | None = None
    indexes: list[SegmentIndex] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"segment_id": self.segment_id, "partition_id": self.partition_id,
                "rows": self.rows, "data_file": self.data_file.to_json(),
                "delete_file": None if self.delete_file is None else self.delete_file.to_json(),
                "indexes": [i.to_json() for i in self.indexes]}

    @classmethod
    def from_json(cls, raw: dict) -> SegmentRecord:
        delete = raw.get("delete_file")
        return cls(int(raw["segment_id"]), int(raw["partition_id"]), int(raw["rows"]),
                   FileRef.from_json(raw["data_file"]),
                   None if delete is None else FileRef.from_json(delete),
                   [SegmentIndex.from_json(i) for i in raw.get("indexes", [])])


class CollectionStore:
    """Segments of one collection. ``sealed`` and ``growing`` are replaced, never mutated,
    so a reader without the lock always sees a consistent pair of containers."""

    def __init__(self, directory: Path, arrow_schema: pa.Schema, pk_name: str,
                 layouts: dict[str, VectorLayout], new_segment_id: Callable[[], int]) -> None:
        self.directory = directory
        self.arrow_schema = arrow_schema
        self.pk_name = pk_name
        self.layouts = layouts
        self._new_segment_id = new_segment_id
        # (sealed segments, growing segment per partition), replaced as one object.
        self._state: tuple[list[SealedSegment], dict[int, GrowingSegment]] = ([], {})
        # What readers see: one view per segment, rebuilt by publish() after each change.
        self._published: tuple[SegmentView, ...] = ()
        # Primary-key lookups per segment id (see pk_index); sealed ones built on demand.
        self._pk_lookups: dict[int, GrowingPkLookup | SortedPkLookup] = {}
        # Vector indexes of sealed segments: segment id -> field name -> SegmentIndex.
        # Replaced, never mutated, like the segment containers.
        self._indexes: dict[int, dict[str, SegmentIndex]] = {}
        # Scalar indexes served on sealed segments only: field name -> index type and
        # (JSON field, path) -> cast type (see CollectionMeta.scalar_index_types).
        self.scalar_indexes: dict = {}
        # What a sealed file written before a column existed reads in it (a field added
        # later: its default value, else null), by column name.
        self.column_defaults: dict[str, Any] = {}
        # Columns of dropped fields: name -> first segment id written after the drop. A
        # segment older than that holds a stale column of that name (not to be read, even
        # if a new field takes the name).
        self.dropped_columns: dict[str, int] = {}

    def publish(self) -> None:
        """Make the current rows, delete masks and indexes visible to readers, at once."""
        sealed, growing = self._state
        views = [self._view(segment, self.scalar_indexes) for segment in sealed]
        views.extend(self._view(segment, {}) for segment in growing.values())
        self._published = tuple(views)

    def _view(self, segment: BaseSegment, scalar_indexes: dict) -> SegmentView:
        view = segment.view()
        view.indexes = self._indexes.get(segment.segment_id, {})
        view.scalar_indexes = scalar_indexes
        return view

    def set_scalar_indexes(self, scalar_indexes: dict) -> None:
        """Declare the scalar indexes sealed views offer (field name -> index type,
        (JSON field, path) -> cast type)."""
        self.scalar_indexes = dict(scalar_indexes)
        self.publish()

    @property
    def sealed(self) -> list[SealedSegment]:
        return self._state[0]

    @sealed.setter
    def sealed(self, segments: list[SealedSegment]) -> None:
        self._state = (segments, self._state[1])

    @property
    def growing(self) -> dict[int, GrowingSegment]:
        return self._state[1]

    @growing.setter
    def growing(self, segments: dict[int, GrowingSegment]) -> None:
        self._state = (self._state[0], segments)

    # ---- loading -------------------------------------------------------------------------
    def load_sealed(self, records: Iterable[SegmentRecord]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for record in records:
            table = self.open_table(record.data_file, record.segment_id)
            if table.num_rows != record.rows:
                raise StorageCorruptedError(
                    f"segment {record.segment_id} holds {table.num_rows} rows, the manifest "
                    f"records {record.rows}")
            deleted = None
            if record.delete_file is not None:
                path = verify_file(self.directory, record.delete_file)
                deleted = unpack_mask(path.read_bytes(), record.rows)
            self.sealed = [*self.sealed, SealedSegment(
                record.segment_id, record.partition_id, table, self.layouts,
                record.data_file, record.delete_file, deleted)]
            if record.indexes:
                self._indexes[record.segment_id] = {
                    i.field_name: self._load_index(i) for i in record.indexes}
        self.publish()

    def _load_index(self, entry: SegmentIndex) -> SegmentIndex:
        path = verify_file(self.directory, entry.file)  # the whole file, by its digest
        entry.index = load_index(path, mmap=True, verify=False)
        return entry

    def segment_records(self) -> list[SegmentRecord]:
        return [SegmentRecord(s.segment_id, s.partition_id, s.num_rows, s.data_file,
                              s.delete_file,
                              list(self._indexes.get(s.segment_id, {}).values()))
                for s in self.sealed]

    # ---- segment indexes (caller holds the database write lock) --------------------------
    def segment_index(self, segment_id: int, field_name: str) -> SegmentIndex | None:
        return self._indexes.get(segment_id, {}).get(field_name)

    def attach_index(self, segment_id: int, entry: SegmentIndex) -> None:
        current = self._indexes.get(segment_id, {})
        self._indexes = {**self._indexes, segment_id: {**current, entry.field_name: entry}}
        self.publish()

    def detach_indexes(self, field_name: str) -> None:
        """Forget every segment index on ``field_name`` (its files go with the cleanup)."""
        self._indexes = {
            segment_id: {f: i for f, i in by_field.items() if f != field_name}
            for segment_id, by_field in self._indexes.items()}
        self.publish()

    def indexed_rows(self, field_name: str) -> int:
        return sum(s.num_rows for s in self.sealed
                   if field_name in self._indexes.get(s.segment_id, {}))

    # ---- writes (caller holds the database write lock) -----------------------------------
    def insert(self, partition_id: int, batch: pa.RecordBatch, publish: bool = True) -> None:
        """Add rows; a key that already has a live row replaces it (the last write wins)."""
        batch = keep_last_per_key(batch, self.pk_name)
        keys = key_values(batch.column(self.pk_name))
        self._delete_keys(keys, None)
        segment = self.growing.get(partition_id)
        if segment is None:
            segment = GrowingSegment(self._new_segment_id(), partition_id, self.arrow_schema,
                                     self.layouts, reserve_rows=SEAL_ROWS)
            self._pk_lookups[segment.segment_id] = GrowingPkLookup()
            self.growing = {**self.growing, partition_id: segment}
        first_position = segment.num_rows
        segment.append(batch)
        self._pk_lookups[segment.segment_id].add(keys, first_position)
        if publish:
            self.publish()

    def delete_pks(self, pks: pa.Array, partition_id: int | None = None,
                   publish: bool = True) -> int:
        """Tombstone every live row whose primary key is in ``pks``; return the count."""
        removed = self._delete_keys(key_values(pks), partition_id) if len(pks) else 0
        if publish:
            self.publish()
        return removed

    def _delete_keys(self, keys: np.ndarray, partition_id: int | None) -> int:
        removed = 0
        for segment in self._all_segments():
            if partition_id is not None and segment.partition_id != partition_id:
                continue
            positions = self._pk_lookup(segment).positions(keys)
            if len(positions):
                removed += segment.mark_deleted(positions)
        return removed

    def _pk_lookup(self, segment: BaseSegment) -> GrowingPkLookup | SortedPkLookup:
        lookup = self._pk_lookups.get(segment.segment_id)
        if lookup is None:
            lookup = SortedPkLookup(segment.view().column(self.pk_name))
            self._pk_lookups[segment.segment_id] = lookup
        return lookup

    def _forget_gone_segments(self) -> None:
        """Drop lookups and indexes of segments that are gone (or went from growing to sealed)."""
        growing = {g.segment_id for g in self.growing.values()}
        sealed = {s.segment_id for s in self.sealed}
        self._pk_lookups = {
            segment_id: lookup for segment_id, lookup in self._pk_lookups.items()
            if segment_id in growing or (segment_id in sealed
                                          and isinstance(lookup, SortedPkLookup))}
        if any(segment_id not in sealed for segment_id in self._indexes):
            self._indexes = {segment_id: by_field for segment_id, by_field
                             in self._indexes.items() if segment_id in sealed}

    def drop_partition(self, partition_id: int) -> None:
        self.growing = {p: g for p, g in self.growing.items() if p != partition_id}
        self.sealed = [s for s in self.sealed if s.partition_id != partition_id]
        self._forget_gone_segments()
        self.publish()

    def clear(self) -> None:
        self._state = ([], {})
        self._forget_gone_segments()
        self.publish()

    def needs_seal(self) -> bool:
        return any(g.num_rows >= SEAL_ROWS or g.nbytes >= SEAL_BYTES
                   for g in self.growing.values())

    def seal_all(self) -> None:
        """Write every growing segment and every changed delete mask to files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for partition_id, growing in self.growing.items():
            table = growing.to_table()
            ref = write_table_file(self.directory, f"{growing.segment_id}.arrow", table)
            # The growing segment's mask object is shared with readers' views: keep using it.
            deleted = growing.deleted[: growing.num_rows]
            sealed = SealedSegment(growing.segment_id, partition_id,
                                   self.open_table(ref, growing.segment_id), self.layouts,
                                   ref, None, deleted)
            sealed.deletes_dirty = bool(deleted.any())
            self._state = ([*self.sealed, sealed],
                           {p: g for p, g in self.growing.items() if p != partition_id})
        for segment in self.sealed:
            if segment.deletes_dirty:
                generation = 1 if segment.delete_file is None else _generation(
                    segment.delete_file) + 1
                segment.delete_file = write_bytes_file(
                    self.directory, f"{segment.segment_id}.del.{generation}",
                    pack_mask(segment.deleted))
                segment.deletes_dirty = False
        self._forget_gone_segments()
        self.publish()

    def replace_sealed(self, sealed: list[SealedSegment]) -> None:
        self.sealed = sealed
        self._forget_gone_segments()
        self.publish()

    # ---- schema changes --------------------------------------------------------------------
    def open_table(self, ref: FileRef, segment_id: int) -> pa.Table:
        """A sealed file's rows in the current schema (see :func:`conform_table`)."""
        return self._conform(open_table_file(self.directory, ref), segment_id)

    def _conform(self, table: pa.Table, segment_id: int) -> pa.Table:
        stale = {name for name, first in self.dropped_columns.items() if segment_id < first}
        return conform_table(table, self.arrow_schema, self.column_defaults, stale)

    def change_schema(self, arrow_schema: pa.Schema, layouts: dict[str, VectorLayout],
                      column_defaults: dict[str, Any], dropped_columns: dict[str, int]
                      ) -> None:
        """Adopt a new column set (caller holds the lock, growing segments sealed).

        Files are not rewritten: each sealed segment is replaced by one reading the same
        file through :func:`conform_table`. A compaction job copying the old segments
        finds its sources gone and drops its output.
        """
        if any(g.num_rows for g in self.growing.values()):
            raise StorageCorruptedError("change_schema needs the growing segments sealed")
        self.arrow_schema = arrow_schema
        self.layouts = layouts
        self.column_defaults = dict(column_defaults)
        self.dropped_columns = dict(dropped_columns)
        self.growing = {}
        renewed = []
        for old in self.sealed:
            segment = SealedSegment(old.segment_id, old.partition_id,
                                    self._conform(old.table, old.segment_id),
                                    layouts, old.data_file, old.delete_file, old.deleted)
            segment.deletes_dirty = old.deletes_dirty
            renewed.append(segment)
        self.sealed = renewed
        self._forget_gone_segments()
        self.publish()

    # ---- reads ---------------------------------------------------------------------------
    def _all_segments(self) -> list[BaseSegment]:
        sealed, growing = self._state
        return [*sealed, *growing.values()]

    def snapshot(self, partition_ids: set[int] | None = None) -> list[SegmentView]:
        views = list(self._published)
        if partition_ids is not None:
            views = [v for v in views if v.partition_id in partition_ids]
        return [v for v in views if v.num_rows]

    def live_rows(self, partition_ids: set[int] | None = None) -> int:
        return sum(int(np.count_nonzero(v.alive())) for v in self.snapshot(partition_ids))

    def referenced_files(self) -> set[str]:
        names = set()
        for segment in self.sealed:
            names.add(segment.data_file.name)
            if segment.delete_file is not None:
                names.add(segment.delete_file.name)
            names.update(i.file_name for i in self._indexes.get(segment.segment_id, {}).values())
        return names


def conform_table(table: pa.Table, schema: pa.Schema, defaults: dict[str, Any],
                  stale: set[str] | frozenset = frozenset()) -> pa.Table:
    """``table`` with exactly the columns of ``schema``: a column the table lacks (a field
    added after it was written) or holds only ``stale`` (a dropped field's, whose name a
    new field took) reads ``defaults[name]`` (null when absent) in every row; a column
    the schema lacks (a dropped field) is left out. Columns are shared, not copied."""
    if not stale and table.schema.equals(schema):
        return table
    columns = []
    for target in schema:
        if target.name in table.column_names and target.name not in stale:
            columns.append(table.column(target.name))
            continue
        default = defaults.get(target.name)
        if default is None:
            columns.append(pa.nulls(table.num_rows, target.type))
        else:
            columns.append(pa.repeat(pa.scalar(default, target.type), table.num_rows))
    return pa.Table.from_arrays(columns, schema=schema)


def _generation(ref: FileRef) -> int:
    return int(ref.name.rsplit(".", 1)[1])
