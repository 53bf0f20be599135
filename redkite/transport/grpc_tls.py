"""TLS options of the gRPC transport, named as pymilvus names them.

``secure=True`` (or an ``https://`` uri) makes the channel TLS. ``server_pem_path`` or
``ca_pem_path`` is the certificate the server's is checked against (the system's roots
when neither is given); ``client_pem_path`` + ``client_key_path`` present a client
certificate (mutual TLS); ``server_name`` overrides the name the server certificate must
carry (for a certificate issued to a name other than the uri's host).

Unlike pymilvus, which reads the files when it connects and silently ignores options
that do not combine (a CA without a client certificate, certificates on a plaintext
connection), every option here is checked when the client is built: a missing file, a
client certificate without its key, or a TLS option on a non-TLS connection raises
:class:`~redkite.errors.ParamError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParamError

TLS_KWARGS = ("secure", "server_pem_path", "ca_pem_path", "server_name", "client_pem_path",
              "client_key_path")
_FILE_KWARGS = ("server_pem_path", "ca_pem_path", "client_pem_path", "client_key_path")


@dataclass(frozen=True)
class TlsOptions:
    """What a TLS channel needs: PEM bytes read at construction, and a name override."""

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    server_name: str = ""

    def credentials(self) -> Any:
        import grpc

        return grpc.ssl_channel_credentials(root_certificates=self.root_certificates,
                                            private_key=self.private_key,
                                            certificate_chain=self.certificate_chain)

    def channel_options(self) -> list:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def tls_options(options: dict, https: bool) -> TlsOptions | None:
    """The :class:`TlsOptions` of a client's TLS keyword arguments (None: plaintext)."""
    secure = options.get("secure", False)
    if not isinstance(secure, bool):
        raise ParamError(f"secure must be a bool, got {secure!r}")
    for key in (*_FILE_KWARGS, "server_name"):
        value = options.get(key, "")
        if not isinstance(value, str):
            raise ParamError(f"{key} must be a str, got {type(value).__name__}")
    given = sorted(k for k in (*_FILE_KWARGS, "server_name") if options.get(k))
    if not (secure or https):
        if given:
            raise ParamError(f"{given} apply to a TLS connection: pass secure=True or use an "
                             "https:// uri")
        return None
    client_pem, client_key = options.get("client_pem_path"), options.get("client_key_path")
    if bool(client_pem) != bool(client_key):
        raise ParamError("mutual TLS needs both client_pem_path and client_key_path")
    root_path = options.get("server_pem_path") or options.get("ca_pem_path")
    return TlsOptions(root_certificates=_read(root_path, "server_pem_path/ca_pem_path"),
                      private_key=_read(client_key, "client_key_path"),
                      certificate_chain=_read(client_pem, "client_pem_path"),
                      server_name=options.get("server_name") or "")


def _read(path: str | None, what: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ParamError(f"{what}: cannot read {path!r}: {exc.strerror or exc}") from None
