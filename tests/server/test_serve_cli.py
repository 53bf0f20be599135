"""`python -m redkite serve` as a real process: it serves pymilvus, and SIGTERM / SIGINT
stop it gracefully (exit 0, database closed so another process can open it, data kept)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CALL_TIMEOUT

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


def _start(data: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "redkite", "serve", "--data", str(data), "--port", "0",
         "--workers", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=str(REPO))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"on (127\.0\.0\.1:\d+)", line or "")
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"redkite serve did not start: {proc.stderr.read()[-2000:]}")


def _stop(proc: subprocess.Popen, sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("redkite serve did not stop on signal") from None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_process_round_trip_and_graceful_stop(tmp_path, sig):
    from pymilvus import MilvusClient

    data = tmp_path / "data.db"  # the embedded client opens it afterwards
    proc, address = _start(data)
    try:
        client = MilvusClient(f"http://{address}", timeout=CALL_TIMEOUT)
        client.create_collection("docs", dimension=3)
        client.insert("docs", [{"id": i, "vector": [i, 1.0, 0.5], "k": i} for i in range(5)])
        hits = client.search("docs", data=[[4, 1.0, 0.5]], limit=2, output_fields=["k"])
        assert hits[0][0]["id"] == 4 and hits[0][0]["entity"] == {"k": 4}
        client.close()
    finally:
        code = _stop(proc, sig)
    assert code == 0, proc.stderr.read()[-2000:]
    import redkite

    reopened = redkite.MilvusClient(str(data))  # the lock was released
    try:
        assert reopened.query("docs", filter="k >= 0", output_fields=["count(*)"])[0][
            "count(*)"] == 5
    finally:
        reopened.close()


def test_serve_refuses_a_database_in_use(tmp_path):
    import redkite

    holder = redkite.MilvusClient(str(tmp_path / "busy.db"))
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        done = subprocess.run(
            [sys.executable, "-m", "redkite", "serve", "--data", str(tmp_path / "busy.db"),
             "--port", "0"], capture_output=True, text=True, env=env, cwd=str(REPO),
            timeout=START_TIMEOUT)
    finally:
        holder.close()
    assert done.returncode == 1 and "in use" in done.stderr


def test_tls_flags_must_come_together(capsys):
    from redkite.cli import main

    assert main(["serve", "--tls-cert", "server.pem"]) == 2
    assert main(["serve", "--tls-ca", "ca.pem"]) == 2
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err
