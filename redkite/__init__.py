"""redkite: a Milvus-compatible vector database in Python.

``from redkite import MilvusClient`` gives pymilvus's MilvusClient API on an embedded
database file (``MilvusClient("./app.db")``); ``AsyncMilvusClient`` is the same API for
asyncio.
"""

from .client import AsyncMilvusClient, MilvusClient
from .client.search_requests import AnnSearchRequest, RRFRanker, WeightedRanker
from .errors import (
    CollectionNotExistException, DataNotMatchException, DatabaseLockedError, ErrorCode,
    FieldNotExistException, FilterSyntaxError, MilvusException, ParamError,
    PartitionNotExistException, PrimaryKeyException, StorageCorruptedError,
)
from .index_params import IndexParams
from .results import Hit, Hits, SearchPage, SearchResult
from .schema import CollectionSchema, FieldSchema, Function
from .types import ConsistencyLevel, DataType, FunctionType, IndexState, LoadState

__version__ = "0.1.0"

__all__ = [
    "MilvusClient", "AsyncMilvusClient", "DataType", "FieldSchema", "CollectionSchema", "Function", "FunctionType",
    "IndexParams", "LoadState", "ConsistencyLevel", "IndexState", "Hit", "Hits",
    "SearchResult", "SearchPage", "AnnSearchRequest", "RRFRanker", "WeightedRanker",
    "MilvusException", "ParamError", "DataNotMatchException",
    "PrimaryKeyException", "CollectionNotExistException", "PartitionNotExistException",
    "FieldNotExistException", "FilterSyntaxError", "DatabaseLockedError",
    "StorageCorruptedError", "ErrorCode", "__version__",
]
