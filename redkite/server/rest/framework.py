"""The pieces every REST route is built from: the request body, the call, the route, the reply.

A route (:class:`Route`) names its path under ``/v2/vectordb``, a plain synchronous handler
(run on a worker thread by :mod:`redkite.server.rest.app`), the JSON schema of its request
body (for the OpenAPI document) and the equivalent Milvus gRPC RPC (for the privilege check
under ``--auth``). The handler receives a :class:`RestCall` and returns the response's
``data`` payload, or a :class:`Reply` when the envelope carries more top-level keys
(``cost``, ``topks``). It raises :class:`~redkite.errors.MilvusException` (engine errors keep
their Milvus code) or :class:`RestError` (the REST layer's own codes, 1801/1802/...).

:class:`Body` reads the request object as Milvus's Go server does: keys bound into request
structs match **case-insensitively** (an exact spelling wins over another casing), a JSON
value of the wrong type is code 1801 naming the key, and a required key that is missing or
holds a zero value (``""``, ``0``, ``false``, ``[]``, ``{}``) is code 1802.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable

from ..auth import AuthStore
from ...errors import MilvusException

INCORRECT_PARAMETER = 1801  # merr.ErrIncorrectParameterFormat
MISSING_PARAMETER = 1802  # merr.ErrMissingRequiredParameters
INVALID_INSERT_DATA = 1804  # merr.ErrInvalidInsertData
CHECK_PRIMARY_KEY = 1806  # merr.ErrCheckPrimaryKey
NEED_AUTHENTICATE = 1800  # merr.ErrNeedAuthenticate
UNEXPECTED = 65535
FORMAT_PREFIX = "can only accept json format request"
_MISSING = object()
_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "bool",
                    int: "number", float: "number", type(None): "null"}


class RestError(MilvusException):
    """An error of the REST layer itself, with its Milvus code (1801, 1802, 1804, ...)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, is_input_error=True)


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``object``, ``array``, ``number``, ...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def type_error(key: str, value: Any, expected: str) -> RestError:
    """Code 1801: ``key`` holds a JSON value of the wrong type."""
    return RestError(INCORRECT_PARAMETER,
                     f"{FORMAT_PREFIX}, error: json: cannot unmarshal {json_type(value)} into "
                     f"field {key} of type {expected}")


def missing_error(key: str) -> RestError:
    """Code 1802: the required key ``key`` is missing or holds a zero value."""
    return RestError(MISSING_PARAMETER,
                     f"missing required parameters, error: Key: '{key}' Error:Field validation "
                     f"for '{key}' failed on the 'required' tag")


class Body:
    """Read-only view of one request JSON object with case-insensitive keys.

    ``raw`` is the decoded object as sent (for keys Milvus reads case-sensitively, such as
    ``data`` and ``id``)."""

    def __init__(self, raw: dict | None) -> None:
        self.raw: dict = {} if raw is None else raw
        folded: dict[str, str] = {}
        for key in self.raw:
            folded.setdefault(key.lower(), key)
        self._folded = folded

    def key_of(self, key: str) -> str | None:
        """The key as spelled in the request that matches ``key`` (None: absent)."""
        if key in self.raw:
            return key
        return self._folded.get(key.lower())

    def __contains__(self, key: str) -> bool:
        return self.key_of(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (any casing), ``default`` when absent."""
        spelled = self.key_of(key)
        return default if spelled is None else self.raw[spelled]

    def require(self, key: str) -> Any:
        """The value of ``key``; missing or a zero value is code 1802."""
        value = self.get(key, _MISSING)
        if value is _MISSING or value is None or _is_zero(value):
            raise missing_error(key)
        return value

    def _typed(self, key: str, default: Any, required: bool, check: Callable[[Any], bool],
               expected: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise missing_error(key)
            return default
        if not check(value):
            raise type_error(key, value, expected)
        if required and _is_zero(value):
            raise missing_error(key)
        return value

    def str_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON string (1801 otherwise)."""
        return self._typed(key, default, required, lambda v: isinstance(v, str), "string")

    def int_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON integer number (1801 for a fraction, a string, a bool, ...)."""
        return self._typed(key, default, required, _is_int, "int")

    def float_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON number, returned as float (1801 otherwise)."""
        value = self._typed(key, default, required,
                            lambda v: _is_int(v) or isinstance(v, float), "float")
        return float(value) if _is_int(value) else value

    def bool_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON bool (1801 otherwise)."""
        return self._typed(key, default, required, lambda v: isinstance(v, bool), "bool")

    def list_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON array (1801 otherwise)."""
        return self._typed(key, default, required, lambda v: isinstance(v, list), "array")

    def dict_(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON object (1801 otherwise)."""
        return self._typed(key, default, required, lambda v: isinstance(v, dict), "object")

    def str_list(self, key: str, default: Any = None, required: bool = False) -> Any:
        """A JSON array of strings (1801 otherwise)."""
        value = self.list_(key, default, required)
        if value is not default and not all(isinstance(v, str) for v in value):
            raise type_error(key, value, "[]string")
        return value

    def sub(self, key: str, required: bool = False) -> Body:
        """The JSON object under ``key`` as a Body (empty when absent and not required)."""
        return Body(self.dict_(key, None, required))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_zero(value: Any) -> bool:
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return False


@dataclass
class RestCall:
    """One REST request as a handler sees it."""

    db: Any  # redkite.engine.database.Database
    auth: AuthStore | None
    user: str | None
    body: Body
    db_name: str = "default"
    int64_as_string: bool = False
    deadline: float | None = None  # time.monotonic() bound, None: no bound


@dataclass(frozen=True)
class Route:
    """One POST route: ``path`` (``/v2/vectordb/...``), a sync ``handler``, the JSON schema
    of its body, the equivalent gRPC ``rpc`` (privilege check; "" = none) and a summary."""

    path: str
    handler: Callable[[RestCall], Any]
    schema: dict = dataclass_field(default_factory=lambda: {"type": "object"})
    rpc: str = ""
    summary: str = ""


@dataclass
class Reply:
    """A handler's result with top-level keys beside ``data`` (``cost``, ``topks``, ...)."""

    data: Any
    extra: dict = dataclass_field(default_factory=dict)


# ---- JSON schema helpers for route bodies -------------------------------------------------
def obj(required: tuple[str, ...] = (), **properties: dict) -> dict:
    """A JSON schema object with ``properties`` (``dbName`` always allowed)."""
    props = {"dbName": {"type": "string"}, **properties}
    schema: dict = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
STRS = {"type": "array", "items": {"type": "string"}}
OBJ = {"type": "object"}
ANY_ARRAY = {"type": "array"}
