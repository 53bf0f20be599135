"""Milvus gRPC servers in child processes, for benchmarks and interoperability tests:
``milvus-lite server`` and ``redkite serve``, each on a free 127.0.0.1 port, started with a
bounded wait and stopped (terminate, then kill) on exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REPO = Path(__file__).resolve().parents[1]


class ServerStartError(RuntimeError):
    """The server process exited or did not accept connections in time."""


@dataclass
class ServerProcess:
    """A server child process; ``uri`` is what MilvusClient takes."""

    name: str
    process: subprocess.Popen
    host: str
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> int:
        """SIGTERM (a graceful stop for both servers), SIGKILL if it lingers; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _drain(process: subprocess.Popen, sink: list[str], ready: threading.Event,
           marker: str) -> None:
    """Collect the child's output lines (so its pipe never fills); flag the ready line."""
    for line in process.stdout:
        sink.append(line.rstrip("\n"))
        if marker in line:
            ready.set()
    ready.set()  # end of output: the process exited


def _spawn(name: str, argv: Sequence[str], host: str, port: int, marker: str,
           timeout: float, env: Mapping[str, str] | None) -> ServerProcess:
    env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
    server = ServerProcess(name, process, host, port)
    ready = threading.Event()
    threading.Thread(target=_drain, args=(process, server.output, ready, marker),
                     name=f"{name}-output", daemon=True).start()
    if not ready.wait(timeout) or process.poll() is not None:
        server.stop()
        tail = "\n".join(server.output[-20:])
        raise ServerStartError(f"{name} did not start within {timeout:g}s "
                               f"(exit code {process.returncode}):\n{tail}")
    return server


def start_lite(data_dir: str | Path, host: str = "127.0.0.1",
               timeout: float = STARTUP_TIMEOUT_S,
               env: Mapping[str, str] | None = None) -> ServerProcess:
    """``milvus-lite server`` (milvus_lite's gRPC server) over ``data_dir``, with ``env``
    added to this process's environment. It has no
    port-0 mode that reports the bound port, so a free port is picked first; a lost race
    for it is retried."""
    for attempt in range(3):
        port = free_port(host)
        argv = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
                "--host", host, "--port", str(port)]
        try:
            return _spawn("milvus-lite", argv, host, port, "listening on", timeout, env)
        except ServerStartError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_redkite(data_dir: str | Path, host: str = "127.0.0.1", workers: int = 16,
                  timeout: float = STARTUP_TIMEOUT_S,
                  env: Mapping[str, str] | None = None) -> ServerProcess:
    """``redkite serve`` over ``data_dir`` on a port the server picks (it prints it), with
    ``env`` added to this process's environment."""
    argv = [sys.executable, "-m", "redkite", "serve", "--data", str(data_dir), "--host", host,
            "--port", "0", "--workers", str(workers)]
    server = _spawn("redkite serve", argv, host, 0, "redkite serve:", timeout, env)
    ready_line = next(line for line in server.output if line.startswith("redkite serve:"))
    server.port = int(ready_line.rsplit(":", 1)[1])
    return server
