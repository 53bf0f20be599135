"""redkite.protocol converters on their own: FieldData <-> Arrow (nulls, arrays, every
vector type), sparse encoding, placeholders, schemas and statuses."""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pytest

from redkite.columnar import columns_to_batch
from redkite.errors import (
    DataNotMatchException, MilvusException, ParamError, SchemaMismatchRetryableException,
)
from redkite.protocol import common_pb2, schema_pb2
from redkite.protocol.columns import (
    column_batch, field_data_from_arrow, field_data_to_arrow, ids_proto, ids_values,
    packed_array, sparse_rows_from_arrow, sparse_rows_to_arrow,
)
from redkite.protocol.schema_codec import field_to_proto, schema_from_proto, schema_to_proto
from redkite.protocol.status import exception_from_status, status_from_exception
from redkite.schema import CollectionSchema
from redkite.server.grpc_data import placeholder_vectors
from redkite.types import DataType


def _schema() -> CollectionSchema:
    s = CollectionSchema(enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("n", DataType.INT16, nullable=True)
    s.add_field("d", DataType.VARCHAR, max_length=4, default_value="dd")
    s.add_field("a", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=3,
                max_length=4)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("b", DataType.BINARY_VECTOR, dim=16)
    s.verify()
    return s


def _request_fields(n_rows: int = 4) -> list:
    """FieldData as pymilvus sends them: nullable/defaulted columns compacted + valid_data."""
    fields = [schema_pb2.FieldData(type=DataType.INT64, field_name="id", scalars=schema_pb2.
                                   ScalarField(long_data=schema_pb2.LongArray(
                                       data=list(range(n_rows)))))]
    n = schema_pb2.FieldData(type=DataType.INT16, field_name="n")
    n.scalars.int_data.data.extend([7, 9])
    n.valid_data.extend([False, True, False, True])
    d = schema_pb2.FieldData(type=DataType.VARCHAR, field_name="d")
    d.scalars.string_data.data.extend(["x"])
    d.valid_data.extend([False, False, True, False])
    a = schema_pb2.FieldData(type=DataType.ARRAY, field_name="a")
    a.scalars.array_data.element_type = DataType.VARCHAR
    for k in range(n_rows):
        a.scalars.array_data.data.add().string_data.data.extend(["s"] * (k % 3))
    v = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v")
    v.vectors.dim = 2
    v.vectors.float_vector.data.extend(np.arange(2 * n_rows, dtype=np.float32).tolist())
    b = schema_pb2.FieldData(type=DataType.BINARY_VECTOR, field_name="b")
    b.vectors.dim = 16
    b.vectors.binary_vector = bytes(range(2 * n_rows))
    meta = schema_pb2.FieldData(type=DataType.JSON, field_name="$meta", is_dynamic=True)
    meta.scalars.json_data.data.extend([b'{"k": %d}' % k for k in range(n_rows)])
    return [*fields, n, d, a, v, b, meta]


def test_request_columns_become_the_stored_batch():
    batch = columns_to_batch(_schema(), column_batch(_request_fields(), _schema(), 4))
    assert batch.column("n").to_pylist() == [None, 7, None, 9]
    assert batch.column("d").to_pylist() == ["dd", "dd", "x", "dd"]  # default filled
    assert batch.column("a").to_pylist() == [[], ["s"], ["s", "s"], []]
    assert batch.column("v").to_pylist()[3] == [6.0, 7.0]
    assert batch.column("b").to_pylist()[1] == [2, 3]
    assert batch.column("$meta").to_pylist()[2] == '{"k": 2}'


def test_result_columns_round_trip_through_field_data():
    schema = _schema()
    batch = columns_to_batch(schema, column_batch(_request_fields(), schema, 4))
    fields = [field_data_from_arrow(name, batch.column(name), schema.field(name))
              for name in batch.schema.names]
    by_name = {fd.field_name: fd for fd in fields}
    assert list(by_name["n"].valid_data) == [False, True, False, True]
    assert list(by_name["n"].scalars.int_data.data) == [0, 7, 0, 9]  # full length in replies
    assert by_name["$meta"].is_dynamic and by_name["v"].vectors.dim == 2
    for fd in fields:
        if fd.valid_data or fd.is_dynamic:  # null placeholders / JSON bytes: checked above
            continue
        assert field_data_to_arrow(fd, schema.field(fd.field_name)).to_pylist() == \
            batch.column(fd.field_name).to_pylist(), fd.field_name


@pytest.mark.parametrize("mutate,match", [
    (lambda f: f[1].valid_data.append(True), "valid_data"),
    (lambda f: setattr(f[4].vectors, "dim", 3), "dim"),
    (lambda f: f[0].scalars.CopyFrom(schema_pb2.ScalarField(
        int_data=schema_pb2.IntArray(data=[1, 2, 3, 4]))), "long_data"),
    (lambda f: f.append(schema_pb2.FieldData(type=DataType.INT64, field_name="zz",
                                             scalars=schema_pb2.ScalarField())), "zz"),
    (lambda f: f[6].scalars.json_data.data.__setitem__(0, b"[1]"), "JSON object"),
    (lambda f: f[3].scalars.array_data.data[1].string_data.data.append("toolong"), "max_length"),
])
def test_bad_request_columns_name_the_problem(mutate, match):
    fields = _request_fields()
    mutate(fields)
    with pytest.raises((DataNotMatchException, ParamError), match=match):
        columns_to_batch(_schema(), column_batch(fields, _schema(), 4))


def test_int_overflow_is_reported_not_wrapped():
    s = CollectionSchema([])
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("i8", DataType.INT8)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=1)
    s.verify()
    fields = [schema_pb2.FieldData(type=DataType.INT64, field_name="id", scalars=schema_pb2.
                                   ScalarField(long_data=schema_pb2.LongArray(data=[1]))),
              schema_pb2.FieldData(type=DataType.INT8, field_name="i8", scalars=schema_pb2.
                                   ScalarField(int_data=schema_pb2.IntArray(data=[300]))),
              schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v",
                                   vectors=schema_pb2.VectorField(
                                       dim=1, float_vector=schema_pb2.FloatArray(data=[1.0])))]
    with pytest.raises(DataNotMatchException, match="out of range"):
        columns_to_batch(s, column_batch(fields, s, 1))


def test_sparse_rows_sorted_checked_and_reencoded():
    def encode(pairs):
        return np.array(pairs, dtype=[("i", "<u4"), ("v", "<f4")]).tobytes()

    column = sparse_rows_to_arrow([encode([(9, 1.0), (2, 0.5)]), b"", encode([(4, 2.0)])], "sp")
    assert column.to_pylist() == [[(2, 0.5), (9, 1.0)], [], [(4, 2.0)]]
    assert sparse_rows_from_arrow(column)[0] == encode([(2, 0.5), (9, 1.0)])
    with pytest.raises(DataNotMatchException, match="more than once"):
        sparse_rows_to_arrow([encode([(3, 1.0), (3, 2.0)])], "sp")
    with pytest.raises(DataNotMatchException, match="whole number"):
        sparse_rows_to_arrow([b"\x01\x02\x03"], "sp")


def test_packed_arrays_equal_element_wise_ones():
    values = np.random.default_rng(1).random(1000).astype(np.float32)
    assert packed_array("FloatArray", values, "<f4") == schema_pb2.FloatArray(
        data=values.tolist())
    flags = np.array([True, False, True])
    assert packed_array("BoolArray", flags, "u1") == schema_pb2.BoolArray(data=[True, False, True])


def test_ids_both_kinds():
    assert ids_values(ids_proto([3, 1])) == [3, 1]
    assert ids_values(ids_proto(pa.array(["a", "b"]))) == ["a", "b"]
    assert ids_values(schema_pb2.IDs()) == []


def test_placeholders_decode_per_type():
    group = common_pb2.PlaceholderGroup()
    group.placeholders.add(tag="$0", type=common_pb2.FloatVector,
                           values=[np.array([1, 2], "<f4").tobytes(),
                                   np.array([3, 4], "<f4").tobytes()])
    assert placeholder_vectors(group.SerializeToString(), 2).tolist() == [[1, 2], [3, 4]]
    group.placeholders[0].type = common_pb2.Float16Vector
    assert placeholder_vectors(group.SerializeToString(), 2)[1] == np.array(
        [3, 4], "<f4").tobytes()
    sparse = common_pb2.PlaceholderGroup()
    sparse.placeholders.add(tag="$0", type=common_pb2.SparseFloatVector, values=[
        np.array([(5, 0.5)], dtype=[("i", "<u4"), ("v", "<f4")]).tobytes()])
    assert placeholder_vectors(sparse.SerializeToString(), 1) == [{5: 0.5}]
    with pytest.raises(ParamError, match="nq=3"):
        placeholder_vectors(group.SerializeToString(), 3)


def test_schema_round_trips_through_proto():
    s = _schema()
    back = schema_from_proto(schema_pb2.CollectionSchema.FromString(
        schema_to_proto(s, "c").SerializeToString()))
    back.verify()
    assert back.to_dict() == s.to_dict()
    proto = field_to_proto(s.field("d").to_dict())
    assert proto.default_value.string_data == "dd"
    assert {kv.key: kv.value for kv in proto.type_params} == {"max_length": "4"}


def test_statuses_round_trip_exceptions():
    status = status_from_exception(ParamError("bad thing"))
    assert (status.code, status.error_code, status.extra_info["is_input_error"]) == (
        1100, common_pb2.IllegalArgument, "true")
    back = exception_from_status(status)
    assert isinstance(back, MilvusException) and back.code == 1100 and back.is_input_error
    assert isinstance(exception_from_status(status_from_exception(
        SchemaMismatchRetryableException("stale"))), SchemaMismatchRetryableException)
    assert exception_from_status(common_pb2.Status()) is None


def test_vector_columns_round_trip_exactly():
    """20,000 x 128 float vectors: request -> Arrow -> reply, bit for bit (the speed of
    this path is measured in bench/micro.py)."""
    rows, dim = 20_000, 128
    flat = np.random.default_rng(0).random(rows * dim, dtype=np.float32)
    fd = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="v")
    fd.vectors.dim = dim
    fd.vectors.float_vector.MergeFrom(packed_array("FloatArray", flat, "<f4"))
    wire = fd.SerializeToString()
    column = field_data_to_arrow(schema_pb2.FieldData.FromString(wire))
    from redkite.schema import FieldSchema
    back = field_data_from_arrow("v", column, FieldSchema("v", DataType.FLOAT_VECTOR, dim=dim))
    assert back.vectors.float_vector == fd.vectors.float_vector
