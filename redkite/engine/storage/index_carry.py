"""Carrying a segment's vector indexes through a compaction merge.

When a merge keeps every row of one source segment (none deleted) and writes those rows
first, that source's index already covers the start of the new segment: extending it with
the other sources' vectors gives the new segment's index for the cost of adding those rows,
where a fresh build would redo the whole graph (an HNSW build over 1M rows takes minutes).
Indexes that cannot grow this way (binary, sparse, exact types) are left to the
:class:`~redkite.engine.storage.index_builder.IndexBuilder`, which builds them as usual.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from .index_builder import index_input, index_signature, needs_build, persist_index
from .store import SegmentIndex

_serial = itertools.count(1)


def carrier_position(store, sources: list, masks: list[np.ndarray],
                     positions: list[int]) -> int | None:
    """Of the sources at ``positions``, the largest one with no deleted row and at least
    one extendable index (caller holds the database lock), or None."""
    best = None
    for position in positions:
        segment = sources[position]
        if masks[position].any() or not any(
                _can_extend(entry.index) for entry in store.segment_indexes(segment.segment_id)):
            continue
        if best is None or segment.num_rows > sources[best].num_rows:
            best = position
    return best


def carry_indexes(collection, carrier, merged, directory, reserve: Callable[[str], None],
                  should_stop: Callable[[], bool] | None = None) -> list[SegmentIndex]:
    """Indexes of ``merged`` (a new segment whose first rows are all of ``carrier``'s)
    made by extending ``carrier``'s current indexes; their files are saved and
    memory-mapped, and their names passed to ``reserve`` first (so no cleanup removes them
    before the caller attaches them)."""
    out = []
    meta, store = collection.meta, collection.store
    for index in list(meta.indexes.values()):
        field = meta.schema.field(index.field_name)
        if field is None or not field.is_vector or not needs_build(index):
            continue
        signature = index_signature(index)
        entry = store.segment_index(carrier.segment_id, field.name)
        if entry is None or entry.signature != signature or not _can_extend(entry.index):
            continue
        added = merged.view().vectors[field.name][carrier.num_rows:]
        vectors, _ = index_input(field.dtype, added)
        grown = entry.index.extended(vectors, should_stop)
        name = f"{merged.segment_id}.{field.field_id}.m{next(_serial)}.idx"
        reserve(name)
        out.append(persist_index(grown, directory, name, field.name, index.index_name,
                                 signature))
    return out


def _can_extend(index: Any) -> bool:
    return callable(getattr(index, "extended", None))
