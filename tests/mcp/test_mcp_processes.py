"""``redkite mcp`` as a real process: over stdio (``python -m redkite mcp``) and over
Streamable HTTP on 127.0.0.1; its startup checks; its configuration."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_helpers import DOCS_FIELDS, DOCS_FUNCTIONS, DOCS_ROWS, Asker, call, call_error

from redkite.cli import main
from redkite.mcp.config import ConfigError, McpConfig, add_arguments, config_from_args

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDKITE_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _stdio(db_path: str, *flags: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=_env(**env),
                                 args=["-m", "redkite", "mcp", "--uri", db_path, *flags])


@pytest.mark.anyio
async def test_stdio_subprocess_full_cycle(db_path):
    asker = Asker()
    async with Client(_stdio(db_path), elicitation_callback=asker) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert len(tools) == 21
        assert tools["text_search"].annotations.read_only_hint is True
        assert tools["drop_collection"].annotations.destructive_hint is True
        assert tools["vector_search"].input_schema["properties"]["limit"]["maximum"] == 100
        await call(client, "create_collection", collection="docs", fields=DOCS_FIELDS,
                   functions=DOCS_FUNCTIONS)
        assert (await call(client, "insert_rows", collection="docs",
                           rows=DOCS_ROWS))["count"] == 3
        hits = await call(client, "vector_search", collection="docs", vector=[0, 1, 0])
        assert hits["hits"][0]["id"] == 2
        text = await call(client, "text_search", collection="docs", text="green")
        assert [h["id"] for h in text["hits"]] == [3]
        assert (await call(client, "delete_rows", collection="docs", ids=[3]))["matched"] == 1
        deleted = await call(client, "delete_rows", collection="docs", ids=[3], dry_run=False)
        assert deleted["deleted"] == 1 and len(asker.questions) == 1
        message = await call_error(client, "describe_collection", collection="nope")
        assert "list_collections" in message
        await call(client, "drop_collection", collection="docs")
        assert (await call(client, "list_collections"))["collections"] == []


@pytest.mark.anyio
async def test_stdio_read_only_from_environment(db_path):
    params = _stdio(db_path, REDKITE_READ_ONLY="1")
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "list_collections" in names and "insert_rows" not in names
        assert "create_collection" in await call_error(
            client, "create_collection", collection="c", dimension=2)


def test_startup_fails_clearly_on_a_bad_database(db_path, capsys, monkeypatch):
    for name in [n for n in os.environ if n.startswith("REDKITE_")]:
        monkeypatch.delenv(name)
    assert main(["mcp", "--uri", db_path, "--db", "nodb"]) == 1
    out, err = capsys.readouterr()
    assert "database not found" in err and "list_databases" in err
    assert out == ""  # stdout is the protocol channel: nothing else goes there
    assert main(["mcp", "--uri", "ftp://host"]) == 1
    assert "uri: ftp://host is illegal" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.anyio
async def test_streamable_http_on_loopback(db_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "redkite", "mcp", "--uri", db_path, "--http", "--port",
         str(port)], cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                await anyio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await call(client, "create_collection", collection="notes", dimension=2)
            await call(client, "insert_rows", collection="notes",
                       rows=[{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}])
            hits = await call(client, "vector_search", collection="notes", vector=[0, 1])
            assert [h["id"] for h in hits["hits"]] == [2, 1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_override_environment_which_overrides_defaults():
    assert config_from_args(_parse(), {}) == McpConfig()
    env = {"REDKITE_URI": "http://db:19530", "REDKITE_TOKEN": "root:Milvus",
           "REDKITE_DB": "team", "REDKITE_READ_ONLY": "true", "REDKITE_MCP_PORT": "9000"}
    from_env = config_from_args(_parse(), env)
    assert (from_env.uri, from_env.token, from_env.db_name, from_env.read_only,
            from_env.port) == ("http://db:19530", "root:Milvus", "team", True, 9000)
    flags = config_from_args(_parse("--uri", "./x.db", "--db", "other", "--port", "1"), env)
    assert (flags.uri, flags.db_name, flags.port, flags.read_only) == ("./x.db", "other", 1,
                                                                       True)
    assert from_env.redacted()["token"] == "***"
    with pytest.raises(ConfigError, match="REDKITE_READ_ONLY"):
        config_from_args(_parse(), {"REDKITE_READ_ONLY": "maybe"})
    with pytest.raises(ConfigError, match="REDKITE_MCP_PORT"):
        config_from_args(_parse(), {"REDKITE_MCP_PORT": "http"})
