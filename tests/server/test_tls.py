"""`redkite serve` over TLS (and mutual TLS) with the official pymilvus, using certificates
made at test time by the `openssl` command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from pymilvus import MilvusClient

from .conftest import CALL_TIMEOUT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(name: str, cwd: Path, extensions: str) -> None:
    """``name.key`` / ``name.pem`` signed by the CA in ``cwd``."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-subj", f"/CN={name}", "-out", f"{name}.csr", cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
             cwd=cwd)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A CA, a server certificate for 127.0.0.1 / localhost and a client certificate."""
    cwd = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-subj", "/CN=redkite test CA", "-days", "2", "-out", "ca.pem", cwd=cwd)
    _signed("server", cwd, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                           "extendedKeyUsage=serverAuth\n")
    _signed("client", cwd, "extendedKeyUsage=clientAuth\n")
    return cwd


@pytest.fixture
def tls_server(tmp_path, certs):
    from redkite.server import AuthConfig, TlsConfig, start_server

    running = []

    def start(mutual: bool = False, auth: bool = False):
        tls = TlsConfig(str(certs / "server.pem"), str(certs / "server.key"),
                        str(certs / "ca.pem") if mutual else None)
        server = start_server(str(tmp_path / "data"), port=0, tls=tls,
                              auth=AuthConfig(enabled=auth))
        running.append(server)
        return server.port

    yield start
    for server in running:
        server.stop(grace=0.5)


def test_pymilvus_connects_over_tls_with_authentication(tls_server, certs):
    port = tls_server(auth=True)
    client = MilvusClient(f"https://127.0.0.1:{port}", token="root:Milvus",
                          server_pem_path=str(certs / "ca.pem"), timeout=CALL_TIMEOUT)
    client.create_collection("docs", dimension=3)
    client.insert("docs", [{"id": 7, "vector": [1.0, 0.0, 0.0]}])
    hits = client.search("docs", data=[[1.0, 0.0, 0.0]], limit=1)
    assert hits[0][0]["id"] == 7
    # plaintext to a TLS port fails instead of hanging
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.FutureTimeoutError):
            grpc.channel_ready_future(channel).result(timeout=2)


def test_mutual_tls_requires_a_client_certificate(tls_server, certs):
    port = tls_server(mutual=True)
    client = MilvusClient(f"https://127.0.0.1:{port}", ca_pem_path=str(certs / "ca.pem"),
                          client_pem_path=str(certs / "client.pem"),
                          client_key_path=str(certs / "client.key"), timeout=CALL_TIMEOUT)
    assert client.list_collections() == []
    # without a client certificate the handshake fails
    credentials = grpc.ssl_channel_credentials((certs / "ca.pem").read_bytes())
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        with pytest.raises(grpc.FutureTimeoutError):
            grpc.channel_ready_future(channel).result(timeout=2)
