"""The embedded transport: direct calls into an engine in this process.

``call`` runs the engine method in the calling thread. ``acall`` runs it on the transport's
own worker pool (a :class:`~concurrent.futures.ThreadPoolExecutor` created on first use,
not the loop's default executor) through ``loop.run_in_executor``: the event loop only
waits on a future, never on the engine. The running loop is looked up at each call and
nothing loop-bound is kept, so one transport serves any loop, including a new one after
``asyncio.run()`` returned. The engine is thread-safe, so calls from several coroutines
run on several workers at once.

The database opens on the first call (or ``open()``), never at construction. A call whose
awaiting task is cancelled before it started does not run; one already running completes.

Two kinds of operation are answered here rather than by the engine: the server version
(``get_server_version``), and users, roles and privileges, which an embedded database
does not have (no authentication: whoever opens the directory owns it); they raise a
:class:`~redkite.errors.MilvusException` (code 10) pointing to ``redkite serve --auth``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine.database import Database
from ..errors import ErrorCode, MilvusException
from .base import Transport, closed_error

VERSION = "redkite-0.1.0"
RBAC_OPERATIONS = frozenset({
    "create_user", "drop_user", "update_password", "list_users", "describe_user",
    "create_role", "drop_role", "list_roles", "describe_role", "grant_role", "revoke_role",
    "grant_privilege", "revoke_privilege", "grant_privilege_v2", "revoke_privilege_v2"})


def server_version(detail: bool = False) -> str | dict:
    """The embedded database's version (pymilvus's shape: a string, or a dict)."""
    return {"version": VERSION, "deploy_mode": "embedded"} if detail else VERSION


def no_users(operation: str) -> MilvusException:
    """The error of a user, role or privilege operation on an embedded database."""
    return MilvusException(
        ErrorCode.SERVICE_UNIMPLEMENTED,
        f"{operation}: an embedded database has no users or roles (whoever opens the "
        "directory owns it). Serve it with `redkite serve --auth --data <dir>` and connect "
        "with MilvusClient('http://host:19530', token='root:Milvus') to manage users and "
        "roles.")


class EmbeddedTransport(Transport):
    """Opens (or shares) the :class:`Database` at ``path`` and forwards calls to it."""

    def __init__(self, path: str, max_workers: int | None = None) -> None:
        self.path = path
        self._max_workers = max_workers
        self._db: Database | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._state_lock = threading.Lock()  # held for moments only (the loop takes it)
        self._open_lock = threading.Lock()  # held while the database opens (a worker takes it)

    @property
    def endpoint(self) -> str:
        return f"file:{self.path}"

    def open(self) -> None:
        self._database()

    def call(self, operation: str, **arguments: Any) -> Any:
        if operation == "get_server_version":
            return server_version(**arguments)
        if operation in RBAC_OPERATIONS:
            raise no_users(operation)
        return getattr(self._database(), operation)(**arguments)

    async def acall(self, operation: str, **arguments: Any) -> Any:
        loop = asyncio.get_running_loop()
        with self._state_lock:  # a close() cannot shut the pool between check and submit
            if self._closed:
                raise closed_error()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._max_workers,
                                                thread_name_prefix="redkite-embedded")
            running = loop.run_in_executor(
                self._pool, functools.partial(self.call, operation, **arguments))
        return await running

    def close(self) -> None:
        """Wait for the calls already submitted, then release the database (the last
        client of a path checkpoints it and unlocks the directory)."""
        with self._state_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._open_lock:
            db, self._db = self._db, None
        if db is not None:
            db.release()

    async def aclose(self) -> None:
        closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redkite-close")
        try:
            await asyncio.get_running_loop().run_in_executor(closer, self.close)
        finally:
            closer.shutdown(wait=False)

    def _database(self) -> Database:
        db = self._db
        if db is not None:
            return db
        with self._open_lock:
            if self._closed:
                raise closed_error()
            if self._db is None:
                self._db = Database.open(self.path)
            return self._db
