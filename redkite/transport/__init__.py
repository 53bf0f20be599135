"""Transports: how a client reaches a database. Chosen once, from the uri."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConnectionConfigException, ParamError
from .base import Transport
from .embedded import EmbeddedTransport

_REMOTE_SCHEMES = ("http://", "https://", "tcp://", "unix:", "grpc://")


def transport_for_uri(uri: str, *, token: str = "", user: str = "", password: str = "",
                      timeout: float | None = None, tls: dict | None = None) -> Transport:
    """An :class:`EmbeddedTransport` for a local ``*.db`` path, a :class:`GrpcTransport`
    for ``http://host:port`` / ``https://`` / ``tcp://`` / ``grpc://``.

    ``tls`` holds pymilvus's TLS keyword arguments (:data:`.grpc_tls.TLS_KWARGS`) and
    ``timeout`` the per-RPC deadline; both apply to a server uri only. Only the uri and
    the options are checked here (no database is opened, no connection made), so a client
    can be built anywhere, an event loop's thread included.
    """
    if not isinstance(uri, str) or not uri:
        raise ConnectionConfigException(f"uri must be a non-empty string, got {uri!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(
            timeout, (int, float)) or timeout <= 0):
        raise ParamError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if uri.startswith(_REMOTE_SCHEMES):
        return _grpc_transport(uri, token, user, password, timeout, tls or {})
    if tls:
        raise ParamError(f"{sorted(tls)} apply to a server uri (https://host:port), not to "
                         f"the local database {uri!r}")
    path = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
    if not path.name.endswith(".db"):
        raise ConnectionConfigException(
            f"uri: {uri} is illegal, needs start with [unix, http, https, tcp] or a local "
            "file endswith [.db]")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConnectionConfigException(f"Open local database failed, dir: {parent} not exists")
    if path.exists() and not path.is_dir():
        raise ConnectionConfigException(f"{path} exists and is not a redkite database directory")
    return EmbeddedTransport(os.fspath(path))


def _grpc_transport(uri: str, token: str, user: str, password: str,
                    timeout: float | None, tls: dict) -> Transport:
    from urllib.parse import urlsplit

    from .grpc import GrpcTransport
    from .grpc_tls import tls_options

    if uri.startswith("unix:"):
        raise ConnectionConfigException(f"uri {uri!r}: unix sockets are not supported")
    parts = urlsplit(uri)
    if not parts.hostname:
        raise ConnectionConfigException(f"uri {uri!r} names no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 19530)  # pymilvus's defaults
    except ValueError:
        raise ConnectionConfigException(f"uri {uri!r}: invalid port") from None
    return GrpcTransport(uri, f"{parts.hostname}:{port}", token=token, user=user,
                         password=password, timeout=timeout,
                         tls=tls_options(tls, https=parts.scheme == "https"))


__all__ = ["transport_for_uri", "Transport", "EmbeddedTransport"]
