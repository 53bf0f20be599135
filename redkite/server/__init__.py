"""``redkite serve``: the Milvus gRPC protocol and RESTful API v2 over the embedded engine."""

from .grpc_server import (
    AuthConfig, RestConfig, RunningServer, TlsConfig, serve_forever, start_server,
)

__all__ = ["AuthConfig", "RestConfig", "RunningServer", "TlsConfig", "serve_forever", "start_server"]
