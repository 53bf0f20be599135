"""Dense vectors from user input to a stored-dtype ``(n, width)`` matrix.

Accepted forms per vector (what pymilvus 3.0.2 sends to Milvus for each type):

* FLOAT_VECTOR: a list of numbers or a numpy array;
* FLOAT16_VECTOR / BFLOAT16_VECTOR: a list of numbers or a float32/float64 array (converted,
  as Milvus converts float32 input), a float16 / ``ml_dtypes.bfloat16`` array, or ``bytes``
  of ``2 * dim`` (the raw little-endian halves);
* INT8_VECTOR: a numpy int8 array, ``bytes`` of ``dim``, or a list of integers in
  [-128, 127];
* BINARY_VECTOR: ``bytes`` of ``dim // 8`` (bits packed most significant first, as
  ``np.packbits`` does), a numpy uint8 array of ``dim // 8`` packed bytes, or a list of
  ``dim // 8`` integers in [0, 255].

Rows are grouped by form (and numpy dtype) so each group converts in one numpy call; a batch
mixing forms costs one pass per form. Every violation raises
:class:`~redkite.errors.DataNotMatchException` naming the field and the row (or query).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Sequence

import numpy as np

from ..errors import DataNotMatchException
from ..types import DataType
from .layout import VectorLayout, float32_to_bfloat16

BYTES_LIKE = (bytes, bytearray, memoryview)
_FLOAT_INPUTS = ("float32", "float64")
# numpy dtypes accepted per type: the stored dtype name, plus float32/float64 for half floats
_ARRAY_DTYPES = {
    DataType.FLOAT16_VECTOR: ("float16", *_FLOAT_INPUTS),
    DataType.BFLOAT16_VECTOR: ("bfloat16", *_FLOAT_INPUTS),
    DataType.INT8_VECTOR: ("int8",),
    DataType.BINARY_VECTOR: ("uint8",),
}
_INT_RANGES = {DataType.INT8_VECTOR: (-128, 127), DataType.BINARY_VECTOR: (0, 255)}


def dense_matrix(values: Any, layout: VectorLayout, field_name: str,
                 what: str = "row") -> np.ndarray:
    """Stack the vectors in ``values`` into an ``(n, width)`` matrix of the stored dtype."""
    if layout.is_float32:
        return vectors_to_matrix(values, layout.dim, field_name, what)
    ctx = _Context(layout, field_name, what)
    if isinstance(values, np.ndarray):
        if values.ndim != 2:
            raise DataNotMatchException(f"vector field '{field_name}' expects a 2-D array of "
                                        f"vectors, got shape {values.shape}")
        return ctx.from_array_block(values, np.arange(len(values)))
    values = list(values)
    groups = split_by(list(map(type, values)))
    if len(groups) == 1:
        return ctx.convert(values, groups[0][0], np.arange(len(values)))
    out = layout.empty_matrix(len(values))
    for kind, positions in groups:
        out[positions] = ctx.convert(pick(values, positions), kind, positions)
    return out


def split_by(keys: list) -> list[tuple[Any, np.ndarray]]:
    """``[(key, positions)]`` for each distinct key, in order of first appearance (the
    values of a batch are converted one group of same-form values at a time)."""
    distinct = list(dict.fromkeys(keys))
    if len(distinct) == 1:
        return [(distinct[0], np.arange(len(keys)))]
    ids = {key: code for code, key in enumerate(distinct)}
    codes = np.fromiter(map(ids.__getitem__, keys), np.int64, len(keys))
    return [(key, np.flatnonzero(codes == ids[key])) for key in distinct]


def pick(values: list, positions: np.ndarray) -> list:
    return list(map(values.__getitem__, positions.tolist()))


class _Context:
    """Converts groups of same-form vectors for one field, naming rows in its errors."""

    def __init__(self, layout: VectorLayout, field_name: str, what: str) -> None:
        self.layout = layout
        self.name = field_name
        self.what = what

    def fail(self, position: Any, message: str) -> DataNotMatchException:
        return DataNotMatchException(f"{self.layout.type_name} field '{self.name}': {message} "
                                     f"({self.what} {int(position)})")

    def convert(self, group: list, kind: type, positions: np.ndarray) -> np.ndarray:
        if issubclass(kind, BYTES_LIKE):
            return self.from_bytes(group, positions)
        if issubclass(kind, np.ndarray):
            parts = split_by(list(map(attrgetter("dtype"), group)))
            if len(parts) == 1:
                return self.from_arrays(group, positions)
            out = self.layout.empty_matrix(len(group))
            for _, where in parts:
                out[where] = self.from_arrays(pick(group, where), positions[where])
            return out
        if issubclass(kind, (list, tuple)):
            return self.from_lists(group, positions)
        raise self.fail(positions[0], f"expects {self._forms()}, got a {kind.__name__}")

    def _forms(self) -> str:
        dtype = self.layout.dtype
        if dtype == DataType.INT8_VECTOR:
            return "a list of integers, an np.ndarray of dtype int8 or bytes"
        if dtype == DataType.BINARY_VECTOR:
            return "bytes, an np.ndarray of dtype uint8 or a list of byte values"
        return f"a list of numbers, an np.ndarray of dtype {_ARRAY_DTYPES[dtype][0]} or bytes"

    # ---- bytes ---------------------------------------------------------------------------
    def from_bytes(self, group: list, positions: np.ndarray) -> np.ndarray:
        layout = self.layout
        lengths = np.fromiter(map(len, group), np.int64, len(group))
        bad = np.flatnonzero(lengths != layout.row_bytes)
        if len(bad):
            raise self.fail(positions[bad[0]], f"expects {layout.row_bytes} bytes per vector "
                            f"(dim {layout.dim}), got {int(lengths[bad[0]])} bytes")
        matrix = np.frombuffer(b"".join(group), dtype=layout.element)
        matrix = matrix.reshape(len(group), layout.width)
        self.check_half_finite(matrix, positions)
        return matrix

    # ---- numpy arrays --------------------------------------------------------------------
    def from_arrays(self, group: list, positions: np.ndarray) -> np.ndarray:
        """Arrays of one dtype, one vector each."""
        self.check_array_dtype(group[0].dtype, positions[0])
        shapes = list(map(attrgetter("shape"), group))
        if set(shapes) != {(self.layout.width,)}:
            bad = next(i for i, shape in enumerate(shapes) if shape != (self.layout.width,))
            raise self.fail(positions[bad], f"expected a vector of {self.layout.width} "
                            f"{self._unit()}, got an array of shape {shapes[bad]}")
        return self.from_array_block(np.stack(group), positions)

    def from_array_block(self, block: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """A 2-D array, one vector per row."""
        layout = self.layout
        if len(block) == 0:
            return layout.empty_matrix()
        self.check_array_dtype(block.dtype, positions[0])
        if block.shape[1] != layout.width:
            raise self.fail(positions[0], f"expected a vector of {layout.width} "
                            f"{self._unit()}, got {block.shape[1]}")
        name = block.dtype.name
        if name in _FLOAT_INPUTS:
            return self.from_floats(block, positions)
        if name == "bfloat16":
            block = block.view(np.uint16)
        matrix = np.ascontiguousarray(block, dtype=layout.element)
        self.check_half_finite(matrix, positions)
        return matrix

    def check_array_dtype(self, dtype: np.dtype, position: Any) -> None:
        accepted = _ARRAY_DTYPES[self.layout.dtype]
        if dtype.name not in accepted:
            hint = " (pack bits with np.packbits)" if self.layout.is_binary else ""
            raise self.fail(position, f"invalid input: expected an np.ndarray with "
                            f"dtype={' or '.join(accepted)}, got dtype={dtype.name}{hint}")

    def _unit(self) -> str:
        return "packed bytes" if self.layout.is_binary else "values"

    # ---- lists of numbers ----------------------------------------------------------------
    def from_lists(self, group: list, positions: np.ndarray) -> np.ndarray:
        matrix = self.numeric_block(group, positions)
        if self.layout.dtype in _INT_RANGES:
            return self.from_integers(matrix, positions)
        return self.from_floats(matrix, positions)

    def numeric_block(self, group: list, positions: np.ndarray) -> np.ndarray:
        try:
            matrix = np.asarray(group)
        except (ValueError, TypeError):
            matrix = None
        if matrix is None or matrix.ndim != 2 or matrix.dtype.kind not in "biuf":
            self.diagnose(group, positions)
        if matrix.shape[1] != self.layout.width:
            raise self.fail(positions[0], f"expected a vector of {self.layout.width} "
                            f"{self._unit()}, got {matrix.shape[1]}")
        if matrix.dtype.kind == "b":
            raise self.fail(positions[0], "holds booleans, expected numbers")
        return matrix

    def diagnose(self, group: list, positions: np.ndarray) -> None:
        """Raise for the first row that is not a flat list of ``width`` numbers."""
        for position, value in zip(positions, group):
            if len(value) != self.layout.width:
                raise self.fail(position, f"expected a vector of {self.layout.width} "
                                f"{self._unit()}, got {len(value)}")
            row = np.asarray(value) if all(np.ndim(x) == 0 for x in value) else None
            if row is None or row.dtype.kind not in "iuf":
                raise self.fail(position, f"holds a non-number: {value!r:.80}")
        raise self.fail(positions[0], "expects a list of vectors")

    def from_integers(self, matrix: np.ndarray, positions: np.ndarray) -> np.ndarray:
        low, high = _INT_RANGES[self.layout.dtype]
        if matrix.dtype.kind == "f":
            raise self.fail(positions[0], f"expects integers in [{low}, {high}], got floats "
                            "(pass an np.ndarray of the stored dtype or bytes)")
        bad = ((matrix < low) | (matrix > high)).any(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            value = matrix[row][(matrix[row] < low) | (matrix[row] > high)][0]
            raise self.fail(positions[row], f"value {int(value)} is out of range "
                            f"[{low}, {high}]")
        return matrix.astype(self.layout.element)

    # ---- floats to half precision --------------------------------------------------------
    def from_floats(self, matrix: np.ndarray, positions: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            floats = np.asarray(matrix, dtype=np.float32)
        finite = np.isfinite(floats).all(axis=1)
        if not finite.all():
            raise self.fail(positions[int(np.argmin(finite))], "holds NaN or infinity "
                            "(or a value beyond float32)")
        if self.layout.dtype == DataType.FLOAT16_VECTOR:
            with np.errstate(over="ignore"):
                half = floats.astype(np.float16)
        else:
            half = float32_to_bfloat16(floats)
        finite = _finite_rows(half, self.layout.dtype)
        if not finite.all():
            raise self.fail(positions[int(np.argmin(finite))], "holds a value beyond the "
                            f"{self.layout.type_name} range")
        return half

    def check_half_finite(self, matrix: np.ndarray, positions: np.ndarray) -> None:
        finite = _finite_rows(matrix, self.layout.dtype)
        if finite is not None and not finite.all():
            raise self.fail(positions[int(np.argmin(finite))], "holds NaN or infinity")


def _finite_rows(matrix: np.ndarray, dtype: DataType) -> np.ndarray | None:
    """Per row: no NaN or infinity (None for types without them)."""
    if dtype == DataType.FLOAT16_VECTOR:
        return np.isfinite(matrix).all(axis=1)
    if dtype == DataType.BFLOAT16_VECTOR:
        return ((matrix & 0x7F80) != 0x7F80).all(axis=1)
    return None


# ---- FLOAT_VECTOR ----------------------------------------------------------------------------
def vectors_to_matrix(values: Any, dim: int, field_name: str, what: str = "row") -> np.ndarray:
    """Stack float vectors (lists or numpy arrays) into a C-contiguous float32 matrix."""
    try:
        matrix = np.asarray(values, dtype=np.float32)
    except (ValueError, TypeError):
        matrix = None
    if matrix is None or matrix.ndim != 2:
        _raise_bad_vector(values, dim, field_name, what)
    if matrix.shape[1] != dim:
        raise DataNotMatchException(
            f"vector field '{field_name}' expected dim {dim}, got {matrix.shape[1]} "
            f"({what} 0)")
    if not np.isfinite(matrix).all():
        position = int(np.argmax(~np.isfinite(matrix).all(axis=1)))
        raise DataNotMatchException(f"vector field '{field_name}' holds NaN or infinity at "
                                    f"{what} {position}")
    return np.ascontiguousarray(matrix)


def _raise_bad_vector(values: Sequence, dim: int, field_name: str, what: str) -> None:
    for position, value in enumerate(values):
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
            raise DataNotMatchException(
                f"The Input data type is inconsistent with defined schema, {{{field_name}}} "
                f"field should be a float_vector, but got a {type(value).__name__} at {what} "
                f"{position}")
        if len(value) != dim:
            raise DataNotMatchException(f"vector field '{field_name}' expected dim {dim}, got "
                                        f"{len(value)} ({what} {position})")
        try:
            np.asarray(value, dtype=np.float32)
        except (ValueError, TypeError):
            raise DataNotMatchException(
                f"vector field '{field_name}' at {what} {position} holds a non-number: "
                f"{value!r:.80}") from None
    raise DataNotMatchException(f"vector field '{field_name}' expects a list of vectors")
