"""Helpers of the MCP server tests: an in-process SDK client on a fresh server, tool
calls that return structured results, and a sample collection."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.types import ElicitResult

from redkite.mcp import McpConfig, build_server


class Asker:
    """An elicitation callback answering every question with ``answer`` and recording
    the questions."""

    def __init__(self, answer: str = "accept", confirm: bool = True) -> None:
        self.answer, self.confirm, self.questions = answer, confirm, []

    async def __call__(self, ctx: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": self.confirm} if self.answer == "accept" else None
        return ElicitResult(action=self.answer, content=content)


@asynccontextmanager
async def connect(db_path: str, *, read_only: bool = False, asker: Asker | None = None,
                  mode: str = "auto"):
    """An SDK client connected in-process to a server on ``db_path``."""
    server = build_server(McpConfig(uri=db_path, read_only=read_only))
    async with Client(server, elicitation_callback=asker, mode=mode) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict:
    """The structured result of a successful call (fails the test on a tool error)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """The message of a call that must fail as a tool error."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return result.content[0].text


DOCS_FIELDS = [
    {"name": "id", "type": "INT64", "is_primary": True},
    {"name": "text", "type": "VARCHAR", "max_length": 1000, "enable_analyzer": True,
     "enable_match": True},
    {"name": "words", "type": "SPARSE_FLOAT_VECTOR"},
    {"name": "embedding", "type": "FLOAT_VECTOR", "dim": 3},
]
DOCS_FUNCTIONS = [{"type": "BM25", "input_field": "text", "output_field": "words"}]
DOCS_ROWS = [
    {"id": 1, "text": "red apples and pears", "embedding": [1.0, 0.0, 0.0], "lang": "en"},
    {"id": 2, "text": "vector databases store embeddings", "embedding": [0.0, 1.0, 0.0],
     "lang": "en"},
    {"id": 3, "text": "green apples", "embedding": [0.0, 0.0, 1.0], "lang": "fr"},
]


async def create_docs(client: Client) -> dict:
    """A 'docs' collection with a BM25 function (text -> words) and a dense vector."""
    description = await call(client, "create_collection", collection="docs",
                             fields=DOCS_FIELDS, functions=DOCS_FUNCTIONS)
    await call(client, "insert_rows", collection="docs", rows=DOCS_ROWS)
    return description
