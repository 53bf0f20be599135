"""Configuration of ``redkite mcp``: command-line flags, ``REDKITE_*`` environment
variables and defaults, in that order of precedence (a flag wins over the environment).

| setting | flag | environment | default |
|---|---|---|---|
| database uri | ``--uri`` | ``REDKITE_URI`` | ``./redkite.db`` (embedded) |
| token (``user:password`` or API key) | ``--token`` | ``REDKITE_TOKEN`` | none |
| database name | ``--db`` | ``REDKITE_DB`` | ``default`` |
| read-only | ``--read-only`` | ``REDKITE_READ_ONLY`` (1/true/yes) | off |
| transport | ``--http`` | ``REDKITE_MCP_HTTP`` | stdio |
| HTTP address | ``--host`` | ``REDKITE_MCP_HOST`` | 127.0.0.1 |
| HTTP port | ``--port`` | ``REDKITE_MCP_PORT`` | 8000 |
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Mapping

DEFAULT_URI = "./redkite.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting that cannot be used (a bad port, a bad boolean in the environment)."""


@dataclass(frozen=True)
class McpConfig:
    """What the MCP server connects to and how it is served."""

    uri: str = DEFAULT_URI
    token: str = ""
    db_name: str = ""
    read_only: bool = False
    http: bool = False
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    def redacted(self) -> dict:
        """The settings with the token hidden, for logs and the config resource."""
        return {"uri": self.uri, "token": "***" if self.token else "",
                "database": self.db_name or "default", "read_only": self.read_only,
                "transport": "streamable-http" if self.http else "stdio",
                **({"host": self.host, "port": self.port} if self.http else {})}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``redkite mcp`` flags; every default is None so the environment can fill in."""
    parser.add_argument("--uri", help="embedded database path ending in .db, or "
                        "http://host:port of a redkite serve / Milvus "
                        f"(env REDKITE_URI; default {DEFAULT_URI})")
    parser.add_argument("--token", help="credentials, 'user:password' or an API key "
                        "(env REDKITE_TOKEN)")
    parser.add_argument("--db", help="database name (env REDKITE_DB; default 'default')")
    parser.add_argument("--read-only", action="store_const", const=True, default=None,
                        help="register only the tools that read (env REDKITE_READ_ONLY)")
    parser.add_argument("--http", action="store_const", const=True, default=None,
                        help="serve Streamable HTTP at http://HOST:PORT/mcp instead of "
                             "stdio (env REDKITE_MCP_HTTP)")
    parser.add_argument("--host", help="HTTP address to listen on "
                        f"(env REDKITE_MCP_HOST; default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help="HTTP port "
                        f"(env REDKITE_MCP_PORT; default {DEFAULT_PORT})")


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> McpConfig:
    """Merge the parsed flags with ``REDKITE_*`` variables of ``environ``."""
    port = args.port if args.port is not None else _env_int(environ, "REDKITE_MCP_PORT")
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"port must be 0-65535, got {port}")
    return McpConfig(
        uri=args.uri or environ.get("REDKITE_URI") or DEFAULT_URI,
        token=args.token or environ.get("REDKITE_TOKEN", ""),
        db_name=args.db or environ.get("REDKITE_DB", ""),
        read_only=_flag(args.read_only, environ, "REDKITE_READ_ONLY"),
        http=_flag(args.http, environ, "REDKITE_MCP_HTTP"),
        host=args.host or environ.get("REDKITE_MCP_HOST") or DEFAULT_HOST,
        port=DEFAULT_PORT if port is None else port)


def _flag(given: bool | None, environ: Mapping[str, str], name: str) -> bool:
    if given is not None:
        return given
    raw = environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={environ[name]!r}: use 1/true/yes or 0/false/no")


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
