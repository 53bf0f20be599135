"""``/v2/vectordb/collections/*``: collection DDL and state."""

from __future__ import annotations

from ..framework import STR, RestCall, Route, obj

P = "/v2/vectordb/collections/"


def list_collections(call: RestCall) -> list[str]:
    return call.db.list_collections(call.db_name)


ROUTES = [
    Route(P + "list", list_collections, obj(), "", "names of the database's collections"),
]
