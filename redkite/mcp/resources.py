"""Resources: ``redkite://collections`` (the collections of the server's database) and
``redkite://collections/{name}/schema`` (one collection's description, as the
describe_collection tool returns it). Both are JSON."""

from __future__ import annotations

import json

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from ..errors import ErrorCode
from .backend import Backend, backend_of
from .tools_collections import describe

JSON = "application/json"


def register_resources(server: MCPServer, backend: Backend) -> None:
    """Add the two resources to ``server``."""

    @server.resource("redkite://collections", name="collections", mime_type=JSON,
                     description="The collections of the server's database.")
    async def collections() -> str:
        db = backend.client()
        try:
            names = sorted(await db.list_collections())
        except ToolError as exc:
            raise ResourceError(str(exc)) from exc
        return json.dumps({"database": db.database, "collections": names})

    @server.resource("redkite://collections/{name}/schema", name="collection-schema",
                     mime_type=JSON, description="A collection's fields, functions, "
                     "indexes, row count and load state.")
    async def collection_schema(name: str, ctx: Context) -> str:
        db = backend_of(ctx).client()
        try:
            description = await describe(db, name)
        except ToolError as exc:
            cause = exc.__cause__
            if getattr(cause, "code", None) == ErrorCode.COLLECTION_NOT_FOUND:
                raise ResourceNotFoundError(f"No collection {name!r}.") from exc
            raise ResourceError(str(exc)) from exc
        return description.model_dump_json()
