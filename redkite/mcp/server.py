"""Building and running the redkite MCP server: an ``MCPServer`` (the official ``mcp``
SDK 2.x) whose tools reach the data only through redkite's ``AsyncMilvusClient``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from .. import __version__
from . import tools_collections, tools_data, tools_indexes, tools_search
from .backend import Backend
from .config import McpConfig
from .registry import ToolSpec
from .resources import register_resources

log = logging.getLogger("redkite.mcp")

INSTRUCTIONS = (
    "redkite, a Milvus-compatible vector database. Start with list_collections, then "
    "describe_collection to learn a collection's fields, vector fields and text-search "
    "fields. To find rows: text_search (words; the collection needs a BM25 or "
    "text-embedding function), vector_search (a query vector), hybrid_search (several "
    "at once), query_rows (filter expressions), get_rows (primary keys). Replies hold at "
    "most 100 rows or hits: pass next_offset as offset for more. Vectors are left out "
    "unless include_vectors=true.")
WRITE_INSTRUCTIONS = (" delete_rows counts first (dry_run=true); destructive tools ask "
                      "the user to confirm.")
READ_ONLY_INSTRUCTIONS = " This server is read-only: it has no tool that writes."

ALL_TOOLS: list[ToolSpec] = [*tools_collections.TOOLS, *tools_indexes.TOOLS,
                             *tools_data.TOOLS, *tools_search.TOOLS]


def build_server(config: McpConfig) -> MCPServer:
    """The MCP server for ``config``: every tool, or only the reading ones when
    ``config.read_only``; the resources. The database opens on the first call."""
    backend = Backend(config)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Backend]:
        try:
            yield backend
        finally:
            await backend.aclose()

    server = MCPServer(
        "redkite", title="redkite vector database", version=__version__, lifespan=lifespan,
        instructions=INSTRUCTIONS + (READ_ONLY_INSTRUCTIONS if config.read_only
                                     else WRITE_INSTRUCTIONS))
    for spec in ALL_TOOLS:
        if not (config.read_only and spec.writes):
            server.add_tool(spec.fn, title=spec.title, annotations=spec.annotations)
    register_resources(server, backend)
    return server


async def check_connection(config: McpConfig) -> None:
    """List the collections once, so a bad uri, token or database fails at startup with
    a readable message (ToolError) instead of at the agent's first call."""
    backend = Backend(config)
    try:
        await backend.client().list_collections()
    finally:
        await backend.aclose()


def serve(config: McpConfig) -> None:
    """Serve over stdio, or Streamable HTTP at http://HOST:PORT/mcp; returns when the
    client disconnects (stdio) or on Ctrl-C (HTTP)."""
    server = build_server(config)
    log.info("redkite mcp: %s", config.redacted())
    if config.http:
        server.run("streamable-http", host=config.host, port=config.port)
    else:
        server.run()


__all__ = ["build_server", "check_connection", "serve", "ToolError"]
