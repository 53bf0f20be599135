"""One port, two protocols: the official pymilvus (gRPC, HTTP/2) and REST (HTTP/1.1) on the
same listening socket, concurrently, in plaintext and over TLS."""

from __future__ import annotations

import shutil
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pymilvus import MilvusClient

from server.test_tls import certs  # noqa: F401 - the CA and certificates fixture

from .conftest import ok


@pytest.fixture(scope="module")
def official(rest_server):
    client = MilvusClient(rest_server.url, timeout=30)
    yield client
    client.close()


def test_pymilvus_and_rest_share_the_port(rest_server, official):
    official.create_collection("shared", dimension=3, metric_type="L2")
    official.insert("shared", [{"id": i, "vector": [float(i), 0.0, 1.0]} for i in range(10)])
    grpc_hits = official.search("shared", [[2.2, 0.0, 1.0]], limit=3)[0]
    rest_hits = ok(rest_server.post("entities/search", {
        "collectionName": "shared", "data": [[2.2, 0.0, 1.0]], "limit": 3}))
    assert [h["id"] for h in grpc_hits] == [h["id"] for h in rest_hits] == [2, 3, 1]
    assert [h["distance"] for h in grpc_hits] == pytest.approx(
        [h["distance"] for h in rest_hits])
    ok(rest_server.post("entities/insert", {"collectionName": "shared",
                                            "data": [{"id": 99, "vector": [9, 9, 9]}]}))
    assert official.get("shared", ids=[99])[0]["id"] == 99


def test_concurrent_clients_of_both_protocols(rest_server, official):
    official.create_collection("busy", dimension=2)
    official.insert("busy", [{"id": i, "vector": [1.0, float(i)]} for i in range(50)])

    def grpc_call(i):
        return official.query("busy", filter=f"id == {i}")[0]["id"]

    def rest_call(i):
        with httpx.Client(base_url=rest_server.url) as http:
            reply = http.post("/v2/vectordb/entities/get",
                              json={"collectionName": "busy", "id": i}).json()
        return reply["data"][0]["id"]

    with ThreadPoolExecutor(8) as pool:
        grpc_ids = list(pool.map(grpc_call, range(1, 41)))  # id 0 is "missing" to REST
        rest_ids = list(pool.map(rest_call, range(1, 41)))
    assert grpc_ids == rest_ids == list(range(1, 41))


def test_requests_arriving_a_byte_at_a_time(rest_server):
    body = b"{}"
    request = (b"POST /v2/vectordb/collections/has HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 2\r\nConnection: close\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", rest_server.running.port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in request:
            s.sendall(bytes([byte]))
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'"code":1802' in reply  # has needs collectionName


def test_garbage_and_early_hangups_leave_the_server_serving(rest_server, official):
    port = rest_server.running.port
    for payload in (b"\x00\x01\x02garbage\r\n\r\n", b"PRI * HTTP/2.0\r\n", b"PR", b""):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
    assert ok(rest_server.post("collections/list")) is not None
    assert isinstance(official.list_collections(), list)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tls_serves_grpc_and_https_on_one_port(tmp_path, certs):  # noqa: F811
    from redkite.server import TlsConfig, start_server

    tls = TlsConfig(str(certs / "server.pem"), str(certs / "server.key"))
    running = start_server(str(tmp_path / "data"), port=0, tls=tls)
    try:
        url = f"https://localhost:{running.port}"
        secure = MilvusClient(url, server_pem_path=str(certs / "ca.pem"),
                              server_name="localhost", timeout=30)
        secure.create_collection("tls", dimension=2)
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        with httpx.Client(base_url=url, verify=context) as http:
            reply = http.post("/v2/vectordb/collections/list", json={}).json()
        assert reply == {"code": 0, "data": ["tls"]}
        with httpx.Client(base_url=f"http://localhost:{running.port}") as plain:
            with pytest.raises(httpx.HTTPError):
                plain.post("/v2/vectordb/collections/list", json={})
        secure.close()
    finally:
        running.stop(grace=0.5)


def test_redkite_serve_process_serves_rest_with_its_body_limit(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "redkite", "serve", "--data", str(tmp_path / "data"),
         "--port", "0", "--workers", "2", "--rest-max-body-mb", "0.001"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(repo),
        env=dict(os.environ, PYTHONPATH=str(repo)))
    try:
        match = re.search(r"on (127\.0\.0\.1:\d+)", proc.stdout.readline())
        assert match, proc.stderr.read()[-2000:]
        with httpx.Client(base_url=f"http://{match.group(1)}", timeout=30) as http:
            assert http.post("/v2/vectordb/collections/list", json={}).json() == {
                "code": 0, "data": []}
            large = http.post("/v2/vectordb/collections/list", content=b" " * 2000)
            assert large.status_code == 413 and large.json()["code"] == 1102
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
