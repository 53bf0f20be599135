"""Result shapes of the tools (pydantic models: they are the tools' output schemas) and
the conversion of rows and hits to JSON: vectors decoded to numbers (only when asked
for), sparse vectors as ``{"index": value}``, results capped in rows and bytes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ..types import DataType
from .schema_info import CollectionInfo

MAX_LIMIT = 100
MAX_WINDOW = 16384  # Milvus's cap on offset + limit
MAX_RESULT_BYTES = 512 * 1024
_HIGHER_IS_CLOSER = {"IP", "COSINE", "BM25"}
_INT_BYTE_DTYPES = {DataType.INT8_VECTOR: np.int8, DataType.BINARY_VECTOR: np.uint8}


class Rows(BaseModel):
    """Rows of a collection, one page."""

    collection: str
    database: str
    rows: list[dict[str, Any]]
    next_offset: int | None = Field(
        None, description="Pass as offset to read the next page; null when this is the last.")
    truncated: bool = Field(False, description="True when rows were cut to keep the reply "
                                               "small; next_offset continues after them.")


class Hit(BaseModel):
    id: int | str = Field(description="Primary key of the row.")
    distance: float = Field(description="Score; see distance_meaning.")
    fields: dict[str, Any] = Field(default_factory=dict)


class SearchResults(BaseModel):
    """Hits, closest first."""

    collection: str
    database: str
    searched_fields: list[str]
    distance_meaning: str
    hits: list[Hit]
    next_offset: int | None = Field(
        None, description="Pass as offset for the next hits; null when fewer were found.")
    truncated: bool = False


class WriteResult(BaseModel):
    collection: str
    database: str
    count: int = Field(description="Rows written (inserted, upserted or deleted).")
    ids: list[int | str] = Field(default_factory=list)


class DeleteResult(BaseModel):
    collection: str
    database: str
    dry_run: bool
    matched: int = Field(description="Rows the condition selects.")
    deleted: int = Field(description="Rows deleted (0 in a dry run).")
    next_step: str = ""


class Done(BaseModel):
    """An operation that completed."""

    message: str
    details: dict[str, Any] = Field(default_factory=dict)


def distance_meaning(metric: str | None) -> str:
    if metric is None:
        return "distance of the index's metric"
    closer = "higher is closer" if metric.upper() in _HIGHER_IS_CLOSER else "lower is closer"
    return f"{metric.upper()}: {closer}"


def shape_rows(rows: list[dict], info: CollectionInfo) -> tuple[list[dict], bool]:
    """JSON-ready rows, cut when their JSON exceeds MAX_RESULT_BYTES (flag returned)."""
    shaped, size = [], 0
    for row in rows:
        entry = {key: _value(value, info.fields.get(key)) for key, value in row.items()}
        size += len(json.dumps(entry, default=str))
        if shaped and size > MAX_RESULT_BYTES:
            return shaped, True
        shaped.append(entry)
    return shaped, False


def shape_hits(hits: list, info: CollectionInfo) -> tuple[list[Hit], bool]:
    rows, truncated = shape_rows([hit["entity"] for hit in hits], info)
    return [Hit(id=hit.id, distance=float(hit.distance), fields=row)
            for hit, row in zip(hits, rows)], truncated


def _value(value: Any, dtype: DataType | None) -> Any:
    """One field value as JSON: decoded vectors, sparse keys as strings, no bytes."""
    if dtype == DataType.SPARSE_FLOAT_VECTOR and isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], bytes):
        value = value[0]  # query/get return [b"..."] for byte-encoded vectors
    if isinstance(value, bytes):
        return _decode_bytes(value, dtype)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode_bytes(raw: bytes, dtype: DataType | None) -> Any:
    if dtype == DataType.BFLOAT16_VECTOR:
        bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).tolist()
    if dtype == DataType.FLOAT16_VECTOR:
        return np.frombuffer(raw, dtype=np.float16).astype(np.float32).tolist()
    if dtype in _INT_BYTE_DTYPES:  # int8 values, or binary vectors' packed bytes
        return np.frombuffer(raw, dtype=_INT_BYTE_DTYPES[dtype]).tolist()
    return raw.hex()


def check_limit(limit: int, offset: int) -> None:
    """Milvus caps limit + offset at 16,384; say so before the database does."""
    if limit + offset > MAX_WINDOW:
        raise ToolError(f"offset + limit is {offset + limit}, over 16,384: narrow the "
                        "filter instead of paging this deep.")
