"""Insert, upsert and delete: validate outside the lock, then one trip through ``_write``.

Rows are converted (and BM25 function outputs computed from their texts) before the
write lock is taken, so the WAL records hold the computed columns.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ..columnar import first_row_without, rows_to_batch
from ..errors import DataNotMatchException, DescribeCollectionException, ParamError
from ..types import DataType
from .catalog import DEFAULT_PARTITION
from .text.functions import function_outputs
from .wal import RecordKind


class DmlMixin:
    """Mixed into :class:`~redkite.engine.database.Database`."""

    def insert(self, db_name: str | None, collection_name: str, rows: Sequence[dict],
               partition_name: str = "") -> dict:
        collection = self._get(db_name, collection_name, DescribeCollectionException)
        meta = collection.meta
        partition_id = self._partition_id(collection, partition_name or DEFAULT_PARTITION)
        if not rows:
            return {"insert_count": 0, "ids": []}
        pk = meta.primary
        if pk.auto_id:
            placeholder = np.zeros(len(rows), dtype=np.int64)
            batch = rows_to_batch(meta.schema, rows, pk_values=placeholder, allow_pk=False,
                                  function_outputs=function_outputs(meta.schema))
            pk_index = batch.schema.get_field_index(pk.name)

            def assign_ids() -> pa.RecordBatch:
                first = self._reserve_auto_ids(batch.num_rows)
                ids = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
                return batch.set_column(pk_index, pk.name, ids)

            written, _ = self._write(collection, RecordKind.INSERT, partition_id, batch,
                                     prepare=assign_ids)
        else:
            batch = rows_to_batch(meta.schema, rows,
                                  function_outputs=function_outputs(meta.schema))
            written, _ = self._write(collection, RecordKind.INSERT, partition_id, batch)
        return {"insert_count": written.num_rows, "ids": written.column(pk.name).to_pylist()}

    def upsert(self, db_name: str | None, collection_name: str, rows: Sequence[dict],
               partition_name: str = "") -> dict:
        collection = self._get(db_name, collection_name, DescribeCollectionException)
        meta = collection.meta
        partition_id = self._partition_id(collection, partition_name or DEFAULT_PARTITION)
        if not rows:
            return {"upsert_count": 0, "ids": []}
        pk = meta.primary
        missing = first_row_without(rows, pk.name)
        if missing is not None:
            raise DataNotMatchException(f"upsert needs the primary key field `{pk.name}` in "
                                        f"every row; row {missing} has none")
        batch = rows_to_batch(meta.schema, rows, function_outputs=function_outputs(meta.schema))
        written, _ = self._write(collection, RecordKind.UPSERT, partition_id, batch)
        return {"upsert_count": written.num_rows, "ids": written.column(pk.name).to_pylist()}

    def delete(self, db_name: str | None, collection_name: str, ids: Any = None,
               filter: str = "", partition_name: str = "",
               filter_params: dict | None = None) -> dict:
        collection = self._get(db_name, collection_name, DescribeCollectionException)
        meta = collection.meta
        partition_id = -1
        if partition_name:
            partition_id = self._partition_id(collection, partition_name)
        if ids is not None and filter:
            raise ParamError("Ambiguous filter parameter, only one deletion condition can be "
                             "specified.")
        if ids is not None:
            pks = pk_array(meta.primary, ids)
        elif filter:
            pks = self._matching_pks(collection, filter, filter_params, partition_id)
        else:
            raise ParamError("delete needs either ids or a filter")
        if len(pks) == 0:
            return {"delete_count": 0}
        pk_batch = pa.RecordBatch.from_arrays([pks], names=[meta.primary.name])
        _, removed = self._write(collection, RecordKind.DELETE, partition_id, pk_batch)
        return {"delete_count": int(removed)}

    def _matching_pks(self, collection, filter: str, filter_params: dict | None,
                      partition_id: int) -> pa.Array:
        partitions = None if partition_id < 0 else {partition_id}
        views = collection.store.snapshot(partitions)
        masks = self._filter_masks(collection, views, filter, filter_params)
        pk_name = collection.meta.primary.name
        chunks = [view.column(pk_name).take(pa.array(np.flatnonzero(mask)))
                  for view, mask in zip(views, masks) if mask.any()]
        if not chunks:
            return pa.array([], type=_pk_arrow_type(collection.meta.primary))
        combined = pa.chunked_array(chunks).combine_chunks()
        return combined if not isinstance(combined, pa.ChunkedArray) else combined.chunk(0)


def _pk_arrow_type(pk) -> pa.DataType:
    return pa.int64() if pk.dtype == DataType.INT64 else pa.string()


def pk_array(pk, ids: Any) -> pa.Array:
    """Primary key values from user input (one value or a list), checked against the type."""
    values = list(ids) if isinstance(ids, (list, tuple, np.ndarray)) else [ids]
    if pk.dtype == DataType.INT64:
        bad = next((v for v in values if isinstance(v, bool)
                    or not isinstance(v, (int, np.integer))), None)
    else:
        bad = next((v for v in values if not isinstance(v, str)), None)
    if bad is not None:
        raise DataNotMatchException(
            f"primary key `{pk.name}` is {pk.dtype.name}, got {bad!r} "
            f"({type(bad).__name__})")
    try:
        return pa.array(values, type=_pk_arrow_type(pk))
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise DataNotMatchException(f"primary key value out of range: {exc}") from None
