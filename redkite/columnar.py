"""Row <-> column conversion against a collection schema.

Rows (``list[dict]``) become one :class:`pyarrow.RecordBatch` whose columns follow the
schema: scalars as Arrow arrays, vectors as :mod:`redkite.vectors` lays them out (dense
types as ``fixed_size_list``, sparse as ``map<uint32, float32>``), JSON and the dynamic
field ``$meta`` as JSON text. The conversion runs in Arrow's C++ code
(``pa.array`` with an explicit type); Python touches each row only to pull a field out of
it. Every violation raises :class:`~redkite.errors.DataNotMatchException` naming the field,
the row and the value.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import DataNotMatchException, ParamError
from .schema import DYNAMIC_FIELD, CollectionSchema, FieldSchema
from .types import FLOATING_TYPES, INTEGER_TYPES, DataType
from .vectors import layout_of, sparse_dicts, vector_column

# Computes function output columns from the other converted columns (by field name).
FunctionOutputs = Callable[[dict[str, pa.Array]], dict[str, pa.Array]]

def _json_default(value: Any) -> Any:
    """numpy scalars and arrays serialise as their Python equivalents (as in pymilvus)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                                 default=_json_default)
_to_json = _JSON_ENCODER.encode

_SCALAR_ARROW = {
    DataType.BOOL: pa.bool_(), DataType.INT8: pa.int8(), DataType.INT16: pa.int16(),
    DataType.INT32: pa.int32(), DataType.INT64: pa.int64(), DataType.FLOAT: pa.float32(),
    DataType.DOUBLE: pa.float64(), DataType.VARCHAR: pa.string(), DataType.JSON: pa.string(),
}


def arrow_type(fs: FieldSchema) -> pa.DataType:
    """The Arrow type redkite stores ``fs`` as."""
    if fs.is_vector:
        return layout_of(fs).arrow_type()
    if fs.dtype == DataType.ARRAY:
        return pa.list_(_SCALAR_ARROW[fs.element_type])
    return _SCALAR_ARROW[fs.dtype]


def arrow_schema(schema: CollectionSchema) -> pa.Schema:
    columns = [pa.field(f.name, arrow_type(f)) for f in schema.fields]
    if schema.enable_dynamic_field:
        columns.append(pa.field(DYNAMIC_FIELD, pa.string()))
    return pa.schema(columns)


def rows_to_batch(schema: CollectionSchema, rows: Sequence[dict] | ColumnBatch, *,
                  pk_values: Any = None, allow_pk: bool = True,
                  function_outputs: FunctionOutputs | None = None) -> pa.RecordBatch:
    """Convert and validate ``rows`` (or a :class:`ColumnBatch`); ``pk_values`` fills an
    auto_id primary key.

    Function output fields (``is_function_output``) must not be in the rows: their
    columns come from ``function_outputs``, called with the converted columns by name.
    """
    if isinstance(rows, ColumnBatch):
        return columns_to_batch(schema, rows, pk_values=pk_values, allow_pk=allow_pk,
                                function_outputs=function_outputs)
    outputs = {f.name for f in schema.fields if f.is_function_output}
    given = _uniform_columns(schema, rows)
    known = {f.name for f in schema.fields} - outputs
    extra = set() if given is not None else _extra_keys(rows, known)
    if extra & outputs:
        name = sorted(extra & outputs)[0]
        raise DataNotMatchException(
            f"Attempt to insert an unexpected function output field `{name}` to collection "
            f"(row {_first_row_with(rows, name)}): it is computed from the function's input")
    if extra and not schema.enable_dynamic_field:
        name = sorted(extra)[0]
        raise DataNotMatchException(
            f"Attempt to insert an unexpected field `{name}` to collection without enabling "
            f"dynamic field (row {_first_row_with(rows, name)})")
    columns: dict[str, pa.Array] = {}
    for fs in schema.fields:
        if fs.name in outputs:
            continue
        if fs.is_primary and fs.auto_id:
            columns[fs.name] = _auto_pk(fs, rows, pk_values, allow_pk)
        else:
            columns[fs.name] = _field_column(fs, rows, None if given is None else given[fs.name])
    _add_function_outputs(columns, outputs, function_outputs)
    arrays = [columns[fs.name] for fs in schema.fields]
    if schema.enable_dynamic_field:
        arrays.append(_dynamic_column(rows, extra))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(schema))


def _add_function_outputs(columns: dict, outputs: set[str],
                          function_outputs: FunctionOutputs | None) -> None:
    if not outputs:
        return
    if function_outputs is None:
        raise ParamError(f"fields {sorted(outputs)} are function outputs and need the "
                         "engine to compute them")
    columns.update(function_outputs(columns))


def _uniform_columns(schema: CollectionSchema, rows: Any) -> dict[str, tuple] | None:
    """Column values when every row holds exactly the user-supplied fields, else None.

    The common case (no missing keys, no dynamic keys) is transposed at C speed with
    ``itemgetter``; anything else takes the general path, which also reports errors.
    """
    names = [f.name for f in schema.fields
             if not (f.is_primary and f.auto_id) and not f.is_function_output]
    if not names or not isinstance(rows, list) or not rows:
        return None
    try:
        if set(map(len, rows)) != {len(names)}:
            return None
        picked = list(map(operator.itemgetter(*names), rows))
    except (KeyError, TypeError):
        return None
    columns = zip(*picked) if len(names) > 1 else [tuple(picked)]
    return dict(zip(names, columns))


def _check_rows(rows: Any) -> None:
    if not isinstance(rows, (list, tuple)):
        raise ParamError(f"wrong type of argument 'data', expected 'Dict' or list of 'Dict', "
                         f"got '{type(rows).__name__}'")
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ParamError(f"row {position} is a {type(row).__name__}, expected a dict")


def _extra_keys(rows: Sequence[dict], known: set[str]) -> set[str]:
    """Keys beyond the schema's; also checks that ``rows`` is a list of dicts."""
    if not isinstance(rows, (list, tuple)):
        _check_rows(rows)
    keys: set[str] = set()
    try:
        keys.update(*[row.keys() for row in rows])
    except (AttributeError, TypeError):
        _check_rows(rows)
        raise
    return keys - known


def _first_row_with(rows: Sequence[dict], key: str) -> int:
    return next(i for i, row in enumerate(rows) if key in row)


def _auto_pk(fs: FieldSchema, rows: Sequence[dict], pk_values: Any, allow_pk: bool) -> pa.Array:
    if not allow_pk and any(fs.name in row for row in rows):
        raise DataNotMatchException(
            f"the primary key field `{fs.name}` is auto_id: do not pass it "
            f"(row {_first_row_with(rows, fs.name)})")
    if pk_values is None:
        return _field_column(fs, rows)
    return pa.array(np.asarray(pk_values, dtype=np.int64))


def _field_column(fs: FieldSchema, rows: Sequence[dict],
                  values: Sequence | None = None) -> pa.Array:
    if values is None:
        values = [row.get(fs.name) for row in rows]
    if fs.is_vector:
        return vector_column(layout_of(fs), values, fs.name)
    if fs.dtype == DataType.JSON:
        column = _json_column(fs, values)
    else:
        column = _scalar_column(fs, values)
    return _apply_nulls(fs, column, rows)


def _scalar_column(fs: FieldSchema, values: list) -> pa.Array:
    target = arrow_type(fs)
    try:
        column = pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError) as exc:
        position, value = _first_bad_value(fs, values)
        raise DataNotMatchException(
            f"The Input data type is inconsistent with defined schema, {{{fs.name}}} field "
            f"should be a {_type_label(fs)}, but got {value!r} ({type(value).__name__}) at row "
            f"{position}. Detail: {exc}") from None
    if fs.dtype in INTEGER_TYPES or fs.dtype in FLOATING_TYPES:
        _reject_bools(fs, values)
    if fs.dtype == DataType.FLOAT:
        _check_float32_range(fs, column)
    _check_lengths(fs, column)
    return column


def _type_label(fs: FieldSchema) -> str:
    if fs.dtype == DataType.ARRAY:
        return f"array of {fs.element_type.name.lower()}"
    return fs.dtype.name.lower()


def _first_bad_value(fs: FieldSchema, values: list) -> tuple[int, Any]:
    target = arrow_type(fs)
    for position, value in enumerate(values):
        try:
            pa.array([value], type=target)
        except Exception:  # noqa: BLE001 - locating the culprit on the error path only
            return position, value
    return -1, None


def _reject_bools(fs: FieldSchema, values: list) -> None:
    # Arrow accepts True for numbers; Milvus does not.
    if bool not in set(map(type, values)):
        return
    for position, value in enumerate(values):
        if value is True or value is False:
            raise DataNotMatchException(
                f"field `{fs.name}` expects {fs.dtype.name}, got a bool {value!r} at row "
                f"{position}")


def _check_float32_range(fs: FieldSchema, column: pa.Array) -> None:
    data = column.to_numpy(zero_copy_only=False)
    finite_limit = np.finfo(np.float32).max
    with np.errstate(invalid="ignore"):
        bad = np.isinf(data) & ~np.isnan(data)
    if bad.any():
        position = int(np.argmax(bad))
        raise DataNotMatchException(f"field `{fs.name}`: value at row {position} is out of "
                                    f"range for FLOAT (|x| <= {finite_limit:.3e})")


def _check_lengths(fs: FieldSchema, column: pa.Array) -> None:
    if fs.dtype == DataType.VARCHAR:
        _check_utf8_lengths(fs.name, column, int(fs.params["max_length"]), "row")
    elif fs.dtype == DataType.ARRAY:
        lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
        capacity = int(fs.params["max_capacity"])
        if len(lengths) and lengths.max() > capacity:
            position = int(np.argmax(lengths > capacity))
            raise DataNotMatchException(
                f"field `{fs.name}`: the array at row {position} has {int(lengths[position])} "
                f"elements, more than max_capacity {capacity}")
        if fs.element_type == DataType.VARCHAR:
            _check_utf8_lengths(fs.name, pc.list_flatten(column),
                                int(fs.params["max_length"]), "element")


def _check_utf8_lengths(name: str, column: pa.Array, max_length: int, what: str) -> None:
    lengths = pc.binary_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    if len(lengths) and lengths.max() > max_length:
        position = int(np.argmax(lengths > max_length))
        raise DataNotMatchException(
            f"the length ({int(lengths[position])}) of the string in field `{name}` at "
            f"{what} {position} exceeds max_length ({max_length})")


def _json_column(fs: FieldSchema, values: list) -> pa.Array:
    texts = []
    for position, value in enumerate(values):
        if value is None:
            texts.append(None)
            continue
        try:
            texts.append(_to_json(value))
        except (TypeError, ValueError) as exc:
            raise DataNotMatchException(f"field `{fs.name}` at row {position} is not "
                                        f"JSON-serialisable: {exc}") from None
    return pa.array(texts, type=pa.string())


def _dynamic_column(rows: Sequence[dict], extra: set[str]) -> pa.Array:
    if not extra:
        return pa.array(["{}"] * len(rows), type=pa.string())
    names = sorted(extra)
    metas = [{name: row[name] for name in names if name in row} for row in rows]
    try:
        texts = [_to_json(meta) for meta in metas]
    except (TypeError, ValueError) as exc:
        position = next(i for i, meta in enumerate(metas) if not _encodes(meta))
        raise DataNotMatchException(f"dynamic field value at row {position} is not "
                                    f"JSON-serialisable: {exc}") from None
    return pa.array(texts, type=pa.string())


def _encodes(value: Any) -> bool:
    try:
        _to_json(value)
    except (TypeError, ValueError):
        return False
    return True


def _apply_nulls(fs: FieldSchema, column: pa.Array, rows: Sequence[dict]) -> pa.Array:
    if column.null_count == 0:
        return column
    if fs.has_default:
        return pc.fill_null(column, pa.scalar(fs.default_value, type=column.type))
    if fs.nullable:
        return column
    mask = column.is_null().to_numpy(zero_copy_only=False)
    position = int(np.argmax(mask))
    if fs.name not in rows[position]:
        raise DataNotMatchException(
            f"Insert missed an field `{fs.name}` to collection without set nullable==true or "
            f"set default_value (row {position})")
    raise DataNotMatchException(f"field `{fs.name}` is not nullable but row {position} "
                                "holds None")


@dataclass
class ColumnBatch:
    """Rows given column-wise, as the Milvus protocol sends them: one Arrow array per field
    present, ``num_rows`` long, a null marking a value left out (nullable or defaulted
    fields). ``$meta``, when present, holds each row's dynamic keys as JSON object text.
    Accepted wherever the engine takes rows (insert, upsert)."""

    columns: dict[str, pa.Array]
    num_rows: int

    def __len__(self) -> int:
        return self.num_rows


def first_row_without(rows: Sequence[dict] | ColumnBatch, name: str) -> int | None:
    """Position of the first row whose ``name`` is missing or None (None if every row has
    one)."""
    if isinstance(rows, ColumnBatch):
        column = rows.columns.get(name)
        if column is None:
            return 0 if rows.num_rows else None
        if column.null_count == 0:
            return None
        return int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
    return next((i for i, row in enumerate(rows)
                 if isinstance(row, dict) and row.get(name) is None), None)


def columns_to_batch(schema: CollectionSchema, data: ColumnBatch, *, pk_values: Any = None,
                     allow_pk: bool = True,
                     function_outputs: FunctionOutputs | None = None) -> pa.RecordBatch:
    """Validate column-wise rows against ``schema`` (the checks of :func:`rows_to_batch`:
    unknown fields, missing fields, nulls and defaults, value types and ranges, string
    lengths, array capacities, vector layouts, JSON text) and build the stored batch."""
    outputs = {f.name for f in schema.fields if f.is_function_output}
    given_outputs = sorted(outputs & set(data.columns))
    if given_outputs:
        raise DataNotMatchException(
            f"Attempt to insert an unexpected function output field `{given_outputs[0]}` to "
            "collection: it is computed from the function's input")
    known = {f.name for f in schema.fields}
    extra = sorted(set(data.columns) - known - {DYNAMIC_FIELD})
    if extra or (DYNAMIC_FIELD in data.columns and not schema.enable_dynamic_field):
        name = extra[0] if extra else DYNAMIC_FIELD
        raise DataNotMatchException(f"Attempt to insert an unexpected field `{name}` to "
                                    "collection without enabling dynamic field")
    for name, column in data.columns.items():
        if len(column) != data.num_rows:
            raise DataNotMatchException(f"field `{name}` has {len(column)} values for "
                                        f"{data.num_rows} rows")
    columns = {fs.name: _given_column(fs, data, pk_values, allow_pk)
               for fs in schema.fields if fs.name not in outputs}
    _add_function_outputs(columns, outputs, function_outputs)
    arrays = [columns[fs.name] for fs in schema.fields]
    if schema.enable_dynamic_field:
        arrays.append(_given_dynamic(data))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(schema))


def _given_column(fs: FieldSchema, data: ColumnBatch, pk_values: Any,
                  allow_pk: bool) -> pa.Array:
    column = data.columns.get(fs.name)
    if fs.is_primary and fs.auto_id:
        if column is not None and not allow_pk:
            raise DataNotMatchException(f"the primary key field `{fs.name}` is auto_id: do "
                                        "not pass it")
        if pk_values is not None:
            return pa.array(np.asarray(pk_values, dtype=np.int64))
    if column is None:
        if not (fs.nullable or fs.has_default):
            raise DataNotMatchException(
                f"Insert missed an field `{fs.name}` to collection without set "
                "nullable==true or set default_value")
        column = pa.nulls(data.num_rows, arrow_type(fs))
    if fs.is_vector:
        return _given_vectors(fs, column)
    if fs.dtype == DataType.JSON:
        column = _given_json(fs.name, column)
    else:
        column = _cast_scalars(fs, column)
        if fs.dtype == DataType.FLOAT:
            _check_float32_range(fs, column)
        _check_lengths(fs, column)
    if column.null_count == 0 or fs.nullable:
        return column
    if fs.has_default:
        return pc.fill_null(column, pa.scalar(fs.default_value, type=column.type))
    position = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
    raise DataNotMatchException(f"field `{fs.name}` is not nullable but row {position} "
                                "holds None")


def _same_kind(given: pa.DataType, target: pa.DataType) -> bool:
    for kind in (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
                 pa.types.is_string, pa.types.is_null):
        if kind(target):
            return kind(given) or pa.types.is_null(given)
    if pa.types.is_list(target):
        return pa.types.is_null(given) or (pa.types.is_list(given) and _same_kind(
            given.value_type, target.value_type))
    return False


def _cast_scalars(fs: FieldSchema, column: pa.Array) -> pa.Array:
    target = arrow_type(fs)
    if not _same_kind(column.type, target):
        raise DataNotMatchException(
            f"The Input data type is inconsistent with defined schema, {{{fs.name}}} field "
            f"should be a {_type_label(fs)}, but got {column.type} values")
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise DataNotMatchException(f"field `{fs.name}`: a value is out of range for "
                                    f"{_type_label(fs)}: {exc}") from None


def _given_vectors(fs: FieldSchema, column: pa.Array) -> pa.Array:
    if column.null_count:
        position = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
        raise DataNotMatchException(
            f"Insert missed an field `{fs.name}` to collection without set nullable==true "
            f"or set default_value (row {position})")
    if column.type != arrow_type(fs):
        raise DataNotMatchException(
            f"field `{fs.name}` is a {fs.dtype.name.lower()}"
            f"{'' if fs.dim is None else f' of dim {fs.dim}'}: got vectors stored as "
            f"{column.type}, expected {arrow_type(fs)}")
    return column


def _given_json(name: str, column: pa.Array, objects_only: bool = False) -> pa.Array:
    """JSON text (one document per row) checked to parse; the stored string column."""
    if not (pa.types.is_binary(column.type) or pa.types.is_string(column.type)
            or pa.types.is_null(column.type)):
        raise DataNotMatchException(f"field `{name}` expects JSON documents, got "
                                    f"{column.type} values")
    texts = column.cast(pa.string()) if not pa.types.is_string(column.type) else column
    for position, text in enumerate(texts.to_pylist()):
        if text is None:
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise DataNotMatchException(f"field `{name}` at row {position} is not valid "
                                        f"JSON: {exc}") from None
        if objects_only and not isinstance(value, dict):
            raise DataNotMatchException(f"dynamic field `{name}` at row {position} must be "
                                        f"a JSON object, got {text[:60]!r}")
    return texts


def _given_dynamic(data: ColumnBatch) -> pa.Array:
    column = data.columns.get(DYNAMIC_FIELD)
    if column is None:
        return pa.array(["{}"] * data.num_rows, type=pa.string())
    texts = _given_json(DYNAMIC_FIELD, column, objects_only=True)
    return pc.fill_null(texts, "{}")


def table_to_rows(table: pa.Table, json_columns: Iterable[str] = (),
                  dynamic_keys: Iterable[str] | None | bool = False,
                  sparse_columns: Iterable[str] = ()) -> list[dict]:
    """Materialise result rows (Arrow builds the dicts; JSON text is parsed; sparse vectors
    become ``{index: value}`` dicts).

    ``dynamic_keys``: False leaves ``$meta`` out, True flattens all of its keys into each
    row, an iterable flattens only those keys.
    """
    names = [n for n in table.schema.names if n != DYNAMIC_FIELD]
    rows = table.select(names).to_pylist()
    for name in sparse_columns:
        if name in names:
            for row, value in zip(rows, sparse_dicts(table.column(name))):
                row[name] = value
    for name in json_columns:
        if name in names:
            for row in rows:
                text = row[name]
                row[name] = None if text is None else json.loads(text)
    if dynamic_keys is not False and DYNAMIC_FIELD in table.schema.names:
        keys = None if dynamic_keys is True else set(dynamic_keys)
        for row, text in zip(rows, table.column(DYNAMIC_FIELD).to_pylist()):
            if text and text != "{}":
                meta = json.loads(text)
                row.update(meta if keys is None else {k: v for k, v in meta.items() if k in keys})
    return rows
