"""The MCP server on a remote database: ``--uri http://host:port`` of a ``redkite serve``
(the Milvus gRPC protocol), started in-process on a free port."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_helpers import Asker, call, call_error

from redkite.mcp import McpConfig, build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def grpc_uri(tmp_path):
    from redkite.server import start_server

    running = start_server(str(tmp_path / "served"), port=0)
    yield f"http://{running.address}"
    running.stop(grace=1.0)


async def test_tools_over_the_milvus_protocol(grpc_uri):
    server = build_server(McpConfig(uri=grpc_uri))
    async with Client(server, elicitation_callback=Asker()) as client:
        await call(client, "create_collection", collection="notes", dimension=2)
        rows = [{"id": 1, "vector": [1, 0], "tag": "a"}, {"id": 2, "vector": [0, 1],
                                                           "tag": "b"}]
        assert (await call(client, "insert_rows", collection="notes", rows=rows))["count"] == 2
        hits = await call(client, "vector_search", collection="notes", vector=[0, 1])
        assert [(h["id"], h["fields"]["tag"]) for h in hits["hits"]] == [(2, "b"), (1, "a")]
        page = await call(client, "query_rows", collection="notes", filter='tag == "a"')
        assert page["rows"] == [{"id": 1, "tag": "a"}]
        stats = await call(client, "get_collection_stats", collection="notes")
        assert stats["row_count"] == 2 and stats["load_state"] == "Loaded"
        assert (await call(client, "delete_rows", collection="notes", filter="id == 1",
                           dry_run=False))["deleted"] == 1
        message = await call_error(client, "describe_collection", collection="nope")
        assert "list_collections" in message
        await call(client, "drop_collection", collection="notes")
        assert (await call(client, "list_collections"))["collections"] == []
