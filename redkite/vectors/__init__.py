"""Vector fields of every Milvus type: user input to storage, storage to results.

* :func:`vector_column` turns the values of one field in a batch of rows into its Arrow
  column (see :mod:`.layout` for the layouts);
* :func:`parse_queries` turns search ``data`` into the stored representation (a matrix of
  the stored dtype, or a CSR triple for sparse vectors);
* :func:`present_vectors` prepares vector columns of a result table the way pymilvus 3.0.2
  returns them: FLOAT_VECTOR as a list of floats; FLOAT16, BFLOAT16, INT8 and BINARY
  vectors as their raw ``bytes`` (in query/get results wrapped in a one-element list,
  ``[b"..."]``, as pymilvus does); SPARSE_FLOAT_VECTOR as a dict ``{index: value}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import DataNotMatchException, ParamError
from .dense import BYTES_LIKE, dense_matrix, vectors_to_matrix
from .layout import (
    SPARSE_ARROW_TYPE, VectorLayout, arrow_from_matrix, bfloat16_to_float32,
    float32_to_bfloat16, layout_of, matrix_from_arrow, to_float32,
)
from .sparse import csr_to_arrow, is_scipy_sparse, sparse_csr


def vector_column(layout: VectorLayout, values: list, field_name: str) -> pa.Array:
    """The Arrow column of one vector field from its per-row values (None = missing)."""
    if type(None) in set(map(type, values)):
        missing = next(i for i, v in enumerate(values) if v is None)
        raise DataNotMatchException(
            f"Insert missed an field `{field_name}` to collection without set nullable==true "
            f"or set default_value (row {missing})")
    if layout.is_sparse:
        return csr_to_arrow(*sparse_csr(values, field_name, what="row"))
    return arrow_from_matrix(dense_matrix(values, layout, field_name, what="row"), layout)


def parse_queries(layout: VectorLayout, data: Any, field_name: str) -> Any:
    """Search data in the stored representation: an ``(nq, width)`` matrix of the stored
    dtype, or for sparse fields a CSR triple ``(indptr, indices, values)``."""
    if layout.is_sparse:
        if not is_scipy_sparse(data) and _looks_dense(data):
            raise ParamError(f"field '{field_name}' is a sparse_float_vector: search data "
                             "must be dicts {index: value}, lists of (index, value) pairs or "
                             "scipy.sparse rows")
        return sparse_csr(data, field_name, what="query")
    if is_scipy_sparse(data) or _first_is(data, dict):
        raise ParamError(f"field '{field_name}' is a {layout.type_name}: sparse search data "
                         "only applies to sparse_float_vector fields")
    if layout.is_float32 and _first_is(data, BYTES_LIKE):
        raise ParamError(f"field '{field_name}' is a float_vector: pass lists of floats or a "
                         "float32 array, not bytes")
    return dense_matrix(data, layout, field_name, what="query")


def _first_is(data: Any, kinds: Any) -> bool:
    return isinstance(data, (list, tuple)) and len(data) > 0 and isinstance(data[0], kinds)


def _looks_dense(data: Any) -> bool:
    if isinstance(data, np.ndarray):
        return True
    first = data[0] if isinstance(data, (list, tuple)) and data else None
    return isinstance(first, (np.ndarray, *BYTES_LIKE)) or (
        isinstance(first, list) and bool(first) and not hasattr(first[0], "__len__"))


def present_vectors(table: pa.Table, layouts: dict[str, VectorLayout],
                    wrap_bytes: bool) -> pa.Table:
    """Replace the byte-stored vector columns of ``table`` (FLOAT16, BFLOAT16, INT8, BINARY)
    by ``bytes`` per row, each wrapped in a one-element list when ``wrap_bytes``."""
    if table.num_rows == 0:
        return table
    for name, layout in layouts.items():
        if layout.is_sparse or layout.is_float32 or name not in table.column_names:
            continue
        matrix = np.ascontiguousarray(matrix_from_arrow(table.column(name), layout))
        column = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(layout.row_bytes), len(matrix), [None, pa.py_buffer(matrix.tobytes())])
        if wrap_bytes:
            offsets = pa.array(np.arange(len(matrix) + 1, dtype=np.int32))
            column = pa.ListArray.from_arrays(offsets, column)
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def sparse_dicts(column: pa.Array | pa.ChunkedArray) -> list[dict]:
    """One ``{index: value}`` dict per row of a sparse column."""
    return list(map(dict, column.to_pylist()))


__all__ = [
    "VectorLayout", "layout_of", "vector_column", "parse_queries", "present_vectors",
    "sparse_dicts", "matrix_from_arrow", "arrow_from_matrix", "to_float32",
    "bfloat16_to_float32", "float32_to_bfloat16", "vectors_to_matrix", "SPARSE_ARROW_TYPE",
]
