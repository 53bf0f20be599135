"""Entity rows between the REST JSON shape (spec §5) and the engine.

Input (:func:`rows_in`): insert/upsert rows are JSON objects. Int64 values may be decimal
strings (exact at any size); binary, float16, bfloat16 and int8 vectors may be base64 strings
of their raw bytes; a sparse vector may be ``{"indices": [...], "values": [...]}`` or
``{"<index>": value}``. Everything else goes to the engine as decoded.

Output (:func:`rows_out`): from the engine's columnar result. The primary key and Int64
values are JSON numbers, or decimal strings when the client sent
``Accept-Type-Allow-Int64: false`` and, always, when beyond 2^53 (where JSON readers lose
precision); JSON fields are their JSON text (as Milvus returns them); ARRAY fields are plain
JSON arrays; float vectors are number arrays; binary, float16, bfloat16 and int8 vectors are
base64 strings of their bytes; sparse vectors are ``{"<index>": value}``; dynamic keys are
unpacked into the row. Conversions are column-at-a-time (Arrow casts, one numpy pass per
vector column).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...schema import DYNAMIC_FIELD, CollectionSchema
from ...types import DataType
from ...vectors import layout_of, matrix_from_arrow
from .framework import INVALID_INSERT_DATA, RestError

SAFE_INTEGER = 2 ** 53
BYTE_VECTORS = {DataType.BINARY_VECTOR, DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR,
                DataType.INT8_VECTOR}


def insert_error(message: str) -> RestError:
    return RestError(INVALID_INSERT_DATA, f"fail to deal the insert data, error: {message}")


# ---- input -----------------------------------------------------------------------------------
def rows_in(schema: CollectionSchema, data: Any) -> list[dict]:
    """The ``data`` of insert/upsert as engine rows (code 1804 when it is not a list of
    objects or a value cannot be decoded)."""
    if not isinstance(data, list):
        raise insert_error(f"data must be an array of objects, got {type(data).__name__}")
    if not all(isinstance(row, dict) for row in data):
        position = next(i for i, row in enumerate(data) if not isinstance(row, dict))
        raise insert_error(f"row {position} is not a JSON object")
    if schema.enable_dynamic_field and any(DYNAMIC_FIELD in row for row in data):
        raise insert_error(f"use the invalid field name({DYNAMIC_FIELD}) when enable "
                           "dynamicField")
    for field in schema.fields:
        decode = _DECODERS.get(field.dtype)
        if decode is not None:
            name = field.name
            for position, row in enumerate(data):
                value = row.get(name)
                if value is not None:
                    row[name] = decode(value, name, position)
    return data


def _int64_in(value: Any, name: str, position: int) -> Any:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise insert_error(f"field {name} of row {position}: {value!r} is not an "
                               "integer") from None
    return value


def _bytes_in(value: Any, name: str, position: int) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise insert_error(f"field {name} of row {position}: not a base64 string or an "
                               "array") from None
    return value


def _sparse_in(value: Any, name: str, position: int) -> Any:
    if isinstance(value, dict) and set(value) == {"indices", "values"}:
        indices, values = value["indices"], value["values"]
        if not (isinstance(indices, list) and isinstance(values, list)
                and len(indices) == len(values)):
            raise insert_error(f"field {name} of row {position}: indices and values must be "
                               "arrays of the same length")
        return dict(zip(indices, values))
    return value


_DECODERS = {DataType.INT64: _int64_in, DataType.SPARSE_FLOAT_VECTOR: _sparse_in,
             **{dtype: _bytes_in for dtype in BYTE_VECTORS}}


def queries_in(field: Any, data: Any) -> Any:
    """Search ``data`` for ``field``: base64 strings of byte vectors decoded, sparse
    ``{indices, values}`` objects as dicts; anything else as sent."""
    if not isinstance(data, list):
        return data
    decode = _DECODERS.get(field.dtype) if field.is_vector else None
    if decode is None:
        return data
    return [decode(value, field.name, position) for position, value in enumerate(data)]


def ids_in(ids: Any, pk_type: DataType, key: str = "id") -> list:
    """Primary keys of ``get``/search-by-ids: a scalar or an array of ints or strings (Int64
    keys may be decimal strings). Other values: code 1806."""
    from .framework import CHECK_PRIMARY_KEY

    values = ids if isinstance(ids, list) else [ids]
    out = []
    for value in values:
        if pk_type == DataType.INT64 and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                value = None
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                pk_type == DataType.INT64) != isinstance(value, int):
            raise RestError(CHECK_PRIMARY_KEY,
                            f"please check the primary key and its' type can only in [int, "
                            f"string]: {key} holds {value!r}")
        out.append(value)
    return out


# ---- output ----------------------------------------------------------------------------------
def rows_out(table: pa.Table, plan: Any, schema: CollectionSchema,
             int64_as_string: bool) -> list[dict]:
    """Result rows of an engine columnar result (``table`` and its output ``plan``)."""
    if table.num_rows == 0:
        return []
    names = [n for n in table.column_names if n != DYNAMIC_FIELD]
    columns = {name: _column_out(table.column(name), schema.field(name), int64_as_string)
               for name in names}
    arrow = {name: c for name, c in columns.items() if not isinstance(c, list)}
    rows = (pa.table(arrow).to_pylist() if arrow
            else [{} for _ in range(table.num_rows)])
    for name, column in columns.items():
        if isinstance(column, list):  # converted in Python
            for row, value in zip(rows, column):
                row[name] = value
    if plan.dynamic_keys is not False and DYNAMIC_FIELD in table.column_names:
        keys = None if plan.dynamic_keys is True else set(plan.dynamic_keys)
        for row, text in zip(rows, table.column(DYNAMIC_FIELD).to_pylist()):
            if text and text != "{}":
                meta = json.loads(text)
                row.update(meta if keys is None else
                           {k: v for k, v in meta.items() if k in keys})
    return rows


def _column_out(column: pa.ChunkedArray, field: Any, int64_as_string: bool) -> Any:
    """One output column: an Arrow column, or a Python list of the row values."""
    if field is None:
        return column
    dtype = field.dtype
    if dtype == DataType.INT64:
        return int64_out(column, int64_as_string)
    if dtype == DataType.ARRAY and field.element_type == DataType.INT64 and int64_as_string:
        return pc.cast(column, pa.list_(pa.string()))
    if dtype in BYTE_VECTORS:
        return _base64_rows(column, field)
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        return [None if v is None else {str(i): w for i, w in v}
                for v in column.to_pylist()]
    if dtype == DataType.FLOAT_VECTOR:
        matrix = matrix_from_arrow(column, layout_of(field))
        return matrix.tolist()
    return column


def int64_out(column: Any, as_string: bool) -> Any:
    """Int64 values: strings when ``as_string``, else numbers except beyond 2^53."""
    column = column if isinstance(column, (pa.Array, pa.ChunkedArray)) else pa.array(
        column, pa.int64())
    if as_string:
        return pc.cast(column, pa.string())
    if len(column) == 0 or not _exceeds_safe(column):
        return column
    big = pc.greater(pc.abs(column), SAFE_INTEGER)
    return [None if v is None else (str(v) if b else v)
            for v, b in zip(column.to_pylist(), big.to_pylist())]


def _exceeds_safe(column: Any) -> bool:
    low, high = pc.min_max(column).values()
    return bool(low.is_valid and (abs(low.as_py()) > SAFE_INTEGER
                                  or abs(high.as_py()) > SAFE_INTEGER))


def _base64_rows(column: pa.ChunkedArray, field: Any) -> list:
    layout = layout_of(field)
    matrix = np.ascontiguousarray(matrix_from_arrow(column, layout))
    raw = matrix.view(np.uint8).reshape(len(matrix), -1)
    width = raw.shape[1]
    if width and width % 3 == 0:  # rows encode independently: one call for the column
        encoded = base64.b64encode(raw.tobytes()).decode()
        step = width // 3 * 4
        return [encoded[i:i + step] for i in range(0, len(encoded), step)]
    return [base64.b64encode(row.tobytes()).decode() for row in raw]


def keys_out(ids: Any, pk_type: DataType, as_string: bool) -> list:
    """insertIds / upsertIds: Int64 keys by :func:`int64_out`'s rule, strings as-is."""
    if pk_type != DataType.INT64:
        return list(ids.to_pylist() if hasattr(ids, "to_pylist") else ids)
    column = int64_out(ids, as_string)
    return column if isinstance(column, list) else column.to_pylist()
