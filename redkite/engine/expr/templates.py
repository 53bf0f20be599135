"""Filter templates: ``{name}`` placeholders replaced by parameter values.

Substitution happens on the syntax tree: a placeholder node becomes a literal node
(or a list-literal node) holding the parameter value, so a parameter can never
inject syntax. Parameter values may be ``bool``, ``int``, ``float``, ``str``, numpy
scalars, and lists / tuples / numpy arrays of those.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ast
from .diagnostics import filter_error

_MAX_LIST_NESTING = 16


class UnhashableParams(Exception):
    """Raised by :func:`freeze_params` when params cannot be part of a cache key."""


def _plain(value: object) -> object:
    """numpy scalars and arrays to Python values."""
    to_list = getattr(value, "tolist", None)
    if to_list is not None and type(value).__module__ == "numpy":
        return to_list()
    return value


def substitute(text: str, node: ast.Placeholder, params: Mapping | None) -> ast.Expr:
    """The literal syntax node standing for placeholder ``node``."""
    if params is None or node.name not in params:
        raise filter_error(text, node.position,
                           f"missing value for template parameter {node.name!r}")
    return _to_node(text, node, _plain(params[node.name]), 0)


def _to_node(text: str, node: ast.Placeholder, value: object, nesting: int) -> ast.Expr:
    if isinstance(value, (bool, int, float, str)):
        return ast.Literal(node.position, value)
    if isinstance(value, (list, tuple)) and nesting < _MAX_LIST_NESTING:
        items = tuple(_to_node(text, node, _plain(item), nesting + 1) for item in value)
        return ast.ListLiteral(node.position, items)
    shown = "a too deeply nested list" if isinstance(value, (list, tuple)) else type(value).__name__
    raise filter_error(text, node.position,
                       f"template parameter {node.name!r} has an unsupported value: {shown}")


def _freeze(value: object, nesting: int = 0) -> object:
    value = _plain(value)
    if isinstance(value, (bool, int, float, str)):
        # the type is part of the key: True == 1 == 1.0 must not share a cache entry
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)) and nesting < _MAX_LIST_NESTING:
        return ("list", tuple(_freeze(item, nesting + 1) for item in value))
    raise UnhashableParams()


def freeze_params(params: Mapping | None) -> tuple | None:
    """A hashable key for ``params``; raises UnhashableParams for other value types."""
    if params is None:
        return None
    try:
        return tuple(sorted((str(key), _freeze(value)) for key, value in params.items()))
    except TypeError as exc:  # keys that do not sort, e.g. mixed types
        raise UnhashableParams() from exc
