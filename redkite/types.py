"""Enumerations shared by every layer, with Milvus's numeric values."""

from __future__ import annotations

from enum import IntEnum


class DataType(IntEnum):
    """Milvus field data types; values are the ``schema.proto`` enum numbers."""

    NONE = 0
    BOOL = 1
    INT8 = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    FLOAT = 10
    DOUBLE = 11
    STRING = 20
    VARCHAR = 21
    ARRAY = 22
    JSON = 23
    GEOMETRY = 24
    TEXT = 25
    TIMESTAMPTZ = 26
    BINARY_VECTOR = 100
    FLOAT_VECTOR = 101
    FLOAT16_VECTOR = 102
    BFLOAT16_VECTOR = 103
    SPARSE_FLOAT_VECTOR = 104
    INT8_VECTOR = 105
    _ARRAY_OF_VECTOR = 106
    _ARRAY_OF_STRUCT = 200
    STRUCT = 201
    UNKNOWN = 999

    def __str__(self) -> str:  # pymilvus prints the number
        return str(self.value)


INTEGER_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64})
FLOATING_TYPES = frozenset({DataType.FLOAT, DataType.DOUBLE})
NUMERIC_TYPES = INTEGER_TYPES | FLOATING_TYPES
VECTOR_TYPES = frozenset({
    DataType.BINARY_VECTOR, DataType.FLOAT_VECTOR, DataType.FLOAT16_VECTOR,
    DataType.BFLOAT16_VECTOR, DataType.SPARSE_FLOAT_VECTOR, DataType.INT8_VECTOR,
})
# Types this version of redkite stores and filters. Others are rejected at schema time.
STORABLE_SCALAR_TYPES = frozenset({
    DataType.BOOL, *INTEGER_TYPES, *FLOATING_TYPES, DataType.VARCHAR, DataType.JSON,
    DataType.ARRAY,
})
STORABLE_VECTOR_TYPES = VECTOR_TYPES
ARRAY_ELEMENT_TYPES = frozenset({DataType.BOOL, *INTEGER_TYPES, *FLOATING_TYPES, DataType.VARCHAR})

INT_RANGES = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
}


class FunctionType(IntEnum):
    UNKNOWN = 0
    BM25 = 1
    TEXTEMBEDDING = 2
    RERANK = 3
    MINHASH = 4


class LoadState(IntEnum):
    NotExist = 0
    NotLoad = 1
    Loading = 2
    Loaded = 3

    def __repr__(self) -> str:
        return f"<LoadState: {self.name}>"

    def __str__(self) -> str:
        return self.name


class ConsistencyLevel(IntEnum):
    Strong = 0
    Session = 1
    Bounded = 2
    Eventually = 3
    Customized = 4


class IndexState(IntEnum):
    IndexStateNone = 0
    Unissued = 1
    InProgress = 2
    Finished = 3
    Failed = 4
    Deleted = 5


METRIC_TYPES = ("L2", "IP", "COSINE", "HAMMING", "JACCARD")

__all__ = [
    "DataType", "FunctionType", "LoadState", "ConsistencyLevel", "IndexState",
    "INTEGER_TYPES", "FLOATING_TYPES", "NUMERIC_TYPES", "VECTOR_TYPES",
    "STORABLE_SCALAR_TYPES", "STORABLE_VECTOR_TYPES", "ARRAY_ELEMENT_TYPES", "INT_RANGES",
    "METRIC_TYPES",
]
