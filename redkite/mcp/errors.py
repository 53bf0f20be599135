"""Database errors as tool errors the model can act on.

The SDK shows the model only ``Error executing tool X`` for an arbitrary exception, so
every failure of a database call is turned into a :class:`ToolError` carrying redkite's
message and a hint naming the tool to call next.
"""

from __future__ import annotations

import re

from mcp.server.mcpserver.exceptions import ToolError

from ..errors import DatabaseLockedError, ErrorCode, FilterSyntaxError, MilvusException

FILTER_HELP = ('Filters look like: age > 20 and color == "red"; id in [1, 2, 3]; '
               'title like "intro%"; meta["key"] == 1; text_match(body, "some words"). '
               "Strings take double quotes; combine with and / or / not.")

_HINTS = {
    ErrorCode.COLLECTION_NOT_FOUND: "Call list_collections to see the collection names.",
    ErrorCode.DATABASE_NOT_FOUND: "Call list_databases to see the database names.",
    ErrorCode.PARTITION_NOT_FOUND: "Call get_collection_stats to see the partitions.",
    ErrorCode.INDEX_NOT_FOUND: "Call list_indexes to see the collection's indexes.",
    ErrorCode.FIELD_NOT_FOUND: "Call describe_collection to see the fields.",
    ErrorCode.SERVICE_UNIMPLEMENTED: "The database server does not support this operation.",
}
_LOCKED = ("The database is open in another process: stop that process, or serve the "
           "database with `redkite serve` and start `redkite mcp --uri http://host:port`.")
_NOT_LOADED = 101
_SCHEMA_WORDS = re.compile(r"field|dim|schema", re.IGNORECASE)


def tool_error(exc: BaseException, action: str) -> ToolError:
    """A ToolError for ``exc`` raised while doing ``action`` (e.g. "search 'docs'")."""
    if isinstance(exc, MilvusException):
        message, hint = exc.message.rstrip(), _hint(exc, action.split(" ")[0])
        if hint:
            end = "\n" if "\n" in message else (" " if message.endswith((".", "?", "!"))
                                                else ". ")
            message = f"{message}{end}{hint}"
        return ToolError(f"{action} failed: {message}")
    if isinstance(exc, (OSError, ConnectionError, TimeoutError)):
        return ToolError(f"{action} failed: cannot reach the database ({exc}). Check that "
                         "the --uri server is running, then retry.")
    raise exc


def _hint(exc: MilvusException, method: str) -> str:
    if isinstance(exc, FilterSyntaxError):
        return FILTER_HELP
    if isinstance(exc, DatabaseLockedError):
        return _LOCKED
    if exc.code in _HINTS:
        return _HINTS[exc.code]
    if exc.code == _NOT_LOADED and "load_collection" not in exc.message:
        return "Call load_collection first (it needs an index on every vector field)."
    if exc.code == ErrorCode.PARAMETER_INVALID and method == "create_collection":
        return "Check the fields, functions and indexes arguments."
    if exc.code == ErrorCode.PARAMETER_INVALID and _SCHEMA_WORDS.search(exc.message):
        return "Call describe_collection to check field names, types and dimensions."
    return ""
