"""Fixtures of the MCP server tests (this directory has no __init__.py on purpose: a
package named ``mcp`` would hide the SDK)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "app.db")
