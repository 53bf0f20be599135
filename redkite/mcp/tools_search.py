"""Search tools: vector search, text search (through the collection's BM25 or
text-embedding function, found in its schema whatever the fields are called) and hybrid
search fusing several of those."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ..client.search_requests import AnnSearchRequest, RRFRanker, WeightedRanker
from ..types import DataType
from .backend import DbClient, backend_of
from .params import (Collection, Database, IncludeVectors, Limit, Offset, OptionalFilter,
                     OutputFields)
from .registry import READ, ToolSpec
from .schema_info import CollectionInfo
from .shaping import (MAX_WINDOW, SearchResults, check_limit, distance_meaning,
                      shape_hits)

Vector = Annotated[list[float] | dict[str, float], Field(
    description="Query vector: a list of numbers (dense; packed bytes as 0-255 numbers for "
                "BINARY_VECTOR), or {\"index\": value} for a sparse field.")]


class HybridRequest(BaseModel):
    """One leg of a hybrid search: text (for a text-search field) or a vector."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="Query text, for a BM25 / text-embedding "
                                               "field.")
    vector: list[float] | dict[str, float] | None = Field(None, description="Query vector.")
    field: str | None = Field(None, description="Field to search: a vector field, or a text "
                                                "field with a function. Omitted: the only "
                                                "one of its kind.")
    limit: int | None = Field(None, ge=1, le=1000, description="Candidates of this leg "
                                                               "(default 2 x (limit+offset)).")


async def vector_search(
        collection: Collection, vector: Vector, ctx: Context,
        anns_field: Annotated[str | None, Field(description=(
            "Vector field to search; omitted: the collection's only one."))] = None,
        filter: OptionalFilter = "", limit: Limit = 10, offset: Offset = 0,
        output_fields: OutputFields = None, include_vectors: IncludeVectors = False,
        radius: Annotated[float | None, Field(description=(
            "Range search: keep hits beyond this distance bound (for COSINE/IP, hits with "
            "a score above it)."))] = None,
        range_filter: Annotated[float | None, Field(description=(
            "Range search: the inner bound (with radius)."))] = None,
        search_params: Annotated[dict[str, Any] | None, Field(description=(
            "Index search parameters, e.g. {\"ef\": 64} (HNSW) or {\"nprobe\": 16} "
            "(IVF)."))] = None,
        database: Database = None) -> SearchResults:
    """Find the rows closest to a query vector (you need the vector; for words use
    text_search). Hits come closest first with their scalar fields."""
    check_limit(limit, offset)
    db = backend_of(ctx).client(database)
    info = CollectionInfo(await db.describe_collection(collection))
    field = info.check_vector_field(anns_field)
    params = dict(search_params or {})
    if radius is not None:
        params["radius"] = radius
    if range_filter is not None:
        params["range_filter"] = range_filter
    hits = await db.search(collection, data=[_query_vector(vector, info, field)],
                           anns_field=field, filter=filter, limit=limit, offset=offset,
                           output_fields=info.output_fields(output_fields, include_vectors),
                           search_params={"params": params})
    return await _results(db, info, [field], field, hits[0], limit, offset)


async def text_search(
        collection: Collection, text: Annotated[str, Field(min_length=1, description=(
            "Words to search for."))], ctx: Context,
        field: Annotated[str | None, Field(description=(
            "Text field to search (see text_search in describe_collection); omitted: the "
            "only one."))] = None,
        filter: OptionalFilter = "", limit: Limit = 10, offset: Offset = 0,
        output_fields: OutputFields = None, include_vectors: IncludeVectors = False,
        database: Database = None) -> SearchResults:
    """Search with words, no vector needed: ranks rows by the collection's BM25 function
    (full-text relevance) or text-embedding function (meaning), whichever it has. Fails
    with advice when the collection has neither."""
    check_limit(limit, offset)
    db = backend_of(ctx).client(database)
    info = CollectionInfo(await db.describe_collection(collection))
    target = info.text_target(field)
    hits = await db.search(collection, data=[text], anns_field=target.output_field,
                           filter=filter, limit=limit, offset=offset,
                           output_fields=info.output_fields(output_fields, include_vectors))
    return await _results(db, info, [target.input_field], target.output_field, hits[0],
                          limit, offset)


async def hybrid_search(
        collection: Collection, requests: Annotated[list[HybridRequest], Field(
            min_length=2, max_length=8, description=(
                "Two or more searches to fuse, e.g. [{text: \"...\"}, {vector: [...], "
                "field: \"embedding\"}]."))], ctx: Context,
        ranker: Annotated[Literal["rrf", "weighted"], Field(description=(
            "rrf: reciprocal rank fusion (robust default); weighted: weighted sum of "
            "normalised scores (needs weights)."))] = "rrf",
        rrf_k: Annotated[int, Field(gt=0, lt=16384)] = 60,
        weights: Annotated[list[float] | None, Field(description=(
            "weighted: one weight in [0, 1] per request."))] = None,
        filter: OptionalFilter = "", limit: Limit = 10, offset: Offset = 0,
        output_fields: OutputFields = None, include_vectors: IncludeVectors = False,
        database: Database = None) -> SearchResults:
    """Run several searches (text and/or vectors, on different fields) and fuse their
    hits into one ranking."""
    check_limit(limit, offset)
    db = backend_of(ctx).client(database)
    info = CollectionInfo(await db.describe_collection(collection))
    leg_limit = min(max(2 * (limit + offset), 20), MAX_WINDOW)
    legs = [_leg(request, info, filter, leg_limit) for request in requests]
    searched = [info.text_target(r.field).input_field if r.text is not None else leg.anns_field
                for r, leg in zip(requests, legs)]
    if ranker == "weighted":
        if weights is None or len(weights) != len(legs):
            raise ToolError(f"ranker 'weighted' needs weights: one per request ({len(legs)}).")
        fusion: Any = WeightedRanker(*weights)
    else:
        fusion = RRFRanker(rrf_k)
    hits = await db.hybrid_search(collection, legs, fusion, limit=limit, offset=offset,
                                  output_fields=info.output_fields(output_fields,
                                                                   include_vectors))
    return await _results(db, info, searched, None, hits[0], limit, offset,
                          meaning=f"{ranker} fused score: higher is better")


def _leg(request: HybridRequest, info: CollectionInfo, filter: str,
         limit: int) -> AnnSearchRequest:
    if (request.text is None) == (request.vector is None):
        raise ToolError("Each hybrid request needs either text or vector.")
    if request.text is not None:
        field = info.text_target(request.field).output_field
        data: Any = request.text
    else:
        field = info.check_vector_field(request.field)
        data = _query_vector(request.vector, info, field)
    return AnnSearchRequest(data=[data], anns_field=field, param={},
                            limit=request.limit or limit, expr=filter or None)


def _query_vector(vector: list[float] | dict[str, float], info: CollectionInfo,
                  field: str) -> Any:
    """The vector in the form the field takes (sparse keys as integers, integer types
    as integers)."""
    dtype = info.fields[field]
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        if not isinstance(vector, dict):
            raise ToolError(f"{field!r} is a sparse field: pass the vector as "
                            "{\"index\": value}.")
        try:
            return {int(index): float(value) for index, value in vector.items()}
        except ValueError:
            raise ToolError("Sparse vector keys must be integer indices.") from None
    if isinstance(vector, dict):
        raise ToolError(f"{field!r} is a dense {dtype.name} field: pass a list of numbers.")
    if dtype in (DataType.INT8_VECTOR, DataType.BINARY_VECTOR):
        if any(v != int(v) for v in vector):
            raise ToolError(f"{field!r} is {dtype.name}: pass whole numbers.")
        return [int(v) for v in vector]
    return vector


async def _results(db: DbClient, info: CollectionInfo, fields: list[str],
                   metric_field: str | None, hits: list, limit: int, offset: int,
                   meaning: str | None = None) -> SearchResults:
    """SearchResults of one query's ``hits``; ``distance_meaning`` from the metric of
    ``metric_field``'s index unless ``meaning`` is given."""
    shaped, truncated = shape_hits(list(hits), info)
    more = truncated or (len(hits) == limit and offset + limit < MAX_WINDOW)
    if meaning is None:
        meaning = distance_meaning(await _metric(db, info.name, metric_field))
    return SearchResults(collection=info.name, database=db.database, searched_fields=fields,
                         distance_meaning=meaning, hits=shaped,
                         next_offset=offset + len(shaped) if more else None,
                         truncated=truncated)


async def _metric(db: DbClient, collection: str, field: str) -> str | None:
    """The metric of the index on ``field`` (None without one)."""
    for name in await db.list_indexes(collection, field_name=field):
        index = await db.describe_index(collection, name)
        if index and index.get("metric_type"):
            return str(index["metric_type"])
    return None


TOOLS = [
    ToolSpec(vector_search, "Vector search", READ),
    ToolSpec(text_search, "Text search", READ),
    ToolSpec(hybrid_search, "Hybrid search", READ),
]
