"""The SDK: ``AsyncMilvusClient`` (``_async/``, written by hand) and ``MilvusClient``
(``_sync/``, generated from it by tools/async_to_sync.py), over a transport chosen from
the uri."""

from ._async import AsyncMilvusClient
from ._sync import MilvusClient

__all__ = ["MilvusClient", "AsyncMilvusClient"]
