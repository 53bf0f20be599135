"""The gRPC server of ``redkite serve``: MilvusService over an embedded database.

:func:`start_server` binds the servicer's RPCs (the methods of redkite's MilvusService
descriptor) plus a fallback for every other Milvus RPC, which answers with a Milvus status
"service unimplemented: ... <RPC name>" in the reply shape pymilvus expects (a bare
``common.Status``, or a reply whose field 1 is the status), so a client gets a
``MilvusException`` naming the RPC instead of a hang or a transport error. Streaming and
status-less RPCs are refused with gRPC's UNIMPLEMENTED code and the same text.

With ``auth`` enabled, :class:`~redkite.server.grpc_auth.AuthInterceptor` authenticates
and authorizes every call first; other interceptors passed to :func:`start_server` follow.
With ``tls`` the port speaks TLS only (mutual TLS when a client CA is given).
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Sequence

import grpc

from ..engine.database import Database
from ..protocol import SERVICE, SERVICE_NAME
from ..protocol.status import unimplemented_status
from .auth import DEFAULT_ROOT_PASSWORD, AuthStore
from .grpc_auth import AuthInterceptor
from .grpc_service import MilvusServicer

log = logging.getLogger("redkite.server")
MAX_MESSAGE_BYTES = 512 << 20  # Milvus's default gRPC message limit
DEFAULT_WORKERS = 16

# Milvus RPCs (milvus-proto, MilvusService) whose reply is a bare common.Status; every
# other unary RPC redkite lacks replies with a message holding the status as field 1.
BARE_STATUS_RPCS = frozenset({
    "AddCollectionField", "AddCollectionFunction", "AddCollectionStructField",
    "AddFileResource", "AddUserTags", "AlterCollectionField", "AlterCollectionFunction",
    "AlterIndex", "AlterRole", "BatchUpdateManifest", "CreateCredential",
    "CreatePrivilegeGroup", "CreateResourceGroup", "CreateRole", "CreateRowPolicy",
    "CreateSnapshot", "DeleteCredential", "DeleteUserTags", "DropCollectionFunction",
    "DropPrivilegeGroup", "DropResourceGroup", "DropRole", "DropRowPolicy", "DropSnapshot",
    "LoadBalance", "OperatePrivilege", "OperatePrivilegeGroup", "OperatePrivilegeV2",
    "OperateUserRole", "RemoveFileResource", "RestoreRBAC", "TransferNode", "TransferReplica",
    "UnpinSnapshotData", "UpdateCredential", "UpdateReplicateConfiguration",
    "UpdateResourceGroups",
})
# Streaming RPCs and replies without a status in field 1: refused at the gRPC level.
REFUSED_RPCS = frozenset({"CreateReplicateStream", "DumpMessages", "Dummy", "RegisterLink",
                          "GetComponentStates", "GetReplicateInfo"})


def service_handler(servicer: Any) -> grpc.GenericRpcHandler:
    """The MilvusService methods of ``servicer``, typed by redkite's descriptors."""
    from google.protobuf import message_factory

    handlers = {}
    for method in SERVICE.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name), request_deserializer=request_class.FromString,
            response_serializer=lambda reply: reply.SerializeToString())
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)


class UnimplementedHandler(grpc.GenericRpcHandler):
    """Answers any other MilvusService method with a status naming it."""

    prefix = f"/{SERVICE_NAME}/"

    def service(self, handler_call_details):
        path = handler_call_details.method
        if not path.startswith(self.prefix):
            return None
        name = path[len(self.prefix):]
        if name in REFUSED_RPCS:
            return grpc.unary_unary_rpc_method_handler(self._refuse(name))
        status = unimplemented_status(name).SerializeToString()
        reply = status if name in BARE_STATUS_RPCS else _as_field_one(status)
        return grpc.unary_unary_rpc_method_handler(lambda request, context: reply)

    @staticmethod
    def _refuse(name: str):
        def refuse(request, context):
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"service unimplemented: redkite does not implement the Milvus RPC "
                          f"{name}")
        return refuse


def _as_field_one(payload: bytes) -> bytes:
    """``payload`` as field 1 (length-delimited) of an otherwise empty message."""
    size, head = len(payload), bytearray(b"\x0a")
    while True:
        byte, size = size & 0x7F, size >> 7
        head.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(head) + payload


@dataclass
class RunningServer:
    """A started server: its gRPC server, the bound port and the database it serves;
    ``frontdoor``/``rest``: the same-port front door and the REST application (None when
    the server was started without REST)."""

    server: grpc.Server
    port: int
    db: Database
    address: str
    frontdoor: Any = None
    rest: Any = None

    def stop(self, grace: float | None = 2.0) -> None:
        """Stop taking calls, let running ones finish (``grace`` seconds), close the db."""
        if self.frontdoor is not None:
            self.frontdoor.stop()
        self.server.stop(grace).wait()
        if self.rest is not None:
            self.rest.close()
        self.db.release()


@dataclass(frozen=True)
class TlsConfig:
    """PEM files of the server's certificate and key; ``ca``: also require client
    certificates signed by this CA (mutual TLS)."""

    cert: str
    key: str
    ca: str | None = None

    def credentials(self) -> grpc.ServerCredentials:
        def read(path: str) -> bytes:
            with open(path, "rb") as handle:
                return handle.read()

        return grpc.ssl_server_credentials(
            [(read(self.key), read(self.cert))],
            root_certificates=read(self.ca) if self.ca else None,
            require_client_auth=self.ca is not None)


@dataclass(frozen=True)
class AuthConfig:
    """``enabled``: every call must authenticate and hold the RPC's privilege;
    ``root_password``: the password of ``root`` when the user store is first created."""

    enabled: bool = False
    root_password: str = DEFAULT_ROOT_PASSWORD


@dataclass(frozen=True)
class RestConfig:
    """``enabled``: serve the REST API on the gRPC port (through the front door);
    ``max_body_bytes``: the largest request body accepted."""

    enabled: bool = True
    max_body_bytes: int = 64 << 20


def start_server(data_dir: str, host: str = "127.0.0.1", port: int = 19530, *,
                 max_workers: int = DEFAULT_WORKERS, auth: AuthConfig = AuthConfig(),
                 tls: TlsConfig | None = None, rest: RestConfig = RestConfig(),
                 interceptors: Sequence[grpc.ServerInterceptor] = ()) -> RunningServer:
    """Open the database in ``data_dir`` and serve it on ``host:port`` (0: any free port),
    over TLS when ``tls`` is given, authenticating calls when ``auth.enabled``. With
    ``rest.enabled`` the port also serves the REST API: a front door
    (:mod:`redkite.server.frontdoor`) owns the port and forwards gRPC to grpcio on an
    internal loopback port."""
    db = Database.open(data_dir)
    try:
        store = AuthStore(db.path, auth.root_password)
        chain = [AuthInterceptor(store)] if auth.enabled else []
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers,
                                       thread_name_prefix="redkite-grpc"),
            interceptors=[*chain, *interceptors],
            options=[("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers((service_handler(MilvusServicer(db, store)),
                                         UnimplementedHandler()))
        if rest.enabled:
            internal = server.add_insecure_port("127.0.0.1:0")
            server.start()
            try:
                door, app = _open_front_door(db, store, host, port, internal, max_workers,
                                             auth, tls, rest)
            except BaseException:
                server.stop(None)
                raise
            bound = door.port
        else:
            door = app = None
            address = f"{host}:{port}"
            bound = (server.add_secure_port(address, tls.credentials()) if tls
                     else server.add_insecure_port(address))
            if bound == 0:
                raise OSError(f"cannot listen on {host}:{port} (address in use or not local)")
            server.start()
    except BaseException:
        db.release()
        raise
    log.info("redkite serving %s on %s:%d (%s%s%s)", data_dir, host, bound,
             "TLS" if tls else "plaintext", ", authentication on" if auth.enabled else "",
             ", gRPC and REST" if rest.enabled else "")
    return RunningServer(server, bound, db, f"{host}:{bound}", door, app)


def _open_front_door(db: Database, store: AuthStore, host: str, port: int, internal: int,
                     workers: int, auth: AuthConfig, tls: TlsConfig | None,
                     rest: RestConfig) -> tuple[Any, Any]:
    """Start the REST app and the front door on ``host:port`` (grpcio on ``internal``)."""
    from .frontdoor import FrontDoor, server_ssl_context
    from .rest.app import RestApp
    from .rest.routes import all_routes

    app = RestApp(db, store, all_routes(), auth=auth.enabled,
                  max_body_bytes=rest.max_body_bytes, workers=workers)
    context = server_ssl_context(tls.cert, tls.key, tls.ca) if tls else None
    door = FrontDoor(host, port, ("127.0.0.1", internal), app, context)
    try:
        door.start()
    except BaseException:
        door.stop()
        app.close()
        raise
    return door, app


def serve_forever(data_dir: str, host: str, port: int, *, max_workers: int = DEFAULT_WORKERS,
                  auth: AuthConfig = AuthConfig(), tls: TlsConfig | None = None,
                  rest: RestConfig = RestConfig(), ready: Any = None) -> None:
    """Run until SIGINT or SIGTERM, then stop gracefully and close the database.
    ``ready(running)`` is called once the port is bound."""
    running = start_server(data_dir, host, port, max_workers=max_workers, auth=auth, tls=tls,
                           rest=rest)
    stopping = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if ready is not None:
            ready(running)
        while not stopping.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        running.stop()
