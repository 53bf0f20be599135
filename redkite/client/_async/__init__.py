"""The client class and the iterators it returns."""

from .client import AsyncMilvusClient
from .iterators import AsyncQueryIterator, AsyncSearchIterator

__all__ = ["AsyncMilvusClient", "AsyncQueryIterator", "AsyncSearchIterator"]
