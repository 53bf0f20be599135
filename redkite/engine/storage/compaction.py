"""Background compaction: merge small sealed segments and drop deleted rows.

Segments grow towards :data:`MERGE_TARGET_BYTES` (1 GiB, Milvus's default segment size):
small segments are merged once there are :data:`MIN_SMALL_SEGMENTS` of them, and any two
once the collection is *settled* — flushed with no write since, or idle for
:data:`IDLE_SETTLE_S` — so a collection that stopped growing is searched through as few
indexes as possible (each segment costs one index search per query). A merge that keeps
every row of an indexed source writes that source first and extends its index with the
other rows (:mod:`.index_carry`) rather than building a new one.

A job copies the live rows of the chosen segments into one new segment file *without* the
database lock (readers and writers carry on), then takes the lock only to swap: deletes
that landed on the source segments while the copy ran are carried over to the new
segment's mask, the manifest is rewritten, and the old files are removed. The swap is a
few list operations, so reads are never blocked for more than a moment.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .index_builder import index_signature
from .index_carry import carrier_position, carry_indexes
from .segments import SealedSegment, write_table_file
from .store import conform_table

MERGE_TARGET_ROWS = 2 << 20
MERGE_TARGET_BYTES = 1 << 30
DELETED_RATIO = 0.2
MIN_SMALL_SEGMENTS = 4
IDLE_SETTLE_S = 60.0
TIER_RATIO = 16


@dataclass
class _Merged:
    """One partition's share of a job: the new segment (None when no row survived), where
    its rows came from (source position, kept row numbers), the indexes carried over to
    it, and the files written for it (pending until the swap)."""

    segment: SealedSegment | None
    origin: list
    files: list[str] = field(default_factory=list)
    indexes: list = field(default_factory=list)


@dataclass
class _Plan:
    collection: object
    sources: list[SealedSegment]
    masks: list[np.ndarray]  # each source's delete mask when the copy started


class Compactor:
    """Runs compaction jobs on one background thread per database."""

    def __init__(self, database) -> None:
        self._db = database
        self._job_ids = itertools.count(1)
        self._states: dict[int, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._one_job_at_a_time = threading.Lock()

    # ---- public --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="redkite-compactor",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def nudge(self) -> None:
        """Ask the background thread to look for work."""
        self._wake.set()

    def compact_now(self, collection) -> int:
        """Seal, then compact ``collection`` synchronously; return the job id."""
        job = next(self._job_ids)
        self._states[job] = "Executing"
        self._db._checkpoint_collection(collection)
        with self._one_job_at_a_time:
            plan = self._plan(collection, force=True)
            if plan is not None:
                self._run(plan)
        self._states[job] = "Completed"
        return job

    def will_merge(self, collection, segment: SealedSegment) -> bool:
        """Whether the next background job would rewrite ``segment`` (caller holds the lock)."""
        return any(s is segment for s in self.merging(collection))

    @staticmethod
    def merging(collection) -> list[SealedSegment]:
        """The segments the next background job would rewrite (caller holds the lock)."""
        if not auto_compaction_enabled(collection.meta):
            return []
        return _chosen(collection.store.sealed, force=False, settled=is_settled(collection))

    def reindexed_by_merge(self, collection) -> list[SealedSegment]:
        """The segments the next background job would merge, but for the one whose index
        the merge extends (caller holds the lock): their rows' index is being rewritten."""
        merging = self.merging(collection)
        if not merging:
            return []
        carrier = carrier_position(collection.store, merging, [s.deleted for s in merging],
                                   list(range(len(merging))))
        return [s for position, s in enumerate(merging) if position != carrier]

    def state(self, job_id: int) -> str:
        return self._states.get(int(job_id), "UndefiedState")

    # ---- background ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=30)
            self._wake.clear()
            if self._stop.is_set():
                return
            for collection in list(self._db.collections.values()):
                if not auto_compaction_enabled(collection.meta):
                    continue
                with self._one_job_at_a_time:
                    plan = self._plan(collection, force=False)
                    if plan is None or self._stop.is_set():
                        continue
                    try:
                        self._run(plan)
                    except Exception:  # noqa: BLE001 - a failed job leaves the sources intact
                        continue

    def _plan(self, collection, force: bool) -> _Plan | None:
        with self._db._lock:
            sealed = list(collection.store.sealed)
            candidates = _chosen(sealed, force, settled=is_settled(collection))
            if not candidates or (len(candidates) == 1 and not candidates[0].deleted.any()):
                return None
            return _Plan(collection, candidates, [s.deleted.copy() for s in candidates])

    def _run(self, plan: _Plan) -> None:
        by_partition: dict[int, list[int]] = {}
        for index, segment in enumerate(plan.sources):
            by_partition.setdefault(segment.partition_id, []).append(index)
        built = [self._merge_partition(plan, partition_id, positions)
                 for partition_id, positions in by_partition.items()]
        self._swap(plan, built)

    def _merge_partition(self, plan: _Plan, partition_id: int, positions: list[int]) -> _Merged:
        """Write the live rows of the sources at ``positions`` as one new segment (the
        index carrier's rows first) and carry that source's indexes over to it."""
        store = plan.collection.store
        with self._db._lock:
            carrier = carrier_position(store, plan.sources, plan.masks, positions)
        if carrier is not None:
            positions = [carrier] + [p for p in positions if p != carrier]
        parts = [conform_table(plan.sources[i].table.filter(pa.array(~plan.masks[i])),
                               store.arrow_schema, store.column_defaults)
                 for i in positions]  # the columns of the current schema, no others
        table = pa.concat_tables(parts).combine_chunks()
        origin = [(i, np.flatnonzero(~plan.masks[i])) for i in positions]
        if table.num_rows == 0:
            return _Merged(None, origin)
        segment_id = self._db._allocate_object_id()
        name = f"{segment_id}.arrow"
        self._reserve(name)
        ref = write_table_file(store.directory, name, table)
        segment = SealedSegment(segment_id, partition_id, store.open_table(ref, segment_id),
                                store.layouts, ref)
        merged = _Merged(segment, origin, [name])
        if carrier is not None:
            merged.indexes = carry_indexes(plan.collection, plan.sources[carrier], segment,
                                           store.directory, self._reserve,
                                           self._stop.is_set)
            merged.files += [entry.file_name for entry in merged.indexes]
        return merged

    def _reserve(self, file_name: str) -> None:
        with self._db._lock:
            self._db._pending_files.add(file_name)

    def _swap(self, plan: _Plan, built: list[_Merged]) -> None:
        store = plan.collection.store
        with self._db._lock:
            if any(s not in store.sealed for s in plan.sources):
                # The collection was truncated or its partition dropped meanwhile: the new
                # files are unreferenced and go with the next cleanup.
                self._forget_pending(built)
                return
            replaced = {id(s) for s in plan.sources}
            kept = [s for s in store.sealed if id(s) not in replaced]
            for merged in built:
                if merged.segment is None:
                    continue
                _carry_late_deletes(merged.segment, plan, merged.origin)
                kept.append(merged.segment)
            store.replace_sealed(kept)
            for merged in built:
                self._attach_carried(plan.collection, merged)
            # A checkpoint persists late deletes on the new segment with the manifest.
            self._db._checkpoint_collection(plan.collection, nudge=False)
            self._forget_pending(built)
            self._db._remove_unreferenced_files()
        self._db._index_builder.nudge()  # the merged segments need their indexes

    @staticmethod
    def _attach_carried(collection, merged: _Merged) -> None:
        """Attach carried indexes whose definition is still the collection's (caller
        holds the lock); one dropped or redefined meanwhile is left for the cleanup."""
        current = {index.index_name: index_signature(index)
                   for index in collection.meta.indexes.values()}
        for entry in merged.indexes:
            if current.get(entry.index_name) == entry.signature:
                collection.store.attach_index(merged.segment.segment_id, entry)

    def _forget_pending(self, built: list[_Merged]) -> None:
        with self._db._lock:
            for merged in built:
                self._db._pending_files.difference_update(merged.files)


def auto_compaction_enabled(meta) -> bool:
    """The collection property ``collection.autocompaction.enabled`` ("false" leaves the
    collection to manual ``compact()`` calls)."""
    return meta.properties.get("collection.autocompaction.enabled") != "false"


def _chosen(sealed: list[SealedSegment], force: bool,
            settled: bool = False) -> list[SealedSegment]:
    """The segments the next job rewrites: those with many deleted rows, plus small ones
    merged smallest first (up to MERGE_TARGET_ROWS / _BYTES) once there are enough of
    them (two are enough once the collection is ``settled``) — fewer, larger segments
    mean fewer index searches per query.

    Outside ``force`` (``compact()``), a segment joins a merge only while it holds at most
    :data:`TIER_RATIO` times the rows gathered before it: a large segment is rewritten
    once enough small ones have gathered, not for every small one that arrives (a program
    that flushes every few thousand rows would otherwise copy its largest segment each
    time)."""
    dirty = [s for s in sealed if _worth_compacting(s)]
    small = sorted((s for s in sealed if _is_small(s) and s not in dirty),
                   key=lambda s: s.num_rows)
    merged: list[SealedSegment] = []
    rows = size = 0
    for segment in small:
        if merged and (rows + segment.num_rows > MERGE_TARGET_ROWS
                       or size + segment.data_file.size > MERGE_TARGET_BYTES
                       or (not force and segment.num_rows > TIER_RATIO * rows)):
            break
        merged.append(segment)
        rows += segment.num_rows
        size += segment.data_file.size
    if len(merged) < (2 if force or settled else MIN_SMALL_SEGMENTS):
        merged = []
    return dirty + merged


def _is_small(segment: SealedSegment) -> bool:
    return (segment.num_rows < MERGE_TARGET_ROWS // 2
            and segment.data_file.size < MERGE_TARGET_BYTES // 2)


def _worth_compacting(segment: SealedSegment) -> bool:
    if segment.num_rows == 0:
        return True
    return np.count_nonzero(segment.deleted) / segment.num_rows >= DELETED_RATIO


def _carry_late_deletes(segment: SealedSegment, plan: _Plan, origin: list) -> None:
    """Deletes applied to a source after the copy started are re-applied to the new rows."""
    offset = 0
    for source_index, kept_rows in origin:
        source = plan.sources[source_index]
        late = source.deleted[kept_rows]
        if late.any():
            segment.mark_deleted(offset + np.flatnonzero(late))
        offset += len(kept_rows)


def is_settled(collection) -> bool:
    """Whether ``collection`` has stopped growing: flushed with no write since, or left
    without writes for :data:`IDLE_SETTLE_S`."""
    return collection.flushed or time.monotonic() - collection.last_write > IDLE_SETTLE_S
