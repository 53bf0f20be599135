"""A redkite server per test module (in-process, free local port) and pymilvus clients."""

from __future__ import annotations

import logging

import pytest

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
CALL_TIMEOUT = 30  # seconds: the bound on every client call in these tests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from redkite.server import start_server

    running = start_server(str(tmp_path_factory.mktemp("serve") / "data"), port=0)
    yield running
    running.stop(grace=1.0)


@pytest.fixture(scope="module")
def uri(server) -> str:
    return f"http://{server.address}"


@pytest.fixture(scope="module")
def client(uri):
    from pymilvus import MilvusClient

    c = MilvusClient(uri, timeout=CALL_TIMEOUT)
    yield c
    c.close()
