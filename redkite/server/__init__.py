"""``redkite serve``: the Milvus gRPC protocol over the embedded engine."""

from .grpc_server import RunningServer, serve_forever, start_server

__all__ = ["RunningServer", "serve_forever", "start_server"]
