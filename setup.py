"""setuptools hook: compile the Milvus .proto files into redkite/protocol/_gen/ on build.

Everything else is declared in pyproject.toml. ``build_py`` writes the descriptor set
into the wheel's tree, or into the source tree for an editable install (``pip install
-e .``, which the Makefile uses).
"""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PROTOCOL_DIR = ROOT / "redkite" / "protocol"


def _protocol_build_module():
    spec = importlib.util.spec_from_file_location("_redkite_protocol_build",
                                                  PROTOCOL_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithProtos(build_py):
    """``build_py`` plus protoc: the descriptor set the protocol package loads."""

    def run(self):
        super().run()
        protocol_build = _protocol_build_module()
        if getattr(self, "editable_mode", False):
            out_dir = PROTOCOL_DIR / protocol_build.GEN_DIR_NAME
        else:
            out_dir = Path(self.build_lib) / "redkite" / "protocol" / protocol_build.GEN_DIR_NAME
        protocol_build.compile_protos(out_dir, proto_dir=PROTOCOL_DIR)


setup(cmdclass={"build_py": BuildPyWithProtos})
