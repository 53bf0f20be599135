"""Compile redkite's Milvus .proto files into ``_gen/milvus.desc``.

The output is a serialized ``FileDescriptorSet`` made by protoc (``grpcio-tools``); at
import, :mod:`redkite.protocol` builds the message classes from it in a descriptor pool of
its own. Two reasons for a descriptor set rather than ``*_pb2.py`` modules:

* redkite's messages have Milvus's full names (``milvus.proto.common.Status``), as do
  pymilvus's; a private pool lets both live in one process (the default pool would
  reject the second definition);
* a descriptor set does not depend on the protobuf runtime's version, whereas ``_pb2.py``
  gencode refuses to load on a runtime older than the protoc that produced it.

Run by the build (``setup.py``'s ``build_py``) and by ``make proto``; standard library and
``grpc_tools`` only, so that ``setup.py`` can load this file without redkite's
dependencies installed::

    python redkite/protocol/build.py [OUT_DIR]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
PROTO_FILES = ("common.proto", "schema.proto", "milvus.proto")
GEN_DIR_NAME = "_gen"
DESCRIPTOR_FILE = "milvus.desc"
HASH_FILE = "SOURCE_SHA256"


def source_hash(proto_dir: Path = PROTO_DIR) -> str:
    """SHA-256 over the .proto sources (names and bytes), to tell a stale output."""
    digest = hashlib.sha256()
    for name in PROTO_FILES:
        digest.update(name.encode() + b"\0" + (proto_dir / name).read_bytes() + b"\0")
    return digest.hexdigest()


def compile_protos(out_dir: Path | None = None, proto_dir: Path = PROTO_DIR) -> Path:
    """Run protoc over the .proto files; return the descriptor set written in ``out_dir``."""
    from grpc_tools import protoc  # build requirement, not a runtime one

    out_dir = Path(out_dir) if out_dir is not None else proto_dir / GEN_DIR_NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DESCRIPTOR_FILE
    partial = out_dir / (DESCRIPTOR_FILE + ".tmp")
    status = protoc.main(["grpc_tools.protoc", f"-I{proto_dir}",
                          f"--descriptor_set_out={partial}", "--include_imports",
                          *(str(proto_dir / name) for name in PROTO_FILES)])
    if status != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"protoc failed (exit {status}) compiling {PROTO_FILES} in "
                           f"{proto_dir}")
    partial.replace(target)
    (out_dir / HASH_FILE).write_text(source_hash(proto_dir) + "\n")
    return target


if __name__ == "__main__":
    written = compile_protos(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"wrote {written}")
