"""Result shaping: vectors of every type as JSON numbers, the reply-size cap, and what
the schema tells text search."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from redkite.mcp.schema_info import CollectionInfo
from redkite.mcp.shaping import MAX_RESULT_BYTES, shape_rows
from redkite.types import DataType, FunctionType


def _info(*fields: tuple[str, DataType], functions: list | None = None) -> CollectionInfo:
    outputs = {name for f in functions or [] for name in f["output_field_names"]}
    described = [{"name": name, "type": dtype, "is_primary": n == 0,
                  "is_function_output": name in outputs}
                 for n, (name, dtype) in enumerate(fields)]
    return CollectionInfo({"collection_name": "c", "fields": described,
                           "functions": functions or [], "enable_dynamic_field": False})


def test_vectors_of_every_type_become_numbers():
    info = _info(("id", DataType.INT64), ("f16", DataType.FLOAT16_VECTOR),
                 ("bf16", DataType.BFLOAT16_VECTOR), ("i8", DataType.INT8_VECTOR),
                 ("bin", DataType.BINARY_VECTOR), ("sp", DataType.SPARSE_FLOAT_VECTOR))
    bf16 = (np.array([1.5, -2.0], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    row = {"id": 1, "f16": [np.array([0.5, 2.0], dtype=np.float16).tobytes()],
           "bf16": bf16.tobytes(), "i8": np.array([-3, 7], dtype=np.int8).tobytes(),
           "bin": bytes([0b10000001]), "sp": {3: 0.25, 10: 1.0}}
    rows, truncated = shape_rows([row], info)
    assert rows == [{"id": 1, "f16": [0.5, 2.0], "bf16": [1.5, -2.0], "i8": [-3, 7],
                     "bin": [129], "sp": {"3": 0.25, "10": 1.0}}]
    assert not truncated
    json.dumps(rows)


def test_large_replies_are_cut_and_flagged():
    info = _info(("id", DataType.INT64), ("text", DataType.VARCHAR))
    rows = [{"id": i, "text": "x" * 20_000} for i in range(100)]
    shaped, truncated = shape_rows(rows, info)
    assert truncated and 0 < len(shaped) < 100
    assert len(json.dumps(shaped)) <= MAX_RESULT_BYTES
    assert shaped == rows[:len(shaped)]


def test_text_targets_are_found_whatever_the_field_names():
    bm25 = {"name": "f", "type": FunctionType.BM25, "input_field_names": ["body"],
            "output_field_names": ["terms"]}
    info = _info(("pk", DataType.VARCHAR), ("body", DataType.VARCHAR),
                 ("terms", DataType.SPARSE_FLOAT_VECTOR), functions=[bm25])
    assert info.text_target(None).output_field == "terms"
    assert info.text_target("body") is info.text_target("terms")
    with pytest.raises(ToolError, match="not a text-search field"):
        info.text_target("pk")
    with pytest.raises(ToolError, match="no vector field to search"):
        info.check_vector_field(None)


def test_text_embedding_functions_are_text_targets_too():
    embed = {"name": "e", "type": 2, "input_field_names": ["doc"],  # a number, as over gRPC
             "output_field_names": ["dense"], "params": {"provider": "openai"}}
    bm25 = {"name": "b", "type": "BM25", "input_field_names": ["title"],
            "output_field_names": ["title_terms"]}
    info = _info(("id", DataType.INT64), ("doc", DataType.VARCHAR),
                 ("dense", DataType.FLOAT_VECTOR), ("title", DataType.VARCHAR),
                 ("title_terms", DataType.SPARSE_FLOAT_VECTOR), functions=[embed, bm25])
    assert [(t.kind, t.output_field) for t in info.text_targets] == [
        ("TEXTEMBEDDING", "dense"), ("BM25", "title_terms")]
    with pytest.raises(ToolError, match="several text-search fields: \\['doc', 'title'\\]"):
        info.text_target(None)
    assert info.text_target("title").output_field == "title_terms"
    assert info.check_vector_field(None) == "dense"  # embeddings also take a vector
    with pytest.raises(ToolError, match="BM25 terms"):
        info.check_vector_field("title_terms")
