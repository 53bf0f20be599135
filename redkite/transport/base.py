"""The transport interface: how a client reaches a database.

A transport runs one named operation with keyword arguments and returns its result, from
synchronous code (``call``) or from a coroutine (``acall``), as httpx's transports do with
``handle_request`` / ``handle_async_request``. The clients are written against this
interface only: they never ask which transport they hold.

``open()`` connects now (idempotent); ``call`` and ``acall`` connect on first use, so a
transport can be built without I/O and without an event loop. ``close()`` / ``aclose()``
release it; calls after that raise :class:`~redkite.errors.MilvusException`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..errors import MilvusException


def closed_error() -> MilvusException:
    """The error of a call on a closed transport (pymilvus's wording)."""
    return MilvusException(message="should create connection first: the client is closed")


class Transport(ABC):
    """One small interface over every way of reaching a database."""

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """Where the transport leads (``file:<path>``, ``http://host:port``)."""

    @abstractmethod
    def open(self) -> None:
        """Connect now rather than on the first call (a no-op once connected)."""

    @abstractmethod
    def call(self, operation: str, **arguments: Any) -> Any:
        """Run ``operation`` with ``arguments`` and return its result (blocking)."""

    @abstractmethod
    async def acall(self, operation: str, **arguments: Any) -> Any:
        """Run ``operation`` without blocking the running event loop."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; later calls raise MilvusException."""

    @abstractmethod
    async def aclose(self) -> None:
        """``close()`` without blocking the running event loop."""
