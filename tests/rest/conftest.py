"""A redkite server (gRPC + REST on one port, in-process, free local port) per test module.

``rest_server`` gives ``.url`` (``http://127.0.0.1:PORT``), ``.post(path, body,
headers=None) -> (http_status, json)`` over a real HTTP/1.1 connection (httpx), ``.raw(...)``
for requests the helper cannot express, and ``.client``: redkite's MilvusClient over gRPC on
the same port (for congruence checks and fixtures).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
BASE = "/v2/vectordb/"


@dataclass
class RestServer:
    running: Any
    url: str
    http: Any  # httpx.Client
    client: Any  # redkite MilvusClient over gRPC

    def post(self, path: str, body: Any = None, headers: dict | None = None
             ) -> tuple[int, Any]:
        """POST ``body`` (JSON; ``{}`` when None) to ``path`` (``collections/list`` or a full
        ``/v2/...`` path); the HTTP status and the decoded JSON (text when not JSON)."""
        content = json.dumps({} if body is None else body)
        return self.raw("POST", path, content.encode(), headers)

    def raw(self, method: str, path: str, content: bytes = b"",
            headers: dict | None = None) -> tuple[int, Any]:
        url = path if path.startswith("/") else BASE + path
        response = self.http.request(method, url, content=content, headers=headers or {})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text


def open_rest_server(data_dir: str, **options: Any) -> RestServer:
    """Start a server on a free port with ``options`` for start_server."""
    import httpx

    from redkite import MilvusClient
    from redkite.server import start_server

    running = start_server(data_dir, port=0, **options)
    url = f"http://{running.address}"
    return RestServer(running, url, httpx.Client(base_url=url, timeout=30), None)


def close_rest_server(server: RestServer) -> None:
    if server.client is not None:
        server.client.close()
    server.http.close()
    server.running.stop(grace=1.0)


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory):
    from redkite import MilvusClient

    server = open_rest_server(str(tmp_path_factory.mktemp("rest") / "data"))
    server.client = MilvusClient(server.url)
    yield server
    close_rest_server(server)


def ok(response: tuple[int, Any]) -> Any:
    """The ``data`` of a successful response (asserts HTTP 200 and code 0)."""
    status, payload = response
    assert status == 200, (status, payload)
    assert isinstance(payload, dict) and payload.get("code") == 0, payload
    return payload.get("data")


def error(response: tuple[int, Any], code: int, status: int = 200) -> str:
    """The message of a failed response (asserts the HTTP status and the Milvus code)."""
    http_status, payload = response
    assert http_status == status, (http_status, payload)
    assert payload.get("code") == code, payload
    assert "data" not in payload
    return payload["message"]
