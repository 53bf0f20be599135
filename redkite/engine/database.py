"""The embedded database: one directory, one process, one write chokepoint.

Layout of a database directory (``./app.db``)::

    LOCK          held with flock while open; names the holder (pid, host, program)
    MANIFEST      catalog + sealed segment list, replaced atomically
    wal/          write-ahead log files
    segments/<collection id>/   sealed segment files (Arrow IPC, memory-mapped)

Every insert, upsert and delete goes through :meth:`Database._write`, which holds the write
lock across the sequence number, the WAL append (fsynced) and the in-memory apply. Reads
take a snapshot of segment views and run without the lock. Opening the same path twice in
one process returns the same :class:`Database` (reference counted); another process gets
:class:`~redkite.errors.DatabaseLockedError` naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa

from ..columnar import arrow_schema
from ..errors import (
    CollectionNotExistException, DatabaseLockedError, ErrorCode, MilvusException,
    StorageCorruptedError,
)
from .alter import AlterMixin, column_defaults
from .catalog import DEFAULT_DB, CollectionMeta
from .ddl import DdlMixin
from .dml import DmlMixin
from .reads import ReadMixin
from .recall import RecallMixin
from .storage.compaction import Compactor
from .storage.index_builder import IndexBuilder
from .storage.manifest import read_manifest, write_manifest
from .storage.store import CollectionStore, SegmentRecord
from .wal import RecordKind, WriteAheadLog

_RECORD_HEAD = struct.Struct("<Qq")
WAL_ROTATE_BYTES = 256 << 20
ID_BLOCK = 1 << 16


@dataclass
class Collection:
    """A collection's metadata and its rows."""

    meta: CollectionMeta
    store: CollectionStore
    # Written by every insert/upsert/delete, read by the compactor (is_settled): a
    # collection flushed since its last write, or idle long enough, merges its small
    # segments.
    last_write: float = field(default_factory=time.monotonic)
    flushed: bool = False


class Database(DdlMixin, AlterMixin, DmlMixin, ReadMixin, RecallMixin):
    _registry: dict[str, "Database"] = {}
    _registry_lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike) -> Database:
        key = os.path.realpath(path)
        with cls._registry_lock:
            db = cls._registry.get(key)
            if db is None:
                db = cls(Path(key))
                cls._registry[key] = db
            db._refs += 1
            return db

    def __init__(self, path: Path) -> None:
        self.path = path
        self._refs = 0
        self._lock = threading.RLock()
        self._closed = False
        path.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_lock(path)
        try:
            self._load()
        except BaseException:
            _release_lock(self._lock_file)
            raise
        self._remove_unreferenced_files(at_open=True)
        self._compactor = Compactor(self)
        self._compactor.start()
        self._index_builder = IndexBuilder(self)
        self._index_builder.start()
        self._index_builder.nudge()

    # ---- open / replay -------------------------------------------------------------------
    def _load(self) -> None:
        body = read_manifest(self.path)
        is_new = body is None
        body = body or {}
        self._next_object_id = int(body.get("next_object_id", 1))
        self._ids_reserved = int(body.get("auto_id_reserved", _initial_auto_id()))
        self._next_auto_id = self._ids_reserved
        self._last_lsn = int(body.get("last_lsn", 0))
        self.databases: dict[str, dict] = body.get("databases", {DEFAULT_DB: {}})
        self.aliases: dict[str, dict[str, str]] = body.get("aliases", {})
        self.collections: dict[tuple[str, str], Collection] = {}
        for raw in body.get("collections", []):
            meta = CollectionMeta.from_json(raw)
            collection = self._new_collection(meta)
            collection.store.load_sealed(SegmentRecord.from_json(s) for s in raw["segments"])
            self.collections[(meta.db_name, meta.name)] = collection
        self._pending_files: set[str] = set()
        if is_new:
            self._persist()  # before wal/ exists, so a failed first open leaves no half-db
        self._wal = WriteAheadLog(self.path / "wal")
        try:
            self._replay()
            self._wal.open_for_append(self._last_lsn + 1)
        except BaseException:
            self._wal.close()
            raise

    def _new_collection(self, meta: CollectionMeta) -> Collection:
        store = CollectionStore(self.path / "segments" / str(meta.collection_id),
                                arrow_schema(meta.schema), meta.primary.name,
                                meta.vector_layouts(), self._allocate_object_id)
        store.scalar_indexes = meta.scalar_index_types()
        store.column_defaults = column_defaults(meta.schema)
        store.dropped_columns = dict(meta.dropped_columns)
        return Collection(meta, store)

    def _replay(self) -> None:
        by_id = {c.meta.collection_id: c for c in self.collections.values()}
        for record in self._wal.replay():
            self._last_lsn = max(self._last_lsn, record.lsn)
            if record.kind == RecordKind.RESERVE_IDS:
                self._ids_reserved = max(self._ids_reserved, struct.unpack("<q", record.body)[0])
                self._next_auto_id = self._ids_reserved
                continue
            collection_id, partition_id = _RECORD_HEAD.unpack_from(record.body)
            collection = by_id.get(collection_id)
            if collection is None or record.lsn <= collection.meta.flushed_lsn:
                continue
            if partition_id not in collection.meta.partitions.values() and partition_id >= 0:
                continue
            batch = _decode_batch(record.body[_RECORD_HEAD.size:])
            self._apply(collection, record.kind, partition_id, batch)

    # ---- the write chokepoint ------------------------------------------------------------
    def _write(self, collection: Collection, kind: RecordKind, partition_id: int,
               batch: pa.RecordBatch, prepare: Callable[[], pa.RecordBatch] | None = None):
        """Log and apply one mutation; return once it is durable (group commit).

        ``prepare`` runs under the lock (e.g. to assign auto ids).
        """
        with self._lock:
            self._check_open()
            if prepare is not None:
                batch = prepare()
            lsn = self._last_lsn + 1
            collection.last_write, collection.flushed = time.monotonic(), False
            body = _RECORD_HEAD.pack(collection.meta.collection_id, partition_id)
            position = self._wal.append(lsn, kind, body, _encode_batch(batch))
            self._last_lsn = lsn
            result = self._apply(collection, kind, partition_id, batch)
            if collection.store.needs_seal():
                self._checkpoint_collection(collection)
            elif self._wal.bytes_written > WAL_ROTATE_BYTES:
                self._checkpoint_all()
        self._wal.sync(position)
        return batch, result

    def _apply(self, collection: Collection, kind: RecordKind, partition_id: int,
               batch: pa.RecordBatch) -> int:
        store = collection.store
        if kind == RecordKind.INSERT:
            store.insert(partition_id, batch)
            return batch.num_rows
        pks = batch.column(store.pk_name)
        if kind == RecordKind.DELETE:
            return store.delete_pks(pks, None if partition_id < 0 else partition_id)
        if kind == RecordKind.UPSERT:
            # insert replaces live rows with the same key; readers see the old rows or
            # the new ones, never neither (one publish)
            store.insert(partition_id, batch)
            return batch.num_rows
        raise StorageCorruptedError(f"unexpected WAL record kind {kind!r}")

    def _reserve_auto_ids(self, count: int) -> int:
        """First of ``count`` fresh auto ids (caller holds the lock). Never reused."""
        first = self._next_auto_id
        end = first + count
        if end > self._ids_reserved:
            reserved = end + ID_BLOCK
            lsn = self._last_lsn + 1
            self._wal.append(lsn, RecordKind.RESERVE_IDS, struct.pack("<q", reserved))
            self._last_lsn = lsn
            self._ids_reserved = reserved
        self._next_auto_id = end
        return first

    def _allocate_object_id(self) -> int:
        with self._lock:
            value = self._next_object_id
            self._next_object_id += 1
            return value

    # ---- checkpoints ---------------------------------------------------------------------
    def _checkpoint_collection(self, collection: Collection, nudge: bool = True) -> None:
        with self._lock:
            collection.store.seal_all()
            collection.meta.flushed_lsn = self._last_lsn
            self._persist()
        if nudge:
            self._compactor.nudge()
            self._index_builder.nudge()

    def _checkpoint_all(self) -> None:
        """Seal everything, persist, and start an empty WAL."""
        with self._lock:
            for collection in self.collections.values():
                collection.store.seal_all()
                collection.meta.flushed_lsn = self._last_lsn
            self._persist()
            self._wal.rotate(self._last_lsn + 1)
            self._remove_unreferenced_files()

    def _persist(self) -> None:
        body = {
            "version": 1, "next_object_id": self._next_object_id,
            "auto_id_reserved": self._ids_reserved, "last_lsn": self._last_lsn,
            "databases": self.databases, "aliases": self.aliases,
            "collections": [dict(c.meta.to_json(), segments=[
                s.to_json() for s in c.store.segment_records()])
                for c in self.collections.values()],
        }
        write_manifest(self.path, body)

    def _remove_unreferenced_files(self, at_open: bool = False) -> None:
        """Delete segment files no collection references. ``at_open`` no job is running,
        so leftovers of an interrupted compaction or index build (``*.tmp``) go too."""
        root = self.path / "segments"
        if not root.exists():
            return
        live = {str(c.meta.collection_id): c.store.referenced_files()
                for c in self.collections.values()}
        for directory in root.iterdir():
            keep = live.get(directory.name)
            for path in directory.iterdir():
                if path.name in self._pending_files or (path.name.endswith(".tmp")
                                                        and not at_open):
                    continue  # a compaction job is writing it
                if keep is None or path.name not in keep:
                    path.unlink(missing_ok=True)
            if keep is None and not any(directory.iterdir()):
                directory.rmdir()

    # ---- lifecycle -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            from ..errors import MilvusException
            raise MilvusException(message=f"database {self.path} is closed")

    def release(self) -> None:
        """Drop one reference; the last one checkpoints and unlocks the directory."""
        with Database._registry_lock:
            self._refs -= 1
            if self._refs > 0:
                return
            Database._registry.pop(str(self.path), None)
        self.close()

    def describe_segments(self, collection_id: int,
                          segment_ids: list[int] | None = None) -> list[dict]:
        """The segments of the collection with ``collection_id`` (all, or those of
        ``segment_ids``, in that order): id, partition, rows (live ones), and whether it is
        growing (in memory, logged) or sealed (a persisted, memory-mapped file)."""
        with self._lock:
            collection = next((c for c in self.collections.values()
                               if c.meta.collection_id == collection_id), None)
            if collection is None:
                raise CollectionNotExistException(
                    f"collection not found[collection={collection_id}]")
            store = collection.store
            found = {s.segment_id: (s, "Sealed") for s in store.sealed}
            found.update({g.segment_id: (g, "Growing") for g in store.growing.values()})
        wanted = list(found) if not segment_ids else list(segment_ids)
        missing = [sid for sid in wanted if sid not in found]
        if missing:
            raise MilvusException(ErrorCode.SEGMENT_NOT_FOUND,
                                  f"segment not found[segment={missing[0]}]")
        out = []
        for sid in wanted:
            segment, state = found[sid]
            live = segment.num_rows - np.count_nonzero(segment.deleted[: segment.num_rows])
            out.append({"segment_id": sid, "collection_id": collection_id,
                        "partition_id": segment.partition_id, "num_rows": int(live),
                        "state": state})
        return out

    def close(self) -> None:
        self._compactor.stop()
        self._index_builder.stop()
        with self._lock:
            if self._closed:
                return
            self._checkpoint_all()
            self._wal.close()
            self._closed = True
            _release_lock(self._lock_file)


def _forget_parent_databases() -> None:
    """A forked child must not reuse the parent's open databases (or its lock)."""
    Database._registry = {}
    Database._registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_databases)


def _initial_auto_id() -> int:
    # Milvus-like ids: physical milliseconds in the high bits.
    return int(time.time() * 1000) << 18


def _encode_batch(batch: pa.RecordBatch) -> memoryview:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return memoryview(sink.getvalue())


def _decode_batch(data: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()


def _acquire_lock(path: Path):
    handle = open(path / "LOCK", "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.readline().strip() or "another process"
        handle.close()
        raise DatabaseLockedError(
            f"database {path} is in use by {holder}; close it there first (sharing one "
            "database between processes needs `redkite serve`)") from None
    handle.seek(0)
    handle.truncate()
    holder = {"pid": os.getpid(), "host": socket.gethostname(),
              "program": " ".join(sys.argv)[:200], "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
    handle.write(f"pid {holder['pid']} on {holder['host']} ({holder['program']}) since "
                 f"{holder['since']}\n{json.dumps(holder)}\n")
    handle.flush()
    return handle


def _release_lock(handle) -> None:
    try:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
