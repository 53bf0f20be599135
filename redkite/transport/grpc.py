"""The gRPC transport: engine operations over the Milvus protocol, to redkite serve or
any Milvus.

Each operation is a generator that yields ``(rpc name, request)`` and receives the reply,
so one body serves the blocking driver (a ``grpc`` channel) and the async one (a
``grpc.aio`` channel per event loop, created lazily, never reused across loops). A reply
whose status failed raises the :class:`~redkite.errors.MilvusException` subclass the
embedded engine raises for that Milvus code.

Writes and reads by id use the schema cache (:mod:`.schema_cache`); a schema-mismatch
answer refreshes the entry and retries the operation once.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from typing import Any, Callable, Generator

import grpc
import grpc.aio

from .. import errors
from ..errors import ErrorCode, MilvusException, SchemaMismatchRetryableException
from ..protocol import SERVICE_NAME, milvus_pb2
from ..protocol.status import exception_from_status
from . import grpc_codec as codec
from .base import Transport, closed_error
from .grpc_ops import OPERATIONS
from .schema_cache import CachedSchema, SchemaCache

MAX_MESSAGE_BYTES = 512 << 20
_CODE_CLASSES = {
    ErrorCode.COLLECTION_NOT_FOUND: errors.CollectionNotExistException,
    ErrorCode.COLLECTION_SCHEMA_MISMATCH: errors.SchemaMismatchRetryableException,
    ErrorCode.PARTITION_NOT_FOUND: errors.PartitionNotExistException,
    ErrorCode.INDEX_NOT_FOUND: errors.IndexNotExistException,
    ErrorCode.DATABASE_NOT_FOUND: errors.DatabaseNotExistException,
    ErrorCode.ALIAS_NOT_FOUND: errors.AliasNotExistException,
    ErrorCode.FIELD_NOT_FOUND: errors.FieldNotExistException,
    ErrorCode.PARAMETER_INVALID: errors.ParamError,
}
Steps = Generator[tuple[str, Any], Any, Any]


def raise_for_status(status: Any, operation: str) -> None:
    """Raise the redkite exception a failed ``common.Status`` stands for."""
    exc = exception_from_status(status)
    if exc is None:
        return
    cls = _CODE_CLASSES.get(exc.code, MilvusException)
    if operation == "describe_collection" and cls is errors.CollectionNotExistException:
        cls = errors.DescribeCollectionException
    options = {"retriable": exc.retriable}
    if not issubclass(cls, errors.ParamError):
        options["is_input_error"] = exc.is_input_error
    raise cls(exc.code, exc.message, **options)


class GrpcTransport(Transport):
    """A client of a MilvusService at ``address`` (``host:port``)."""

    def __init__(self, uri: str, address: str, *, token: str = "", user: str = "",
                 password: str = "", secure: bool = False) -> None:
        self.uri = uri
        self.address = address
        self.secure = secure
        self.schemas = SchemaCache(self.endpoint)
        self.metadata = _auth_metadata(token, user, password)
        self.flush_all_ts = 0  # the last flush_all's timestamp (see grpc_ops.flush_all)
        self._channel: grpc.Channel | None = None
        self._aio: dict[int, tuple[Any, grpc.aio.Channel]] = {}
        self._closed = False
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.address}"

    # ---- channels --------------------------------------------------------------------------
    def _options(self) -> list:
        return [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]

    def _sync_channel(self) -> grpc.Channel:
        with self._lock:
            if self._closed:
                raise closed_error()
            if self._channel is None:
                make = grpc.secure_channel if self.secure else grpc.insecure_channel
                args = (grpc.ssl_channel_credentials(),) if self.secure else ()
                self._channel = make(self.address, *args, options=self._options())
            return self._channel

    def _aio_channel(self) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise closed_error()
            held = self._aio.get(id(loop))
            if held is None or held[0] is not loop:
                make = grpc.aio.secure_channel if self.secure else grpc.aio.insecure_channel
                args = (grpc.ssl_channel_credentials(),) if self.secure else ()
                held = (loop, make(self.address, *args, options=self._options()))
                self._aio[id(loop)] = held
            return held[1]

    def _metadata(self, db_name: str | None) -> list:
        return self.metadata + ([("dbname", db_name)] if db_name else [])

    @staticmethod
    def _method(channel: Any, rpc: str, reply_class: Any) -> Any:
        return channel.unary_unary(f"/{SERVICE_NAME}/{rpc}",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=reply_class.FromString)

    # ---- calls -----------------------------------------------------------------------------
    def open(self) -> None:
        grpc.channel_ready_future(self._sync_channel()).result(timeout=10)

    def call(self, operation: str, **arguments: Any) -> Any:
        channel = self._sync_channel()
        metadata = self._metadata(arguments.get("db_name"))
        steps = self._steps(operation, arguments)
        try:
            rpc, request = next(steps)
            while True:
                method = self._method(channel, rpc, _reply_class(rpc))
                try:
                    reply, error = method(request, metadata=metadata), None
                except grpc.RpcError as exc:
                    reply, error = None, exc
                rpc, request = _resume(steps, rpc, operation, reply, error)
        except StopIteration as done:
            return done.value

    async def acall(self, operation: str, **arguments: Any) -> Any:
        channel = self._aio_channel()
        metadata = self._metadata(arguments.get("db_name"))
        steps = self._steps(operation, arguments)
        try:
            rpc, request = next(steps)
            while True:
                method = self._method(channel, rpc, _reply_class(rpc))
                try:
                    reply, error = await method(request, metadata=metadata), None
                except grpc.RpcError as exc:  # grpc.aio.AioRpcError included
                    reply, error = None, exc
                rpc, request = _resume(steps, rpc, operation, reply, error)
        except StopIteration as done:
            return done.value

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channel, self._channel = self._channel, None
            self._aio.clear()  # aio channels die with their loop
        if channel is not None:
            channel.close()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._aio.pop(id(loop), None)
        if held is not None and held[0] is loop:
            await held[1].close()
        self.close()

    # ---- operations ------------------------------------------------------------------------
    def _steps(self, operation: str, arguments: dict) -> Steps:
        body = OPERATIONS.get(operation)
        if body is None:
            raise MilvusException(ErrorCode.SERVICE_UNIMPLEMENTED,
                                  f"{operation} is not available over the Milvus gRPC "
                                  "protocol")
        return body(self, **arguments)

    def schema_steps(self, db_name: str | None, collection: str,
                     refresh: bool = False) -> Steps:
        """The collection's cached schema; described (one RPC) on a miss or ``refresh``."""
        entry = None if refresh else self.schemas.get(db_name, collection)
        if entry is None:
            reply = yield "DescribeCollection", milvus_pb2.DescribeCollectionRequest(
                db_name=db_name or "", collection_name=collection)
            entry = CachedSchema(codec.schema_of_reply(reply), reply.update_timestamp)
            self.schemas.put(db_name, collection, entry)
        return entry

    def with_schema(self, db_name: str | None, collection: str,
                    body: Callable[[CachedSchema], Steps]) -> Steps:
        """Run ``body(entry)``; on a schema mismatch refresh the entry and run it again.
        Any other error raised with a cached entry also refreshes it: when the schema
        changed since (a drop + re-create elsewhere) the body runs again on the new one."""
        entry = yield from self.schema_steps(db_name, collection)
        try:
            return (yield from body(entry))
        except SchemaMismatchRetryableException:
            entry = yield from self.schema_steps(db_name, collection, refresh=True)
        except MilvusException:
            fresh = yield from self.schema_steps(db_name, collection, refresh=True)
            if fresh.stamp == entry.stamp:
                raise
            entry = fresh
        return (yield from body(entry))


def _reply_class(rpc: str) -> Any:
    from .grpc_ops import REPLIES
    return REPLIES[rpc]


def _resume(steps: Any, rpc: str, operation: str, reply: Any, error: Any) -> Any:
    """Give an operation's steps the outcome of its last RPC (the reply, checked, or the
    error, translated); return the next (rpc, request) or raise StopIteration with the
    result. Shared by the sync and the async drive loops, which differ only in awaiting."""
    if error is not None:
        return steps.throw(_rpc_error(error, rpc))
    try:
        checked = _checked(reply, operation)
    except MilvusException as exc:
        return steps.throw(exc)
    return steps.send(checked)


def _checked(reply: Any, operation: str) -> Any:
    """``reply``, or the exception its status reports (``status``, or ``alter_status`` in
    AlterCollectionSchema's reply; a bare Status is its own)."""
    status = next((getattr(reply, name) for name in ("status", "alter_status")
                   if hasattr(reply, name)), reply)
    raise_for_status(status, operation)
    return reply


def _rpc_error(exc: Any, rpc: str) -> MilvusException:
    code = exc.code()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return MilvusException(ErrorCode.SERVICE_UNAVAILABLE,
                               f"{rpc}: server unavailable: {exc.details()}")
    return MilvusException(ErrorCode.UNEXPECTED_ERROR, f"{rpc}: {code.name}: {exc.details()}")


def _auth_metadata(token: str, user: str, password: str) -> list:
    secret = token or (f"{user}:{password}" if user or password else "")
    if not secret:
        return []
    return [("authorization", base64.b64encode(secret.encode()).decode())]


__all__ = ["GrpcTransport", "raise_for_status"]
