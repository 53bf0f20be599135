"""``redkite serve``: the Milvus gRPC protocol over the embedded engine."""

from .grpc_server import AuthConfig, RunningServer, TlsConfig, serve_forever, start_server

__all__ = ["AuthConfig", "RunningServer", "TlsConfig", "serve_forever", "start_server"]
