"""Index tools: list, create, drop (confirmed)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from pydantic import BaseModel, Field

from ..client import AsyncMilvusClient
from ..errors import MilvusException
from .backend import backend_of, load_state
from .confirm import Confirmation, confirm_drop_index, require_confirmed
from .errors import tool_error
from .params import Collection, Confirm, Database
from .registry import ADD, DESTRUCTIVE, READ, ToolSpec
from .shaping import Done
from .tools_collections import Metric, index_details


class Indexes(BaseModel):
    collection: str
    database: str
    indexes: list[dict[str, Any]] = Field(description="Each index: name, field, type, "
                                                      "metric, parameters, build progress.")


async def list_indexes(collection: Collection, ctx: Context,
                       database: Database = None) -> Indexes:
    """List a collection's indexes with their type, metric, parameters and progress."""
    db = backend_of(ctx).client(database)
    return Indexes(collection=collection, database=db.database,
                   indexes=await index_details(db, collection))


async def create_index(
        collection: Collection, field: Annotated[str, Field(min_length=1, description=(
            "Field to index: a vector field (or a scalar field for faster filters)."))],
        ctx: Context,
        index_type: Annotated[str, Field(description=(
            "AUTOINDEX (default), HNSW, IVF_FLAT, FLAT, SPARSE_INVERTED_INDEX, "
            "BIN_FLAT, INVERTED (scalar), ..."))] = "AUTOINDEX",
        metric_type: Annotated[Metric | None, Field(description=(
            "Vector metric; needed for vector fields except BM25 outputs."))] = None,
        params: Annotated[dict[str, Any] | None, Field(description=(
            "Build parameters, e.g. {\"M\": 16, \"efConstruction\": 200} for HNSW."))] = None,
        index_name: Annotated[str | None, Field(description=(
            "Name; default: the field name."))] = None,
        database: Database = None) -> Done:
    """Create an index on a field. A collection created without indexes can be loaded
    (load_collection) once every vector field has one."""
    db = backend_of(ctx).client(database)
    index_params = AsyncMilvusClient.prepare_index_params()
    try:
        index_params.add_index(field, index_type=index_type, index_name=index_name or "",
                               metric_type=metric_type, params=params or {})
    except MilvusException as exc:
        raise tool_error(exc, f"create_index {collection!r}") from exc
    await db.create_index(collection, index_params)
    return Done(message=f"Created an index ({index_type}) on field {field!r} of {collection!r}.",
                details={"load_state": await load_state(db, collection)})


async def drop_index(
        collection: Collection, index_name: Annotated[str, Field(min_length=1, description=(
            "Index name (list_indexes shows them)."))], ctx: Context,
        confirmation: Annotated[ElicitationResult[Confirmation], Resolve(confirm_drop_index)],
        database: Database = None, confirm: Confirm = False) -> Done:
    """Drop an index. Asks the user to confirm (see `confirm`)."""
    require_confirmed(confirmation, f"dropping index {index_name!r}")
    db = backend_of(ctx).client(database)
    await db.drop_index(collection, index_name)
    return Done(message=f"Dropped index {index_name!r} of {collection!r}.")


TOOLS = [
    ToolSpec(list_indexes, "List indexes", READ),
    ToolSpec(create_index, "Create an index", ADD),
    ToolSpec(drop_index, "Drop an index", DESTRUCTIVE),
]
