"""The gRPC transport's schema cache: each collection's schema, stamped with its epoch.

Entries are keyed by (endpoint, database, collection). The stamp is the collection's
``update_timestamp`` from DescribeCollection: inserts carry it as ``schema_timestamp``
and reads/deletes by id in ``base.properties``, so a server answers a stale one with a
schema-mismatch error; the transport then refreshes the entry and retries once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..schema import CollectionSchema


@dataclass(frozen=True)
class CachedSchema:
    """A collection's schema as last described, and the stamp that identifies it."""

    schema: CollectionSchema
    stamp: int


class SchemaCache:
    """Thread-safe cache of :class:`CachedSchema` with hit and miss counters."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[str, str, str], CachedSchema] = {}
        self._lock = threading.Lock()

    def _key(self, db_name: str | None, collection: str) -> tuple[str, str, str]:
        return (self.endpoint, db_name or "default", collection)

    def get(self, db_name: str | None, collection: str) -> CachedSchema | None:
        """The cached entry (counted as a hit) or None (counted as a miss)."""
        with self._lock:
            entry = self._entries.get(self._key(db_name, collection))
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
            return entry

    def put(self, db_name: str | None, collection: str, entry: CachedSchema) -> None:
        with self._lock:
            self._entries[self._key(db_name, collection)] = entry

    def invalidate(self, db_name: str | None, collection: str | None = None) -> None:
        """Forget one collection's entry, or every entry of the database."""
        with self._lock:
            db = db_name or "default"
            for key in [k for k in self._entries
                        if k[1] == db and (collection is None or k[2] == collection)]:
                del self._entries[key]

    def stats(self) -> dict:
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "entries": len(self._entries)}
