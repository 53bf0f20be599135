"""Milvus ``schema.FieldData`` columns <-> Arrow arrays, a column at a time.

Numeric data moves in bulk: repeated numeric fields are read with ``np.array`` over the
container (the protobuf runtime exposes them as buffers), and packed fixed-width fields
(floats, doubles, bools) are written by parsing their wire encoding built from the numpy
bytes. Dense vectors travel as raw bytes (or packed floats) and map onto Arrow
``fixed_size_list`` columns without copying row by row; sparse vectors are each row's
``(uint32 index, float32 value)`` pairs.

Nullable columns: a request carries the valid values only plus ``valid_data`` (one flag
per row); a result carries one value per row (a zero placeholder where null) plus
``valid_data``, as Milvus does.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..columnar import ColumnBatch
from ..errors import DataNotMatchException, ParamError
from ..schema import DYNAMIC_FIELD, CollectionSchema, FieldSchema
from ..types import DataType
from ..vectors import VectorLayout, layout_of
from ..vectors.layout import SPARSE_ARROW_TYPE, arrow_from_matrix, matrix_from_arrow
from ..vectors.sparse import csr_from_entries, csr_to_arrow
from . import schema_pb2

SCALAR_SLOTS = {
    DataType.BOOL: "bool_data", DataType.INT8: "int_data", DataType.INT16: "int_data",
    DataType.INT32: "int_data", DataType.INT64: "long_data", DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data", DataType.VARCHAR: "string_data",
    DataType.STRING: "string_data", DataType.JSON: "json_data", DataType.ARRAY: "array_data",
}
VECTOR_SLOTS = {
    DataType.FLOAT_VECTOR: "float_vector", DataType.BINARY_VECTOR: "binary_vector",
    DataType.FLOAT16_VECTOR: "float16_vector", DataType.BFLOAT16_VECTOR: "bfloat16_vector",
    DataType.SPARSE_FLOAT_VECTOR: "sparse_float_vector", DataType.INT8_VECTOR: "int8_vector",
}
_NUMPY = {"bool_data": np.bool_, "int_data": np.int32, "long_data": np.int64,
          "float_data": np.float32, "double_data": np.float64}
_ARROW = {"bool_data": pa.bool_(), "int_data": pa.int32(), "long_data": pa.int64(),
          "float_data": pa.float32(), "double_data": pa.float64(),
          "string_data": pa.string(), "json_data": pa.binary()}
_ARRAY_CLASSES = {"bool_data": "BoolArray", "int_data": "IntArray", "long_data": "LongArray",
                  "float_data": "FloatArray", "double_data": "DoubleArray",
                  "string_data": "StringArray", "json_data": "JSONArray"}
_SPARSE_ENTRY = np.dtype([("index", "<u4"), ("value", "<f4")])
_PACKED_FIXED = {"float_data": "<f4", "double_data": "<f8", "bool_data": "u1"}


# ---- request columns -> Arrow -------------------------------------------------------------
def column_batch(fields_data: Any, schema: CollectionSchema, num_rows: int) -> ColumnBatch:
    """The columns of an Insert/Upsert request, checked against ``schema`` where a field
    is known (unknown ones are reported by the engine's validation)."""
    columns: dict[str, pa.Array] = {}
    for fd in fields_data:
        name = DYNAMIC_FIELD if fd.is_dynamic else fd.field_name
        if name in columns:
            raise ParamError(f"field `{name}` is given more than once in the request")
        field = schema.field(name)
        columns[name] = _expand_nulls(fd, field_data_to_arrow(fd, field), num_rows)
    return ColumnBatch(columns, num_rows)


def field_data_to_arrow(fd: Any, field: FieldSchema | None = None) -> pa.Array:
    """The values a FieldData holds (valid ones only when it has ``valid_data``)."""
    try:
        dtype = DataType(fd.type)
    except ValueError:
        raise ParamError(f"field `{fd.field_name}`: unknown data type {fd.type}") from None
    if field is not None and dtype != field.dtype and not (
            fd.is_dynamic and dtype == DataType.JSON):
        raise DataNotMatchException(f"field `{fd.field_name}` is {field.dtype.name} in the "
                                    f"schema, the request sends {dtype.name} data")
    if dtype in VECTOR_SLOTS:
        return _vectors_to_arrow(fd, dtype, field)
    slot = SCALAR_SLOTS.get(dtype)
    if slot is None:
        raise ParamError(f"field `{fd.field_name}`: data type {dtype.name} is not supported")
    kind = fd.scalars.WhichOneof("data")
    if kind not in (None, slot):
        raise DataNotMatchException(f"field `{fd.field_name}` is {dtype.name}: expected "
                                    f"{slot} values, got {kind}")
    if slot == "array_data":
        element = DataType(field.element_type) if field is not None else None
        return _arrays_to_arrow(fd.field_name, fd.scalars.array_data, element)
    return _scalar_values(getattr(fd.scalars, slot).data, slot)


def _scalar_values(data: Any, slot: str) -> pa.Array:
    if slot in _NUMPY:
        return pa.array(np.array(data, dtype=_NUMPY[slot]))
    return pa.array(list(data), type=_ARROW[slot])


def _arrays_to_arrow(name: str, array_data: Any, element: DataType | None) -> pa.Array:
    """ARRAY cells: one ScalarField message per row (the wire format's unit)."""
    element = element if element is not None else DataType(array_data.element_type or 0)
    slot = SCALAR_SLOTS.get(element)
    if slot is None or slot in ("array_data", "json_data"):
        raise DataNotMatchException(f"field `{name}`: unsupported array element type "
                                    f"{element.name}")
    cells = list(array_data.data)
    bad = next((i for i, cell in enumerate(cells)
                if cell.WhichOneof("data") not in (None, slot)), None)
    if bad is not None:
        raise DataNotMatchException(f"field `{name}` holds arrays of {element.name}: row "
                                    f"{bad} sends {cells[bad].WhichOneof('data')}")
    lists = [getattr(cell, slot).data for cell in cells]
    offsets = np.zeros(len(lists) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, lists), np.int64, len(lists)), out=offsets[1:])
    flat = list(chain.from_iterable(lists))
    values = pa.array(np.array(flat, dtype=_NUMPY[slot]) if slot in _NUMPY else flat,
                      type=_ARROW[slot])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _vectors_to_arrow(fd: Any, dtype: DataType, field: FieldSchema | None) -> pa.Array:
    vectors = fd.vectors
    slot = VECTOR_SLOTS[dtype]
    kind = vectors.WhichOneof("data")
    if kind not in (None, slot):
        raise DataNotMatchException(f"field `{fd.field_name}` is {dtype.name}: expected "
                                    f"{slot}, got {kind}")
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        return sparse_rows_to_arrow(list(vectors.sparse_float_vector.contents), fd.field_name)
    dim = int(vectors.dim)
    if field is not None and field.dim is not None and dim != int(field.dim):
        raise DataNotMatchException(f"the dim ({dim}) of field `{fd.field_name}` in the "
                                    f"request differs from the schema's dim ({field.dim})")
    layout = VectorLayout(dtype, dim)
    if dim <= 0 or layout.width == 0:
        raise DataNotMatchException(f"field `{fd.field_name}`: invalid vector dim {dim}")
    if dtype == DataType.FLOAT_VECTOR:
        flat = np.array(vectors.float_vector.data, dtype=np.float32)
    else:
        flat = np.frombuffer(getattr(vectors, slot), dtype=layout.element)
    if flat.size % layout.width:
        raise DataNotMatchException(f"field `{fd.field_name}`: {flat.size} values do not "
                                    f"split into vectors of dim {dim}")
    return arrow_from_matrix(flat.reshape(-1, layout.width), layout)


def sparse_rows_to_arrow(contents: list[bytes], field_name: str,
                         what: str = "row") -> pa.Array:
    """Sparse vectors in Milvus's encoding (per row: little-endian uint32 index, float32
    value pairs) as the stored ``map<uint32, float32>`` column."""
    counts, entries = sparse_entries(contents, field_name, what)
    return csr_to_arrow(*csr_from_entries(counts, entries["index"], entries["value"],
                                          field_name, what))


def sparse_entries(contents: list[bytes], field_name: str,
                   what: str = "row") -> tuple[np.ndarray, np.ndarray]:
    """Per-row entry counts and the flat ``(index, value)`` entries of sparse rows."""
    sizes = np.fromiter(map(len, contents), np.int64, len(contents))
    bad = np.flatnonzero(sizes % _SPARSE_ENTRY.itemsize)
    if len(bad):
        raise DataNotMatchException(f"sparse_float_vector field '{field_name}': {what} "
                                    f"{int(bad[0])} is {int(sizes[bad[0]])} bytes, not a "
                                    "whole number of (uint32, float32) pairs")
    entries = np.frombuffer(b"".join(contents), dtype=_SPARSE_ENTRY)
    return sizes // _SPARSE_ENTRY.itemsize, entries


def _expand_nulls(fd: Any, values: pa.Array, num_rows: int) -> pa.Array:
    """Spread the valid values over ``num_rows`` rows (nulls where ``valid_data`` is
    false); a column without ``valid_data`` is returned as is."""
    if len(fd.valid_data) == 0:
        return values
    valid = np.array(fd.valid_data, dtype=bool)
    if len(valid) != num_rows or int(valid.sum()) != len(values):
        raise DataNotMatchException(
            f"field `{fd.field_name}`: valid_data has {len(valid)} flags ({int(valid.sum())} "
            f"set) for {num_rows} rows and {len(values)} values")
    positions = np.cumsum(valid) - 1
    return values.take(pa.array(positions, mask=~valid))


# ---- stored columns -> response FieldData -------------------------------------------------
def field_data_from_arrow(name: str, column: pa.Array | pa.ChunkedArray,
                          field: FieldSchema | None) -> "schema_pb2.FieldData":
    """One result column as FieldData: ``field`` from the schema, or None for ``$meta``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if field is None:
        fd = schema_pb2.FieldData(type=DataType.JSON, field_name=name, is_dynamic=True)
        _fill_scalars(fd.scalars, "json_data", column)
        return fd
    fd = schema_pb2.FieldData(type=int(field.dtype), field_name=name, field_id=field.field_id)
    if field.is_vector:
        _fill_vectors(fd.vectors, column, layout_of(field))
        return fd
    if column.null_count:
        fd.valid_data.extend(column.is_valid().to_numpy(zero_copy_only=False).tolist())
    if field.dtype == DataType.ARRAY:
        _fill_arrays(fd.scalars.array_data, column, DataType(field.element_type))
    else:
        _fill_scalars(fd.scalars, SCALAR_SLOTS[field.dtype], column)
    return fd


def _fill_scalars(scalars: Any, slot: str, column: pa.Array) -> None:
    target = getattr(scalars, slot)
    target.SetInParent()
    if slot in _NUMPY:
        values = _numpy_filled(column, _NUMPY[slot])
        if slot in _PACKED_FIXED:
            target.MergeFrom(packed_array(_ARRAY_CLASSES[slot], values, _PACKED_FIXED[slot]))
        else:
            target.data.extend(values.tolist())
        return
    if pa.types.is_null(column.type):
        column = column.cast(_ARROW[slot])
    filled = pc.fill_null(column, "" if slot == "string_data" else b"")
    if slot == "json_data":
        filled = filled.cast(pa.binary())
    target.data.extend(filled.to_pylist())


def _numpy_filled(column: pa.Array, dtype: Any) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=dtype)
    if column.null_count:
        column = pc.fill_null(column, pa.scalar(False if dtype is np.bool_ else 0,
                                                type=column.type))
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype)


def packed_array(class_name: str, values: np.ndarray, wire_dtype: str) -> Any:
    """A ``FloatArray``/``DoubleArray``/``BoolArray`` built from its packed wire bytes
    (field 1, length-delimited) instead of element by element."""
    raw = np.ascontiguousarray(values, dtype=wire_dtype).tobytes()
    return getattr(schema_pb2, class_name).FromString(b"\x0a" + _varint(len(raw)) + raw)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fill_arrays(array_data: Any, column: pa.Array, element: DataType) -> None:
    """ARRAY cells, one ScalarField per row (null cells as empty arrays)."""
    array_data.element_type = int(element)
    slot = SCALAR_SLOTS[element]
    if pa.types.is_null(column.type) or len(column) == 0:
        array_data.data.extend(schema_pb2.ScalarField() for _ in range(len(column)))
        return
    offsets = pc.fill_null(column, pa.scalar([], type=column.type)).offsets
    bounds = offsets.to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(pc.fill_null(column, pa.scalar([], type=column.type)))
    values = flat.to_numpy(zero_copy_only=False).tolist() if slot in _NUMPY \
        else flat.to_pylist()
    cell_class = getattr(schema_pb2, _ARRAY_CLASSES[slot])
    array_data.data.extend(
        schema_pb2.ScalarField(**{slot: cell_class(data=values[start:end])})
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _fill_vectors(vectors: Any, column: pa.Array, layout: VectorLayout) -> None:
    vectors.dim = layout.dim
    slot = VECTOR_SLOTS[layout.dtype]
    if layout.is_sparse:
        vectors.sparse_float_vector.SetInParent()
        vectors.sparse_float_vector.contents.extend(sparse_rows_from_arrow(column))
        vectors.sparse_float_vector.dim = _sparse_dim(column)
        return
    if pa.types.is_null(column.type):
        matrix = layout.empty_matrix(len(column))
    else:
        matrix = matrix_from_arrow(column, layout)
    if layout.is_float32:
        vectors.float_vector.MergeFrom(packed_array("FloatArray", matrix.reshape(-1), "<f4"))
    else:
        setattr(vectors, slot, np.ascontiguousarray(matrix).tobytes())


def sparse_rows_from_arrow(column: pa.Array) -> list[bytes]:
    """Each row of a stored sparse column in Milvus's byte encoding."""
    if pa.types.is_null(column.type) or len(column) == 0:
        return [b""] * len(column)
    if column.type != SPARSE_ARROW_TYPE:
        raise ParamError(f"not a sparse vector column: {column.type}")
    bounds = column.offsets.to_numpy(zero_copy_only=False)
    entries = np.empty(bounds[-1] - bounds[0], dtype=_SPARSE_ENTRY)
    entries["index"] = column.keys.to_numpy(zero_copy_only=False)
    entries["value"] = column.items.to_numpy(zero_copy_only=False)
    raw = entries.tobytes()
    size = _SPARSE_ENTRY.itemsize
    start = int(bounds[0])
    return [raw[(a - start) * size:(b - start) * size]
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _sparse_dim(column: pa.Array) -> int:
    if pa.types.is_null(column.type) or len(column.keys) == 0:
        return 0
    return int(pc.max(column.keys).as_py()) + 1


def ids_proto(pks: pa.Array | pa.ChunkedArray | list) -> "schema_pb2.IDs":
    """Primary keys as ``IDs`` (int64 or string)."""
    if isinstance(pks, list):
        pks = pa.array(pks) if pks else pa.array([], pa.int64())
    if isinstance(pks, pa.ChunkedArray):
        pks = pks.combine_chunks() if pks.num_chunks != 1 else pks.chunk(0)
    if pa.types.is_string(pks.type) or pa.types.is_large_string(pks.type):
        return schema_pb2.IDs(str_id=schema_pb2.StringArray(data=pks.to_pylist()))
    values = np.asarray(pks.to_numpy(zero_copy_only=False), dtype=np.int64)
    return schema_pb2.IDs(int_id=schema_pb2.LongArray(data=values.tolist()))


def ids_values(ids: Any) -> list:
    """``IDs`` as a Python list of int or str primary keys."""
    kind = ids.WhichOneof("id_field")
    if kind is None:
        return []
    if kind == "int_id":
        return np.array(ids.int_id.data, dtype=np.int64).tolist()
    return list(ids.str_id.data)
