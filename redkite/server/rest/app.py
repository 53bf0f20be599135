"""The ASGI application of the Milvus RESTful API v2 (``POST /v2/vectordb/...``).

It does what Milvus's gin server does around every handler: CORS headers on every response
and HTTP 204 for any ``OPTIONS``; 404 ``404 page not found`` for an unknown path or a
method other than POST (a known path with a trailing slash: a 307 redirect without it); HTTP 401 ``{"code":1800}`` when ``--auth`` is on and the
credentials are missing or wrong, 403 when the user lacks the route's privilege; the body
parsed as one JSON object (empty or malformed: code 1801; larger than ``max_body_bytes``:
HTTP 413, code 1102); the database from ``dbName`` or the ``DB-Name`` header; a deadline
from ``Request-Timeout`` (seconds; expiry: HTTP 408, code 10001). The handler runs on a
worker thread; its result becomes ``{"code": 0, "data": ...}`` and its MilvusException
``{"code": <code>, "message": ...}`` with HTTP 200. Anything else is logged with its
traceback and answered with code 65535 and a short message, never a stack trace.

``GET`` or ``POST /v2/vectordb/openapi.json`` returns the OpenAPI 3 document of the routes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

import pydantic_core

from ...errors import ErrorCode, MilvusException
from .framework import (
    FORMAT_PREFIX, INCORRECT_PARAMETER, NEED_AUTHENTICATE, UNEXPECTED, Body, Reply, RestCall,
    RestError, Route,
)
from .security import BASIC_CHALLENGE, authenticate, permission_error

log = logging.getLogger("redkite.server.rest")
OPENAPI_PATH = "/v2/vectordb/openapi.json"
DOCS_PATH = "/v2/vectordb/docs"
DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_TIMEOUT = 30.0  # seconds, Milvus's proxy.http.requestTimeoutMs
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-credentials", b"true"),
    (b"access-control-allow-headers",
     b"Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, accept, "
     b"origin, Cache-Control, X-Requested-With"),
    (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"),
    (b"x-content-type-options", b"nosniff"),
]
JSON_TYPE = (b"content-type", b"application/json; charset=utf-8")
TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
HTML_TYPE = (b"content-type", b"text/html; charset=utf-8")


class Html(str):
    """A reply body that is an HTML page."""


def decode_body(raw: bytes) -> Body:
    """The request body as a :class:`Body` (code 1801 when empty, malformed, nested deeper
    than 200 levels or not an object; ``null`` is an empty object, as Go decodes it).
    Integers keep every digit; NaN and Infinity are not JSON and are refused."""
    if not raw.strip():
        raise RestError(INCORRECT_PARAMETER,
                        f"{FORMAT_PREFIX}, the request body should be nil, however {{}} is valid")
    try:
        value = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise RestError(INCORRECT_PARAMETER, f"{FORMAT_PREFIX}, error: {exc}") from None
    if value is not None and not isinstance(value, dict):
        raise RestError(INCORRECT_PARAMETER,
                        f"{FORMAT_PREFIX}, error: json: cannot unmarshal "
                        f"{type(value).__name__} into a request object")
    return Body(value)


def _plain(value: Any) -> Any:
    """JSON form of values the encoder does not know (numpy scalars and arrays)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON (pydantic-core's encoder: integers keep every
    digit; a non-finite float, which JSON cannot express, becomes ``null`` as in
    JavaScript's JSON.stringify)."""
    return pydantic_core.to_json(payload, inf_nan_mode="null", bytes_mode="base64",
                                 fallback=_plain)


def error_payload(code: int, message: str) -> dict:
    return {"code": int(code), "message": message}


class RestApp:
    """ASGI application serving ``routes`` over ``db`` (``store``: users and roles;
    ``auth``: whether calls must authenticate)."""

    def __init__(self, db: Any, store: Any, routes: Iterable[Route], *, auth: bool = False,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, workers: int = 16,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.db = db
        self.store = store
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.routes = {route.path: route for route in routes}
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redkite-rest")
        self._openapi: dict | None = None

    def close(self) -> None:
        """Let the running handlers finish; drop the queued ones."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    # ---- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, payload, headers = await self._respond(scope, receive)
        if payload is None:
            body, content_type = b"", []
        elif isinstance(payload, Html):
            body, content_type = payload.encode(), [HTML_TYPE]
        elif isinstance(payload, str):
            body, content_type = payload.encode(), [TEXT_TYPE]
        elif isinstance(payload, bytes):  # JSON encoded by the worker thread
            body, content_type = payload, [JSON_TYPE]
        else:
            body, content_type = encode(payload), [JSON_TYPE]
        await send({"type": "http.response.start", "status": status,
                    "headers": [*CORS_HEADERS, *content_type, *headers,
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _respond(self, scope: dict, receive: Any) -> tuple[int, Any, list]:
        method, path = scope["method"], scope["path"]
        if method == "OPTIONS":
            return 204, None, []
        if path == OPENAPI_PATH and method in ("GET", "POST"):
            return 200, self.openapi(), []
        if path == DOCS_PATH and method == "GET":
            from .openapi import docs_page
            return 200, Html(docs_page(self.openapi())), []
        route = self.routes.get(path)
        if route is None and path.endswith("/") and path.rstrip("/") in self.routes:
            location = path.rstrip("/").encode("latin-1")  # gin's trailing-slash redirect
            return (307 if method == "POST" else 301), None, [(b"location", location)]
        if route is None or method != "POST":
            return 404, "404 page not found", []
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", ())}
        user, extra = None, []
        if self.auth:
            if headers.get("authorization", "").startswith("Basic "):
                extra = [(b"www-authenticate", BASIC_CHALLENGE.encode())]
            user = authenticate(self.store, headers.get("authorization"))
            if user is None:
                return 401, error_payload(NEED_AUTHENTICATE, "user hasn't authenticated"), extra
        try:
            raw = await self._read_body(headers, receive)
        except RestError as exc:
            return 413, error_payload(exc.code, exc.message), extra
        status, payload = await self._dispatch(route, raw, headers, user)
        return status, payload, extra

    async def _read_body(self, headers: dict, receive: Any) -> bytes:
        limit = self.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _dispatch(self, route: Route, raw: bytes, headers: dict,
                        user: str | None) -> tuple[int, Any]:
        timeout = _timeout(headers.get("request-timeout"), self.timeout)
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self.executor, self._run, route, raw, headers, user,
                                          time.monotonic() + timeout)
        except RuntimeError:  # the executor is shut down: the server is stopping
            return 503, error_payload(ErrorCode.SERVICE_UNAVAILABLE, "server is stopping")
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            return 408, error_payload(10001, "request timeout")

    def _run(self, route: Route, raw: bytes, headers: dict, user: str | None,
             deadline: float) -> tuple[int, Any]:
        """Decode, check, call the handler and encode the envelope (on a worker thread)."""
        try:
            body = decode_body(raw)
            call = RestCall(db=self.db, auth=self.store, user=user, body=body,
                            db_name=_db_name(body, headers),
                            int64_as_string=headers.get("accept-type-allow-int64",
                                                        "").strip().lower() == "false",
                            deadline=deadline)
            if self.auth and route.rpc:
                denied = permission_error(self.store, user, route.rpc, body, call.db_name)
                if denied:
                    return 403, error_payload(UNEXPECTED, denied)
            result = route.handler(call)
            if isinstance(result, Reply):
                payload = {"code": 0, "data": {} if result.data is None else result.data,
                           **result.extra}
            else:
                payload = {"code": 0, "data": {} if result is None else result}
            return 200, encode(payload)
        except MilvusException as exc:
            message = exc.message or str(exc)
            if exc.code == ErrorCode.COLLECTION_NOT_FOUND:  # Milvus's wording since 2.4
                message = message.replace("collection not found", "can't find collection", 1)
            return 200, error_payload(exc.code, message)
        except Exception as exc:  # noqa: BLE001 - the catch-all of a server
            log.exception("REST %s failed", route.path)
            return 200, error_payload(UNEXPECTED, f"unexpected error in {route.path}: "
                                                  f"{type(exc).__name__}")

    # ---- OpenAPI -------------------------------------------------------------------------
    def openapi(self) -> dict:
        """The OpenAPI document of the routes (built on first use)."""
        if self._openapi is None:
            from .openapi import openapi_document
            self._openapi = openapi_document(self.routes.values())
        return self._openapi


def _too_large(size: int, limit: int) -> RestError:
    return RestError(ErrorCode.PARAMETER_TOO_LARGE,
                     f"request body of {size} bytes exceeds the limit of {limit} bytes "
                     f"(redkite serve --rest-max-body-mb)")


def _timeout(header: str | None, default: float) -> float:
    """``Request-Timeout`` in seconds (a value that does not parse is ignored)."""
    if header is None:
        return default
    try:
        value = float(header.strip())
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


def _db_name(body: Body, headers: dict) -> str:
    name = body.str_("dbName")
    if name:
        return name
    return headers.get("db-name") or "default"


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
