"""The embedded transport: direct calls into an engine in this process."""

from __future__ import annotations

from typing import Any

from ..engine.database import Database
from ..errors import MilvusException


class EmbeddedTransport:
    """Opens (or shares) the :class:`Database` at ``path`` and forwards calls to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: Database | None = Database.open(path)

    @property
    def endpoint(self) -> str:
        return f"file:{self.path}"

    def call(self, operation: str, **arguments: Any) -> Any:
        if self._db is None:
            raise MilvusException(message="should create connection first: the client is "
                                          "closed")
        return getattr(self._db, operation)(**arguments)

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.release()
