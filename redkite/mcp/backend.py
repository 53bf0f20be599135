"""The MCP server's one way to the data: redkite ``AsyncMilvusClient`` instances (one per
database name, opened lazily, closed when the server stops) behind a proxy that turns
every database error into a tool error with a next-step hint."""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable

from ..client import AsyncMilvusClient
from .config import McpConfig
from .errors import tool_error


class DbClient:
    """An ``AsyncMilvusClient`` whose coroutine methods raise ToolError on failure:
    ``await db.search("docs", ...)`` fails with "search 'docs' failed: ... <hint>"."""

    def __init__(self, client: AsyncMilvusClient, database: str) -> None:
        self._client = client
        self.database = database

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        target = getattr(self._client, method)
        if not inspect.iscoroutinefunction(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await target(*args, **kwargs)
            except Exception as exc:
                subject = f" {args[0]!r}" if args and isinstance(args[0], str) else ""
                raise tool_error(exc, f"{method}{subject}") from exc
        return call


class Backend:
    """The clients of one server: ``client(database)`` for each database a tool names
    (the configured one when it names none)."""

    def __init__(self, config: McpConfig) -> None:
        self.config = config
        self._clients: dict[str, AsyncMilvusClient] = {}
        self.client()  # checks the uri now: a bad one stops the server before it serves

    def client(self, database: str | None = None) -> DbClient:
        name = database or self.config.db_name or "default"
        if name not in self._clients:
            self._clients[name] = AsyncMilvusClient(
                self.config.uri, token=self.config.token,
                db_name="" if name == "default" else name)
        return DbClient(self._clients[name], name)

    async def aclose(self) -> None:
        """Close every client (the embedded database checkpoints on the last close)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def backend_of(ctx: Any) -> Backend:
    """The Backend of the server running a tool (its lifespan context)."""
    return ctx.request_context.lifespan_context


async def load_state(db: DbClient, collection: str) -> str:
    """The collection's load state by name: Loaded, NotLoad, Loading."""
    state = (await db.get_load_state(collection)).get("state")
    return getattr(state, "name", str(state))
