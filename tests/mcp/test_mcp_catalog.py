"""The tool catalog as a client sees it: names, annotations, input and output schemas,
read-only mode, resources."""

from __future__ import annotations

import pytest
from mcp import MCPError

from mcp_helpers import call, call_error, connect, create_docs

pytestmark = pytest.mark.anyio

READ_TOOLS = {"list_databases", "list_collections", "describe_collection",
              "get_collection_stats", "list_indexes", "count_rows", "get_rows", "query_rows",
              "vector_search", "text_search", "hybrid_search"}
ADDITIVE_TOOLS = {"create_database", "create_collection", "create_index", "insert_rows",
                  "load_collection", "release_collection"}
DESTRUCTIVE_TOOLS = {"upsert_rows", "delete_rows", "drop_collection", "drop_index"}
CONFIRMED_TOOLS = {"delete_rows", "drop_collection", "drop_index"}


async def test_every_tool_is_annotated_and_typed(db_path):
    async with connect(db_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == READ_TOOLS | ADDITIVE_TOOLS | DESTRUCTIVE_TOOLS
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints.read_only_hint is (name in READ_TOOLS), name
        assert hints.open_world_hint is False, name
        if name not in READ_TOOLS:
            assert hints.destructive_hint is (name in DESTRUCTIVE_TOOLS), name
            assert hints.idempotent_hint is not None, name
        assert tool.title and tool.description, name
        assert tool.input_schema["type"] == "object", name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", name
        # the user's answer to a confirmation is never an argument the model can fill in
        assert "confirmation" not in tool.input_schema["properties"], name
        assert ("confirm" in tool.input_schema["properties"]) is (name in CONFIRMED_TOOLS)


async def test_input_schemas_carry_bounds_and_descriptions(db_path):
    async with connect(db_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        query = tools["query_rows"].input_schema
        assert query["required"] == ["collection"]
        assert query["properties"]["limit"]["maximum"] == 100
        assert "text_match" in query["properties"]["filter"]["description"]
        assert tools["delete_rows"].input_schema["properties"]["dry_run"]["default"] is True
        hits = tools["vector_search"].output_schema["properties"]
        assert {"hits", "next_offset", "distance_meaning"} <= set(hits)
        await create_docs(client)
        message = await call_error(client, "query_rows", collection="docs", limit=1000)
        assert "limit" in message


async def test_read_only_registers_no_write_tool(db_path):
    async with connect(db_path) as client:  # some data to read
        await create_docs(client)
    async with connect(db_path, read_only=True) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools == READ_TOOLS
        message = await call_error(client, "insert_rows", collection="docs",
                                   rows=[{"id": 9, "text": "x", "embedding": [1, 1, 1]}])
        assert "insert_rows" in message
        await call_error(client, "drop_collection", collection="docs", confirm=True)
        assert (await call(client, "count_rows", collection="docs"))["count"] == 3
        hits = await call(client, "text_search", collection="docs", text="apples")
        assert {hit["id"] for hit in hits["hits"]} == {1, 3}


async def test_resources_list_collections_and_schemas(db_path):
    async with connect(db_path) as client:
        await create_docs(client)
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "redkite://collections" in uris
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["redkite://collections/{name}/schema"]
        listing = await client.read_resource("redkite://collections")
        assert '"collections": ["docs"]' in listing.contents[0].text
        schema = await client.read_resource("redkite://collections/docs/schema")
        assert schema.contents[0].mime_type == "application/json"
        assert '"text_search":[{"function"' in schema.contents[0].text
        with pytest.raises(MCPError, match="No collection 'nope'"):
            await client.read_resource("redkite://collections/nope/schema")
