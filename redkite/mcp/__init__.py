"""``redkite mcp``: a Model Context Protocol server over a redkite (or Milvus) database.

``build_server(McpConfig(uri="./app.db"))`` returns the SDK's ``MCPServer``;
``serve(config)`` runs it over stdio or Streamable HTTP. See docs/mcp.md.
"""

from .config import McpConfig
from .server import build_server, check_connection, serve

__all__ = ["McpConfig", "build_server", "check_connection", "serve"]
