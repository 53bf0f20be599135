"""Background vector-index builds, one sealed segment at a time.

Growing segments are searched exactly, so new rows are visible at once; sealed segments
get an ANN index built here. A job reads a segment's vectors and builds the index *without*
the database lock, saves it to its own file, memory-maps it back, and only then takes the
lock to attach it — if the segment is still there and the index definition unchanged — and
rewrite the manifest. Until then the segment is searched exactly, so results are never
missing rows while an index builds.

Segments below :data:`MIN_INDEX_ROWS` stay exact (a scan of a few thousand rows is as fast
as a graph walk), and so do segments the compactor is about to merge (their index would be
thrown away). ``FLAT`` and ``BIN_FLAT`` are exact by definition and never built.
"""

from __future__ import annotations

import atexit
import json
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...types import DataType
from ...vectors import VectorLayout, to_float32
from ..index.base import CsrMatrix
from ..index.dense import BuildCancelled
from ..index.factory import build_index, load_index
from .segments import FileRef, file_digest
from .store import SegmentIndex

MIN_INDEX_ROWS = 4096
STOP_WAIT_S = 5.0
EXIT_WAIT_S = 30.0
EXACT_INDEX_TYPES = frozenset({"FLAT", "BIN_FLAT"})


def index_signature(index) -> str:
    """What a segment index must match to serve ``index`` (an IndexMeta)."""
    return json.dumps([index.index_type, index.metric_type, index.params], sort_keys=True)


def needs_build(index) -> bool:
    return index.index_type not in EXACT_INDEX_TYPES


@dataclass
class _Job:
    collection: Any
    segment: Any
    index: Any  # IndexMeta
    field: Any  # FieldSchema
    signature: str


class IndexBuilder:
    """Runs index builds on one background thread per database."""

    def __init__(self, database) -> None:
        self._db = database
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._serial = 0
        self._failed: set[str] = set()  # segment:signature pairs whose build failed
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="redkite-index-builder",
                                        daemon=True)
        self._thread.start()
        _RUNNING.add(self)

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        self._stop.set()
        self._wake.set()
        with self._progress:
            self._progress.notify_all()
        if self._thread is not None:
            # A build in progress stops at its next chunk of rows (BuildCancelled) or, if
            # it was saving, finds the database closed and discards its file (_attach).
            self._thread.join(timeout=wait_s)

    def nudge(self) -> None:
        self._wake.set()

    def wait(self, collection, timeout: float | None = None) -> bool:
        """Block until every sealed segment of ``collection`` has its indexes built."""
        self.nudge()
        with self._progress:
            return self._progress.wait_for(
                lambda: self._stop.is_set() or self._next_job([collection]) is None,
                timeout=timeout)

    # ---- background ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=30)
            self._wake.clear()
            while not self._stop.is_set():
                job = self._next_job(list(self._db.collections.values()))
                if job is None:
                    break
                self._run(job)
            with self._progress:
                self._progress.notify_all()

    def _next_job(self, collections: list) -> _Job | None:
        with self._db._lock:
            for collection in collections:
                job = self._job_for(collection)
                if job is not None:
                    return job
        return None

    def _job_for(self, collection) -> _Job | None:
        meta = collection.meta
        if self._db.collections.get((meta.db_name, meta.name)) is not collection:
            return None  # dropped
        for index in meta.indexes.values():
            field = meta.schema.field(index.field_name)
            if field is None or not field.is_vector or not needs_build(index):
                continue
            signature = index_signature(index)
            for segment in self._unbuilt(collection, index, signature):
                if self._db._compactor.will_merge(collection, segment):
                    continue
                if f"{segment.segment_id}:{signature}" in self._failed:
                    continue
                return _Job(collection, segment, index, field, signature)
        return None

    @staticmethod
    def _unbuilt(collection, index, signature: str) -> list:
        """Sealed segments large enough for ``index`` that do not have it (yet)."""
        store = collection.store
        return [segment for segment in store.sealed
                if segment.num_rows >= MIN_INDEX_ROWS
                and getattr(store.segment_index(segment.segment_id, index.field_name),
                            "signature", None) != signature]

    def progress(self, collection, index) -> dict:
        """describe_index's counters: rows served by their final index, rows waiting for a
        build — including the rows of segments about to be merged, except those of the
        source whose index the merge extends (their index is being rewritten)."""
        with self._db._lock:
            store = collection.store
            total = store.live_rows()
            growing = sum(int(np.count_nonzero(~g.deleted[: g.num_rows]))
                          for g in store.growing.values())
            if not needs_build(index):
                return {"total_rows": total, "indexed_rows": total, "pending_index_rows": 0,
                        "state": "Finished"}
            signature = index_signature(index)
            unbuilt = self._unbuilt(collection, index, signature)
            waiting = unbuilt + self._remerged(collection, unbuilt)
            pending = sum(int(np.count_nonzero(~s.deleted)) for s in waiting)
            failed = any(f"{s.segment_id}:{signature}" in self._failed for s in unbuilt)
        state = "Failed" if failed else ("InProgress" if pending else "Finished")
        out = {"total_rows": total, "indexed_rows": total - growing - pending,
               "pending_index_rows": pending, "state": state}
        if failed:
            out["index_state_fail_reason"] = self.last_error or "index build failed"
        return out

    def _remerged(self, collection, unbuilt: list) -> list:
        """Indexed segments the compactor is about to merge, but for the index carrier."""
        return [s for s in self._db._compactor.reindexed_by_merge(collection)
                if not any(s is u for u in unbuilt)]

    def _run(self, job: _Job) -> None:
        store = job.collection.store
        self._serial += 1
        name = f"{job.segment.segment_id}.{job.field.field_id}.{self._serial}.idx"
        with self._db._lock:
            self._db._pending_files.add(name)
        try:
            vectors, kind = index_input(job.field.dtype,
                                        job.segment.view().vectors[job.field.name])
            built = build_index(job.index.index_type, job.index.metric_type, job.index.params,
                                vectors, kind=kind, should_stop=self._stop.is_set)
            entry = persist_index(built, store.directory, name, job.field.name,
                                  job.index.index_name, job.signature)
        except BuildCancelled:  # the database is closing: nothing to report
            with self._db._lock:
                self._db._pending_files.discard(name)
            return
        except Exception as exc:  # noqa: BLE001 - the segment stays exact; reported below
            self._failed.add(f"{job.segment.segment_id}:{job.signature}")
            self.last_error = f"{type(exc).__name__}: {exc}"
            with self._db._lock:
                self._db._pending_files.discard(name)
            return
        self._attach(job, entry)

    def _attach(self, job: _Job, entry: SegmentIndex) -> None:
        store = job.collection.store
        with self._db._lock:
            self._db._pending_files.discard(entry.file_name)
            if self._db._closed:  # closed while building: the file is not ours to keep
                (store.directory / entry.file_name).unlink(missing_ok=True)
                return
            meta = job.collection.meta
            current = meta.indexes.get(job.index.index_name)
            still_wanted = (not self._db._closed and job.segment in store.sealed
                            and current is not None
                            and index_signature(current) == job.signature)
            if still_wanted:
                store.attach_index(job.segment.segment_id, entry)
                self._db._persist()
            self._db._remove_unreferenced_files()
        with self._progress:
            self._progress.notify_all()


_RUNNING: "weakref.WeakSet[IndexBuilder]" = weakref.WeakSet()


@atexit.register
def _stop_builders_at_exit() -> None:
    """Let running builds stop between chunks before the interpreter exits: a daemon
    thread killed inside faiss aborts the process (exit code 134) instead of exiting."""
    for builder in list(_RUNNING):
        builder.stop(wait_s=EXIT_WAIT_S)


def persist_index(built, directory, name: str, field_name: str, index_name: str,
                  signature: str) -> SegmentIndex:
    """Save ``built`` as ``directory/name`` and map it back: the segment index entry that
    serves it (its file checked by size and XXH3 digest at the next open)."""
    path = directory / name
    built.save(path)
    ref = FileRef(name, path.stat().st_size, file_digest(path))
    return SegmentIndex(field_name, index_name, signature, ref,
                        load_index(path, mmap=True, verify=False))


def index_input(dtype: DataType, vectors: Any) -> tuple[Any, str]:
    """Vectors in their stored form (a segment's, or parsed queries) as the index package
    takes them, and their kind."""
    if dtype == DataType.INT8_VECTOR:
        return vectors, "int8"
    if dtype == DataType.BINARY_VECTOR:
        return vectors, "binary"
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        return CsrMatrix(vectors.indptr, vectors.indices, vectors.values), "sparse"
    layout = VectorLayout(dtype, vectors.shape[1])
    return np.ascontiguousarray(to_float32(vectors, layout)), "float"
