"""The front door of ``redkite serve``: gRPC and REST on one port, as Milvus serves both on 19530.

One asyncio listening socket (on its own thread and event loop) reads the first bytes of each
connection. The HTTP/2 client preface (``PRI * HTTP/2.0``), which every gRPC client sends
first, makes the connection a byte pipe to the grpcio server, bound on an internal loopback
port: two asyncio protocols write what one side receives to the other side's transport (no
per-byte Python work; a full write buffer pauses reading on the other side). Anything else is
HTTP/1.1: the connection is handed, with the bytes already read, to a uvicorn HTTP protocol
running the REST ASGI application in the same event loop, so REST takes no extra hop.

With TLS the front door terminates TLS itself (ALPN ``h2`` and ``http/1.1``; with a client
CA, client certificates are required) and sniffs the decrypted bytes the same way; gRPC then
reaches grpcio in plaintext over loopback.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from typing import Any

log = logging.getLogger("redkite.server")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _Pipe(asyncio.Protocol):
    """One side of a forwarded connection: what arrives is written to ``peer``."""

    def __init__(self, door: FrontDoor, peer: asyncio.Transport | None = None) -> None:
        self.door = door
        self.peer = peer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.door.pipes.add(transport)

    def data_received(self, data: bytes) -> None:
        self.peer.write(data)

    def eof_received(self) -> bool:
        if self.peer.can_write_eof():
            self.peer.write_eof()
            return True
        self.peer.close()
        return False

    def connection_lost(self, exc) -> None:
        self.door.pipes.discard(self.transport)
        if self.peer is not None:
            self.peer.close()

    # our transport's write buffer is full: stop reading from the side that fills it
    def pause_writing(self) -> None:
        self.peer.pause_reading()

    def resume_writing(self) -> None:
        self.peer.resume_reading()


class _Sniffer(asyncio.Protocol):
    """Reads until the connection's protocol is known, then hands the connection over."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        size = min(len(self.buffer), len(PREFACE))
        if self.buffer[:size] != PREFACE[:size]:
            self._to_http()
        elif len(self.buffer) >= len(PREFACE):
            self.transport.pause_reading()
            self.door.loop.create_task(self._to_grpc())

    def eof_received(self) -> bool:
        return False

    def _to_http(self) -> None:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        protocol = H11Protocol(self.door.config, self.door.state, {}, self.door.loop)
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.data_received(self.buffer)

    async def _to_grpc(self) -> None:
        client = self.transport
        try:
            upstream, _ = await self.door.loop.create_connection(
                lambda: _Pipe(self.door, client), *self.door.grpc_address)
        except OSError as exc:
            log.warning("front door: the gRPC server is unreachable: %s", exc)
            client.close()
            return
        if client.is_closing():
            upstream.close()
            return
        down = _Pipe(self.door, upstream)
        down.connection_made(client)
        client.set_protocol(down)
        upstream.write(self.buffer)
        client.resume_reading()


class FrontDoor:
    """Listens on ``host:port``; sends gRPC connections to ``grpc_address`` and HTTP/1.1
    connections to the ASGI ``app``. ``ssl_context``: terminate TLS first."""

    def __init__(self, host: str, port: int, grpc_address: tuple[str, int], app: Any,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        import uvicorn
        from uvicorn.server import ServerState

        self.host, self.port = host, port
        self.grpc_address = grpc_address
        self.ssl_context = ssl_context
        self.config = uvicorn.Config(app, lifespan="off", http="h11", access_log=False,
                                     log_level="warning", proxy_headers=False,
                                     server_header=False, date_header=False)
        self.config.load()
        self.state = ServerState()
        self.pipes: set[asyncio.Transport] = set()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind (OSError if the address is taken) and serve on a thread; the bound port."""
        self._server = self.loop.run_until_complete(self.loop.create_server(
            lambda: _Sniffer(self), self.host, self.port, ssl=self.ssl_context,
            reuse_address=True, backlog=1024))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        name="redkite-frontdoor", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._thread is None:
            self.loop.close()
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            future.result(timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()
            self._thread = None

    async def _shutdown(self) -> None:
        self._server.close()
        for connection in list(self.state.connections):
            connection.shutdown()
        for transport in list(self.pipes):
            transport.close()
        await asyncio.sleep(0)


def server_ssl_context(cert: str, key: str, ca: str | None) -> ssl.SSLContext:
    """The TLS context of the front door: ALPN h2 (gRPC) and http/1.1 (REST); client
    certificates signed by ``ca`` required when it is given."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if ca:
        context.load_verify_locations(ca)
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context
