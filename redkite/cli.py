"""The ``redkite`` command: ``redkite serve --data DIR --host HOST --port PORT``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redkite", description="redkite vector database")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve a database over the Milvus gRPC protocol",
        description="Serve the database in --data over the Milvus gRPC protocol (pymilvus: "
                    "MilvusClient('http://HOST:PORT')). Stops on SIGINT/SIGTERM.")
    serve.add_argument("--data", default="./redkite-data",
                       help="database directory, created if missing (default ./redkite-data)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=19530,
                       help="port (default 19530; 0 picks a free one)")
    serve.add_argument("--workers", type=int, default=16,
                       help="threads serving calls (default 16)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "serve":
        from .errors import MilvusException
        from .server import serve_forever

        def ready(running) -> None:
            print(f"redkite serve: {args.data} on {running.address}", flush=True)

        try:
            serve_forever(args.data, args.host, args.port, max_workers=args.workers,
                          ready=ready)
        except (MilvusException, OSError) as exc:
            print(f"redkite serve: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
