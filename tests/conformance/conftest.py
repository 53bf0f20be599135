"""Fixtures for the Lite-vs-redkite conformance suite.

* ONE milvus-lite database per session (``lite.db`` under a session tmp dir);
  every ``.db`` path starts its own Lite gRPC server (in-process threads in Lite
  3.2.2, ~0.1 s plus 0.5 s per indexed create_collection), so tests share it and
  use unique collection names.
* Every module runs on three redkite *faces* (the ``pair`` fixture is parametrized):
  ``embedded`` is ``redkite.MilvusClient("<tmp>/rk.db")`` (one database per module);
  ``serve`` is the official ``pymilvus.MilvusClient("http://127.0.0.1:<port>")`` talking
  to one ``redkite serve`` per session (started in-process on a free port), one Milvus
  database per module; ``grpc`` is redkite's own ``MilvusClient("http://...")`` (its gRPC
  transport) to the same server, in databases of its own. Tests that exercise the redkite
  SDK itself rather than the server's answers skip the ``serve`` face
  (``pair.sdk_only()``); every scenario runs on the ``grpc`` face.
* If ``import redkite`` fails, the Lite half of every comparison still runs
  (so scenarios and Lite quirk records stay checked) and the redkite half is
  skipped with the import error as the reason.

Environment:

* ``REDKITE_CONFORMANCE_RECORD=/path/file.json`` dumps the normalised Lite result
  of every scenario (handy for diffing Lite versions);
* ``REDKITE_CONFORMANCE_SELFTEST=1`` runs the "redkite" side on a second Lite
  database: every comparison must pass Lite-vs-Lite, which validates the harness
  (tests asserting Milvus-correct behaviour where Lite is wrong are skipped);
* ``REDKITE_CONFORMANCE_FACES=embedded`` (or ``serve``, ``grpc``, or a comma-separated
  list) runs those faces only.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from . import helpers as H
from .helpers import make_full_collection

logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
logging.getLogger("grpc").setLevel(logging.CRITICAL)

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:  # plain `pytest` does not put the repo root on sys.path
    sys.path.insert(0, str(_REPO))

try:
    import redkite as _redkite  # noqa: F401

    RK_IMPORT_ERROR: str | None = None
    try:
        H.register_milvus_base(_redkite.MilvusException)
    except AttributeError:
        from redkite.errors import MilvusException as _RkMilvusException

        H.register_milvus_base(_RkMilvusException)
    if not hasattr(_redkite, "MilvusClient"):
        RK_IMPORT_ERROR = "redkite imports but has no MilvusClient yet"
except Exception as exc:  # noqa: BLE001 - any import failure means "not ready"
    _redkite = None
    RK_IMPORT_ERROR = f"redkite not importable: {type(exc).__name__}: {exc}"

SELFTEST = os.environ.get("REDKITE_CONFORMANCE_SELFTEST", "") not in ("", "0")
FACES = ["embedded"] if SELFTEST else [
    face for face in os.environ.get("REDKITE_CONFORMANCE_FACES", "embedded,serve,grpc").split(",")
    if face]
SERVER_TIMEOUT = 60  # seconds: the bound on any single call to the serve face
H.RELAX_MESSAGES = SELFTEST
_RECORD: dict[str, Any] = {}
_COUNTER = itertools.count()


class _ShortPolls:
    """pymilvus's gRPC handler with its status polls (index built, collection loaded,
    flushed) every 20 ms instead of 0.5 s; every other ``time`` attribute is the real one.
    Lite and redkite answer "done" on the first poll, so only the waiting changes."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, 0.02))


@pytest.fixture(scope="session", autouse=True)
def _short_pymilvus_polls():
    from pymilvus.client import grpc_handler

    real, grpc_handler.time = grpc_handler.time, _ShortPolls()
    yield
    grpc_handler.time = real


@pytest.fixture(scope="session")
def lite_client(tmp_path_factory: pytest.TempPathFactory):
    from pymilvus import MilvusClient

    path = tmp_path_factory.mktemp("lite") / "lite.db"
    client = MilvusClient(str(path))
    yield client
    try:
        client.close()
    except Exception:  # pragma: no cover
        pass


_LITE_SHARED: dict[str, str] = {}


@pytest.fixture(scope="session")
def redkite_server(tmp_path_factory: pytest.TempPathFactory):
    """One ``redkite serve`` for the session (in-process, on a free local port)."""
    if RK_IMPORT_ERROR is not None:
        pytest.skip(RK_IMPORT_ERROR)
    from redkite.server import start_server

    running = start_server(str(tmp_path_factory.mktemp("serve") / "data"), port=0)
    yield running
    running.stop(grace=1.0)


REMOTE_FACES = ("serve", "grpc")


class Pair:
    """The Lite and redkite clients of one test module plus the comparison driver."""

    def __init__(self, lite: Any, rk_dir: Path, module: str, face: str = "embedded",
                 server: Any = None) -> None:
        self.lite = lite
        self._rk_dir = rk_dir
        self._rk = None
        self._rk_shared: dict[str, str] = {}
        self.module = module
        self.face = face
        self._server = server

    def sdk_only(self, reason: str = "exercises the redkite SDK, not the server") -> None:
        """Skip on the ``serve`` face (the client there is pymilvus)."""
        if self.face == "serve":
            pytest.skip(reason)

    def _remote_client(self) -> Any:
        """pymilvus (``serve``) or redkite's gRPC client (``grpc``) on the session's
        redkite serve, in a database of this module and face's own."""
        if self.face == "serve":
            from pymilvus import MilvusClient
        else:
            MilvusClient = _redkite.MilvusClient  # noqa: N806
        uri = f"http://{self._server.address}"
        admin = MilvusClient(uri, timeout=SERVER_TIMEOUT)
        db_name = f"{self.face[0]}_{self.module}"[:60]
        if db_name not in admin.list_databases():
            admin.create_database(db_name)
        admin.close()
        return MilvusClient(uri, db_name=db_name, timeout=SERVER_TIMEOUT)

    # -- clients -----------------------------------------------------------
    @property
    def rk_available(self) -> bool:
        return RK_IMPORT_ERROR is None

    @property
    def selftest(self) -> bool:
        """REDKITE_CONFORMANCE_SELFTEST=1: the "redkite" side is a second Lite db.

        Validates the harness itself (every comparison must pass Lite vs Lite);
        tests asserting Milvus-correct behaviour where Lite is wrong are skipped.
        """
        return SELFTEST

    @property
    def rk(self) -> Any:
        if SELFTEST:
            if self._rk is None:
                from pymilvus import MilvusClient

                self._rk = MilvusClient(str(self._rk_dir / "selftest.db"))
            return self._rk
        if RK_IMPORT_ERROR is not None:
            pytest.skip(RK_IMPORT_ERROR)
        if self._rk is None:
            try:
                if self.face in REMOTE_FACES:
                    self._rk = self._remote_client()
                else:
                    self._rk = _redkite.MilvusClient(str(self._rk_dir / "rk.db"))
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"redkite {self.face} client failed: {type(exc).__name__}: {exc}")
        return self._rk

    def close(self) -> None:
        if self._rk is not None:
            try:
                self._rk.close()
            except Exception:  # pragma: no cover
                pass

    # -- names ---------------------------------------------------------------
    def uniq(self, prefix: str) -> str:
        return f"{prefix}_{next(_COUNTER)}"

    # -- shared read-only data collection ------------------------------------
    def shared(self, client: Any, kind: str = "full") -> str:
        """Name of a read-only data collection in ``client``.

        ``full``: the full schema, dynamic fields on, 300 rows (helpers.full_rows).
        ``strict``: the full schema, dynamic fields OFF, 50 rows (error tests).
        """
        cache = _LITE_SHARED if client is self.lite else self._rk_shared
        if kind not in cache:
            name = f"shared_{kind}"
            if kind == "full":
                make_full_collection(client, name, H.full_rows(300), metric="L2")
            elif kind == "strict":
                make_full_collection(client, name, H.strict_rows(50), metric="L2", dynamic=False)
            else:
                raise KeyError(kind)
            cache[kind] = name
        return cache[kind]

    # -- driver ----------------------------------------------------------------
    def run(self, scenario: Callable[..., Any], *args: Any, name: str | None = None,
            shared: bool | str = False,
            check: Callable[[Any, Any], None] | None = None) -> tuple[Any, Any]:
        """Run ``scenario(client, name, *args)`` on Lite then redkite; compare.

        ``shared=True`` (or a kind, e.g. ``"strict"``) appends the name of a
        read-only data collection (see :meth:`shared`).
        """
        name = name or self.uniq(scenario.__name__.replace("scenario_", "")[:40])

        def go(client: Any) -> Any:
            kind = shared if isinstance(shared, str) else "full"
            extra = (self.shared(client, kind),) if shared else ()
            return scenario(client, name, *args, *extra)

        lite_res = go(self.lite)
        _RECORD[f"{self.module}::{scenario.__name__}{list(args) if args else ''}"] = lite_res
        rk = self.rk  # skips here when redkite is unavailable
        rk_res = go(rk)
        if check is None:
            H.assert_same(lite_res, rk_res)
        else:
            check(lite_res, rk_res)
        return lite_res, rk_res




@pytest.fixture(scope="module", params=FACES)
def pair(lite_client, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    face = request.param
    server = request.getfixturevalue("redkite_server") if face in REMOTE_FACES else None
    p = Pair(lite_client, tmp_path_factory.mktemp("rk"), request.module.__name__.split(".")[-1],
             face, server)
    yield p
    p.close()




def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    path = os.environ.get("REDKITE_CONFORMANCE_RECORD")
    if not path or not _RECORD:
        return

    def enc(o: Any) -> Any:
        if isinstance(o, H.Err):
            return {"__error__": o.name, "code": o.code, "message": o.message}
        return repr(o)

    Path(path).write_text(json.dumps(_RECORD, default=enc, indent=1, sort_keys=True))


def pytest_report_header(config):  # noqa: ARG001
    if SELFTEST:
        return "redkite conformance: SELFTEST (Lite vs Lite)"
    return f"redkite conformance: {'redkite available' if RK_IMPORT_ERROR is None else RK_IMPORT_ERROR}"
