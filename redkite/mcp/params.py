"""Argument types shared by the tools: their JSON-schema descriptions and bounds."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .errors import FILTER_HELP
from .shaping import MAX_LIMIT

Collection = Annotated[str, Field(description="Collection name (list_collections shows "
                                              "them).", min_length=1)]
Database = Annotated[str | None, Field(
    description="Database name; omitted: the server's database (see list_databases).")]
OptionalFilter = Annotated[str, Field(description="Optional boolean filter expression "
                                                  "restricting the rows. " + FILTER_HELP)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT,
                             description=f"Rows or hits to return (1-{MAX_LIMIT}).")]
Offset = Annotated[int, Field(ge=0, le=16383, description="Rows or hits to skip: the "
                                                          "next_offset of the previous page.")]
OutputFields = Annotated[list[str] | None, Field(
    description="Fields to return; omitted: every scalar field and dynamic key.")]
IncludeVectors = Annotated[bool, Field(
    description="Also return vector fields (large; off unless you need the numbers).")]
Confirm = Annotated[bool, Field(
    description="Only for clients that cannot ask the user (no elicitation): true once the "
                "user has agreed to this destructive call. Clients that can ask ignore it "
                "and ask the user.")]
Ids = Annotated[list[int | str], Field(min_length=1, max_length=MAX_LIMIT,
                                       description=f"Primary keys (at most {MAX_LIMIT}).")]
