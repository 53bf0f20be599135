"""The Milvus wire protocol as redkite implements it: messages and the MilvusService.

``common_pb2``, ``schema_pb2`` and ``milvus_pb2`` behave like protoc-generated modules
(message classes, enum wrappers, top-level enum values, ``DESCRIPTOR``), built at import
from the descriptor set that the build compiles from this package's .proto files (see
:mod:`redkite.protocol.build`). They live in a descriptor pool of their own, so they
coexist with pymilvus's identically named messages in one process.

In a source tree whose ``_gen/`` output is missing or older than the .proto files, the
import compiles them when ``grpcio-tools`` is installed (``make proto`` does the same).
"""

from __future__ import annotations

import types
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from . import build as _build

SERVICE_NAME = "milvus.proto.milvus.MilvusService"
_PACKAGE_DIR = Path(__file__).resolve().parent
_GEN_DIR = _PACKAGE_DIR / _build.GEN_DIR_NAME


def _descriptor_set_bytes() -> bytes:
    """The compiled descriptor set, recompiled first when the sources changed."""
    target = _GEN_DIR / _build.DESCRIPTOR_FILE
    sources_here = all((_PACKAGE_DIR / name).exists() for name in _build.PROTO_FILES)
    if sources_here and _is_stale(target):
        try:
            _build.compile_protos(_GEN_DIR)
        except ImportError:
            raise ImportError(
                f"redkite's protocol stubs ({target}) are missing or older than the .proto "
                "files, and grpcio-tools is not installed to compile them: run `make proto` "
                "or reinstall redkite (`pip install .`)") from None
    return target.read_bytes()


def _is_stale(target: Path) -> bool:
    stamp = _GEN_DIR / _build.HASH_FILE
    if not target.exists() or not stamp.exists():
        return True
    return stamp.read_text().strip() != _build.source_hash(_PACKAGE_DIR)


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    file_set = descriptor_pb2.FileDescriptorSet.FromString(_descriptor_set_bytes())
    for file_proto in file_set.file:
        pool.Add(file_proto)
    return pool


def _module(pool: descriptor_pool.DescriptorPool, file_name: str) -> types.ModuleType:
    """A namespace shaped like the ``*_pb2`` module protoc would generate for the file."""
    file_descriptor = pool.FindFileByName(file_name)
    module = types.ModuleType(f"{__name__}.{file_name.replace('.proto', '_pb2')}")
    module.DESCRIPTOR = file_descriptor
    for name, enum in file_descriptor.enum_types_by_name.items():
        setattr(module, name, EnumTypeWrapper(enum))
        for value in enum.values:
            setattr(module, value.name, value.number)
    for name, message in file_descriptor.message_types_by_name.items():
        setattr(module, name, message_factory.GetMessageClass(message))
    return module


POOL = _build_pool()
common_pb2 = _module(POOL, "common.proto")
schema_pb2 = _module(POOL, "schema.proto")
milvus_pb2 = _module(POOL, "milvus.proto")
SERVICE = POOL.FindServiceByName(SERVICE_NAME)

__all__ = ["POOL", "SERVICE", "SERVICE_NAME", "common_pb2", "schema_pb2", "milvus_pb2"]
