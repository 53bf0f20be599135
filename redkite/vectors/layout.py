"""How each vector type is laid out in memory and in Arrow.

Dense types are stored as ``fixed_size_list<element>[width]`` and seen by search as an
``(n, width)`` numpy matrix of the element type:

=================  ====================  =====================  ===========
type               Arrow element         numpy matrix           width
=================  ====================  =====================  ===========
FLOAT_VECTOR       float32               float32                dim
FLOAT16_VECTOR     halffloat             float16                dim
BFLOAT16_VECTOR    uint16 (raw bits)     uint16 (raw bits)      dim
INT8_VECTOR        int8                  int8                   dim
BINARY_VECTOR      uint8 (packed bits)   uint8 (packed bits)    dim // 8
=================  ====================  =====================  ===========

SPARSE_FLOAT_VECTOR is stored as ``map<uint32, float32>`` (one entry per non-zero, indices
sorted within a row) and seen by search as a CSR triple.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..types import DataType

SPARSE_ARROW_TYPE = pa.map_(pa.uint32(), pa.float32())
MAX_SPARSE_INDEX = 2**32 - 1  # exclusive, as in Milvus

_ELEMENTS = {
    DataType.FLOAT_VECTOR: (np.dtype(np.float32), pa.float32()),
    DataType.FLOAT16_VECTOR: (np.dtype(np.float16), pa.float16()),
    DataType.BFLOAT16_VECTOR: (np.dtype(np.uint16), pa.uint16()),
    DataType.INT8_VECTOR: (np.dtype(np.int8), pa.int8()),
    DataType.BINARY_VECTOR: (np.dtype(np.uint8), pa.uint8()),
}


@dataclass(frozen=True)
class VectorLayout:
    """The storage layout of one vector field: its type and dimension (0 for sparse)."""

    dtype: DataType
    dim: int

    @property
    def is_sparse(self) -> bool:
        return self.dtype == DataType.SPARSE_FLOAT_VECTOR

    @property
    def is_binary(self) -> bool:
        return self.dtype == DataType.BINARY_VECTOR

    @property
    def is_float32(self) -> bool:
        return self.dtype == DataType.FLOAT_VECTOR

    @property
    def width(self) -> int:
        """Elements per row of the stored matrix (packed bytes for binary vectors)."""
        return self.dim // 8 if self.is_binary else self.dim

    @property
    def element(self) -> np.dtype:
        return _ELEMENTS[self.dtype][0]

    @property
    def row_bytes(self) -> int:
        return self.width * self.element.itemsize

    @property
    def type_name(self) -> str:
        return self.dtype.name.lower()

    def arrow_type(self) -> pa.DataType:
        if self.is_sparse:
            return SPARSE_ARROW_TYPE
        return pa.list_(_ELEMENTS[self.dtype][1], self.width)

    def empty_matrix(self, rows: int = 0) -> np.ndarray:
        return np.zeros((rows, self.width), dtype=self.element)


def layout_of(fs) -> VectorLayout:
    """The layout of vector field ``fs`` (a :class:`~redkite.schema.FieldSchema`)."""
    dim = 0 if fs.dtype == DataType.SPARSE_FLOAT_VECTOR else int(fs.params["dim"])
    return VectorLayout(fs.dtype, dim)


def matrix_from_arrow(column: pa.Array | pa.ChunkedArray, layout: VectorLayout) -> np.ndarray:
    """The ``(n, width)`` view of a dense vector column (zero-copy when one chunk)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    width = layout.width
    # .values ignores the array's own window (offset and length): slice it (zero-copy)
    flat = column.values.slice(column.offset * width, len(column) * width)
    return flat.to_numpy(zero_copy_only=False).reshape(-1, width)


def arrow_from_matrix(matrix: np.ndarray, layout: VectorLayout) -> pa.Array:
    """A ``fixed_size_list`` column holding the rows of a stored-dtype matrix."""
    flat = np.ascontiguousarray(matrix, dtype=layout.element).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), layout.width)


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 raw bits (uint16) to float32: the bits are the float32's upper half."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 to bfloat16 raw bits, rounding to nearest even (as ml_dtypes and torch do)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def to_float32(matrix: np.ndarray, layout: VectorLayout) -> np.ndarray:
    """A stored dense matrix as float32 (the form the L2 / IP / COSINE kernels use)."""
    if layout.dtype == DataType.BFLOAT16_VECTOR:
        return bfloat16_to_float32(matrix)
    return matrix.astype(np.float32, copy=False)
