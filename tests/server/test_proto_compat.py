"""Wire compatibility: every message, field, enum and RPC redkite's .proto files declare
matches the Milvus protocol as pymilvus 3.0.2 compiled it (same full names, field numbers,
types, labels, oneofs, map entries and enum values)."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor as D

from redkite.protocol import SERVICE, common_pb2, milvus_pb2, schema_pb2
from redkite.server.grpc_server import BARE_STATUS_RPCS, REFUSED_RPCS

pymilvus_grpc = pytest.importorskip("pymilvus.grpc_gen.milvus_pb2")
from pymilvus.grpc_gen import common_pb2 as py_common  # noqa: E402
from pymilvus.grpc_gen import milvus_pb2 as py_milvus  # noqa: E402
from pymilvus.grpc_gen import schema_pb2 as py_schema  # noqa: E402

OURS = {"common.proto": common_pb2, "schema.proto": schema_pb2, "milvus.proto": milvus_pb2}
THEIRS = {"common.proto": py_common, "schema.proto": py_schema, "milvus.proto": py_milvus}
PY_SERVICE = py_milvus.DESCRIPTOR.services_by_name["MilvusService"]


def _messages(descriptor):
    for message in descriptor.message_types_by_name.values():
        yield from _nested(message)


def _nested(message):
    yield message
    for inner in message.nested_types:
        yield from _nested(inner)


def _enums(descriptor):
    yield from descriptor.enum_types_by_name.values()
    for message in _messages(descriptor):
        yield from message.enum_types


def _field_facts(field) -> tuple:
    kind = field.message_type or field.enum_type
    oneof = field.containing_oneof
    return (field.number, field.type, field.is_repeated, kind.full_name if kind else None,
            oneof.name if oneof is not None else None, field.has_presence)


ALL_MESSAGES = [(name, m) for name, module in OURS.items() for m in _messages(module.DESCRIPTOR)]
ALL_ENUMS = [(name, e) for name, module in OURS.items() for e in _enums(module.DESCRIPTOR)]


def test_the_subset_is_substantial():
    assert len(ALL_MESSAGES) >= 120 and len(ALL_ENUMS) >= 10 and len(SERVICE.methods) >= 49


@pytest.mark.parametrize("file_name,message", ALL_MESSAGES, ids=lambda x: getattr(
    x, "full_name", x))
def test_message_matches_milvus(file_name, message):
    theirs = py_common.DESCRIPTOR.pool.FindMessageTypeByName(message.full_name)
    assert theirs.file.name == file_name, f"{message.full_name} lives in {theirs.file.name}"
    assert message.GetOptions().map_entry == theirs.GetOptions().map_entry
    for field in message.fields:
        other = theirs.fields_by_name.get(field.name)
        assert other is not None, f"{message.full_name}.{field.name} is not a Milvus field"
        assert _field_facts(field) == _field_facts(other), f"{message.full_name}.{field.name}"


@pytest.mark.parametrize("file_name,enum", ALL_ENUMS, ids=lambda x: getattr(x, "full_name", x))
def test_enum_matches_milvus(file_name, enum):
    theirs = py_common.DESCRIPTOR.pool.FindEnumTypeByName(enum.full_name)
    assert {v.name: v.number for v in enum.values} == {v.name: v.number for v in theirs.values}


def test_every_rpc_matches_milvus():
    for method in SERVICE.methods:
        theirs = PY_SERVICE.methods_by_name[method.name]
        assert method.input_type.full_name == theirs.input_type.full_name, method.name
        assert method.output_type.full_name == theirs.output_type.full_name, method.name
        assert not (method.client_streaming or method.server_streaming)


def test_rpcs_pymilvus_calls_for_redkite_features_are_implemented():
    implemented = {m.name for m in SERVICE.methods}
    core = {"Connect", "GetVersion", "CreateCollection", "DescribeCollection", "HasCollection",
            "ShowCollections", "DropCollection", "RenameCollection", "LoadCollection",
            "ReleaseCollection", "GetLoadState", "GetLoadingProgress",
            "GetCollectionStatistics", "TruncateCollection", "CreatePartition", "DropPartition",
            "HasPartition", "ShowPartitions", "LoadPartitions", "ReleasePartitions",
            "GetPartitionStatistics", "CreateIndex", "DescribeIndex", "DropIndex",
            "GetIndexState", "GetIndexBuildProgress", "CreateAlias", "DropAlias", "AlterAlias",
            "DescribeAlias", "ListAliases", "CreateDatabase", "DropDatabase", "ListDatabases",
            "DescribeDatabase", "Insert", "Upsert", "Delete", "Query", "Search", "HybridSearch",
            "Flush", "GetFlushState", "ManualCompaction", "GetCompactionState",
            "AllocTimestamp", "CheckHealth"}
    assert core <= implemented


def test_unimplemented_replies_have_the_shape_pymilvus_decodes():
    """Every Milvus RPC redkite lacks is answered either as a bare Status, as a reply with
    the status in field 1, or refused (streaming / status elsewhere)."""
    implemented = {m.name for m in SERVICE.methods}
    for method in PY_SERVICE.methods:
        if method.name in implemented:
            continue
        reply = method.output_type
        bare = reply.full_name == "milvus.proto.common.Status"
        status_first = (1 in reply.fields_by_number and reply.fields_by_number[1].message_type
                        is not None and reply.fields_by_number[1].message_type.full_name
                        == "milvus.proto.common.Status")
        streaming = method.client_streaming or method.server_streaming
        if method.name in REFUSED_RPCS:
            assert streaming or not (bare or status_first), method.name
        elif method.name in BARE_STATUS_RPCS:
            assert bare and not streaming, method.name
        else:
            assert status_first and not streaming, method.name


def test_messages_interoperate_byte_for_byte():
    """A request built by pymilvus parses in redkite's classes and re-serializes to the same
    bytes, and redkite's replies parse in pymilvus's."""
    from pymilvus.client.prepare import Prepare

    request = Prepare.query_request("c", "id > 1", ["a", "b"], ["p"], limit=5, offset=1)
    ours = milvus_pb2.QueryRequest.FromString(request.SerializeToString())
    assert ours.SerializeToString(deterministic=True) == request.SerializeToString(
        deterministic=True)
    reply = milvus_pb2.MutationResult(insert_cnt=3, IDs=schema_pb2.IDs(
        int_id=schema_pb2.LongArray(data=[1, 2, 3])))
    parsed = py_milvus.MutationResult.FromString(reply.SerializeToString())
    assert list(parsed.IDs.int_id.data) == [1, 2, 3] and parsed.insert_cnt == 3


def test_field_kinds_are_declared_like_milvus():
    """A sample of facts spelled out, so a mistake in the comparison itself shows."""
    fd = schema_pb2.FieldData.DESCRIPTOR.fields_by_name
    assert (fd["valid_data"].number, fd["valid_data"].type) == (7, D.FieldDescriptor.TYPE_BOOL)
    assert schema_pb2.VectorField.DESCRIPTOR.fields_by_name["float16_vector"].number == 4
    assert common_pb2.ErrorCode.Value("CollectionNotExists") == 4
    assert milvus_pb2.SearchRequest.DESCRIPTOR.fields_by_name["placeholder_group"].number == 6
