"""Tools for rows: insert, upsert, delete (dry run first, then confirmed), get by ids,
query with a filter and pagination, count."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ..types import DataType
from .backend import DbClient, backend_of
from .confirm import NOT_ASKED, Confirmation, ask, require_confirmed
from .params import (Collection, Confirm, Database, Ids, IncludeVectors, Limit, Offset,
                     OptionalFilter, OutputFields)
from .registry import ADD, DESTRUCTIVE, READ, ToolSpec
from .schema_info import CollectionInfo
from .shaping import (MAX_WINDOW, DeleteResult, Rows, WriteResult, check_limit,
                      shape_rows)

MAX_WRITE_ROWS = 1000
RowList = Annotated[list[dict[str, Any]], Field(
    min_length=1, max_length=MAX_WRITE_ROWS,
    description=f"Rows as objects {{field: value}}, at most {MAX_WRITE_ROWS} per call. Dense "
                "vectors are lists of numbers, sparse vectors {\"index\": value}; leave out "
                "auto_id keys and fields computed by functions (BM25 outputs).")]


class Count(BaseModel):
    collection: str
    database: str
    count: int


async def insert_rows(collection: Collection, rows: RowList, ctx: Context,
                      database: Database = None) -> WriteResult:
    """Insert rows. A row whose primary key already exists replaces it (use upsert_rows
    to update on purpose). Call describe_collection first for the field names."""
    db = backend_of(ctx).client(database)
    rows = await _prepare_rows(db, collection, rows)
    result = await db.insert(collection, rows)
    return WriteResult(collection=collection, database=db.database,
                       count=int(result["insert_count"]), ids=list(result["ids"]))


async def upsert_rows(collection: Collection, rows: RowList, ctx: Context,
                      database: Database = None) -> WriteResult:
    """Insert rows or replace the rows with the same primary key (every row needs it)."""
    db = backend_of(ctx).client(database)
    rows = await _prepare_rows(db, collection, rows)
    result = await db.upsert(collection, rows)
    return WriteResult(collection=collection, database=db.database,
                       count=int(result["upsert_count"]), ids=list(result.get("ids", [])))


async def _prepare_rows(db: DbClient, collection: str, rows: list[dict]) -> list[dict]:
    """Sparse vectors arrive from JSON with string keys; the database wants integers."""
    info = CollectionInfo(await db.describe_collection(collection))
    sparse = [name for name, dtype in info.fields.items()
              if dtype == DataType.SPARSE_FLOAT_VECTOR and name not in info.function_outputs]
    if not sparse:
        return rows
    return [{**row, **{name: _sparse(row[name], name) for name in sparse
                       if isinstance(row.get(name), dict)}} for row in rows]


def _sparse(vector: dict, field: str) -> dict[int, float]:
    try:
        return {int(index): value for index, value in vector.items()}
    except ValueError:
        raise ToolError(f"Sparse vector of {field!r}: keys must be integer indices such as "
                        "{\"17\": 0.5}.") from None


def delete_condition(ids: list | None, filter: str | None) -> str:
    """The delete condition as text; exactly one of ids and a non-empty filter."""
    if (ids is None) == (filter is None):
        raise ToolError("Pass either ids (primary keys) or filter (an expression), not both.")
    if filter is not None and not filter.strip():
        raise ToolError("An empty filter would select every row: pass a real condition, or "
                        "drop_collection to remove the whole collection.")
    return f"id in {ids}" if ids is not None else filter


async def count_matching(db: DbClient, collection: str, ids: list | None,
                         filter: str | None) -> int:
    """Rows selected by ``ids`` or ``filter``."""
    if ids is not None:
        info = CollectionInfo(await db.describe_collection(collection))
        return len(await db.get(collection, ids, output_fields=[info.primary]))
    rows = await db.query(collection, filter=filter, output_fields=["count(*)"])
    return int(rows[0]["count(*)"])


async def confirm_delete(collection: str, ids: list | None, filter: str | None,
                         dry_run: bool, database: str | None, confirm: bool,
                         ctx: Context) -> Confirmation | Elicit[Confirmation]:
    condition = delete_condition(ids, filter)
    if dry_run:
        return NOT_ASKED
    db = backend_of(ctx).client(database)
    matched = await count_matching(db, collection, ids, filter)
    return ask(ctx, f"Delete {matched} rows of {collection!r} (database {db.database!r}) "
                    f"where {condition}? This cannot be undone.", confirm)


async def delete_rows(
        collection: Collection, ctx: Context,
        confirmation: Annotated[ElicitationResult[Confirmation], Resolve(confirm_delete)],
        ids: Annotated[list[int | str] | None, Field(
            min_length=1, description="Primary keys to delete.")] = None,
        filter: Annotated[str | None, Field(
            description="Or: delete the rows matching this filter expression.")] = None,
        dry_run: Annotated[bool, Field(
            description="true (default): only count the rows that would be deleted. "
                        "false: delete them (the user is asked to confirm).")] = True,
        confirm: Confirm = False, database: Database = None) -> DeleteResult:
    """Delete rows by primary keys or by filter. First call with dry_run=true (the
    default) to see how many rows match, then with dry_run=false to delete them."""
    db = backend_of(ctx).client(database)
    if dry_run:
        matched = await count_matching(db, collection, ids, filter)
        return DeleteResult(
            collection=collection, database=db.database, dry_run=True, matched=matched,
            deleted=0, next_step=f"Call delete_rows again with dry_run=false to delete "
                                 f"these {matched} rows." if matched else "Nothing matches.")
    require_confirmed(confirmation, f"deleting rows of {collection!r}")
    result = await db.delete(collection, ids=ids, filter=filter or "")
    deleted = int(result.get("delete_count", 0))
    return DeleteResult(collection=collection, database=db.database, dry_run=False,
                        matched=deleted, deleted=deleted)


async def get_rows(collection: Collection, ids: Ids, ctx: Context,
                   output_fields: OutputFields = None, include_vectors: IncludeVectors = False,
                   database: Database = None) -> Rows:
    """Fetch rows by primary key (missing keys are skipped), at most 100 per call."""
    db = backend_of(ctx).client(database)
    info = CollectionInfo(await db.describe_collection(collection))
    rows = await db.get(collection, ids, output_fields=info.output_fields(
        output_fields, include_vectors))
    shaped, truncated = shape_rows(list(rows), info)
    return Rows(collection=collection, database=db.database, rows=shaped,
                truncated=truncated)


async def query_rows(collection: Collection, ctx: Context, filter: OptionalFilter = "",
                     limit: Limit = 20, offset: Offset = 0, output_fields: OutputFields = None,
                     include_vectors: IncludeVectors = False,
                     database: Database = None) -> Rows:
    """Read the rows matching a filter (all rows when empty), in primary-key order, one
    page at a time: pass next_offset as offset for the next page."""
    check_limit(limit, offset)
    db = backend_of(ctx).client(database)
    info = CollectionInfo(await db.describe_collection(collection))
    fetch = min(limit + 1, MAX_WINDOW - offset)  # one more row tells whether more remain
    rows = list(await db.query(collection, filter=filter, limit=fetch, offset=offset,
                               output_fields=info.output_fields(output_fields,
                                                                include_vectors)))
    shaped, truncated = shape_rows(rows[:limit], info)
    more = truncated or len(rows) > limit
    return Rows(collection=collection, database=db.database, rows=shaped,
                next_offset=offset + len(shaped) if more else None, truncated=truncated)


async def count_rows(collection: Collection, ctx: Context, filter: OptionalFilter = "",
                     database: Database = None) -> Count:
    """Count the rows matching a filter (all rows when empty)."""
    db = backend_of(ctx).client(database)
    return Count(collection=collection, database=db.database,
                 count=await count_matching(db, collection, None, filter))


TOOLS = [
    ToolSpec(count_rows, "Count rows", READ),
    ToolSpec(get_rows, "Get rows by primary key", READ),
    ToolSpec(query_rows, "Query rows with a filter", READ),
    ToolSpec(insert_rows, "Insert rows", ADD),
    ToolSpec(upsert_rows, "Insert or replace rows", DESTRUCTIVE),
    ToolSpec(delete_rows, "Delete rows", DESTRUCTIVE),
]
