"""The ``redkite`` command: ``redkite serve --data DIR --host HOST --port PORT`` (and
``--auth``, ``--root-password``, ``--tls-cert/--tls-key/--tls-ca``, ``--rest-max-body-mb``,
``--no-rest``)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redkite", description="redkite vector database")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve a database over the Milvus gRPC protocol and REST API",
        description="Serve the database in --data over the Milvus gRPC protocol (pymilvus: "
                    "MilvusClient('http://HOST:PORT')) and the Milvus RESTful API v2 "
                    "(POST http://HOST:PORT/v2/vectordb/...) on the same port. Stops on "
                    "SIGINT/SIGTERM.")
    serve.add_argument("--data", default="./redkite-data",
                       help="database directory, created if missing (default ./redkite-data)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=19530,
                       help="port (default 19530; 0 picks a free one)")
    serve.add_argument("--workers", type=int, default=16,
                       help="threads serving calls (default 16)")
    serve.add_argument("--auth", action="store_true",
                       help="require credentials (token 'user:password') on every call and "
                            "enforce users' privileges, as Milvus's authorization")
    serve.add_argument("--root-password", default="Milvus",
                       help="password of the user 'root' when the user store is created "
                            "(default Milvus; later changes are made with update_password)")
    serve.add_argument("--tls-cert", help="PEM certificate: serve over TLS (with --tls-key)")
    serve.add_argument("--tls-key", help="PEM private key of --tls-cert")
    serve.add_argument("--tls-ca", help="PEM CA: require client certificates it signed "
                                        "(mutual TLS)")
    serve.add_argument("--rest-max-body-mb", type=float, default=64,
                       help="largest REST request body in MiB (default 64); larger ones are "
                            "refused with HTTP 413, code 1102")
    serve.add_argument("--no-rest", action="store_true",
                       help="serve gRPC only (grpcio owns the port; no REST API)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "serve":
        from .errors import MilvusException
        from .server import AuthConfig, RestConfig, TlsConfig, serve_forever

        if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_ca and not args.tls_cert):
            print("redkite serve: --tls-cert and --tls-key go together (and --tls-ca needs "
                  "them)", file=sys.stderr)
            return 2
        tls = TlsConfig(args.tls_cert, args.tls_key, args.tls_ca) if args.tls_cert else None
        auth = AuthConfig(enabled=args.auth, root_password=args.root_password)
        if not args.rest_max_body_mb > 0:
            print("redkite serve: --rest-max-body-mb must be positive", file=sys.stderr)
            return 2
        rest = RestConfig(enabled=not args.no_rest,
                          max_body_bytes=int(args.rest_max_body_mb * (1 << 20)))

        def ready(running) -> None:
            print(f"redkite serve: {args.data} on {running.address}", flush=True)

        try:
            serve_forever(args.data, args.host, args.port, max_workers=args.workers,
                          auth=auth, tls=tls, rest=rest, ready=ready)
        except (MilvusException, OSError) as exc:
            print(f"redkite serve: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
