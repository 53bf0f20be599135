"""``/v2/vectordb/aliases/*``: collection aliases (spec §4.5)."""

from __future__ import annotations

from ..framework import STR, RestCall, Route, obj

P = "/v2/vectordb/aliases/"
_PAIR = obj(("collectionName", "aliasName"), collectionName=STR, aliasName=STR)
_ALIAS = obj(("aliasName",), aliasName=STR)


def list_aliases(call: RestCall) -> list[str]:
    name = call.body.str_("collectionName", default="")
    return call.db.list_aliases(call.db_name, name)["aliases"]


def describe_alias(call: RestCall) -> dict:
    info = call.db.describe_alias(call.db_name, call.body.str_("aliasName", required=True))
    return {"dbName": info["db_name"], "collectionName": info["collection_name"],
            "aliasName": info["alias"]}


def create_alias(call: RestCall) -> None:
    name = call.body.str_("collectionName", required=True)
    call.db.create_alias(call.db_name, name, call.body.str_("aliasName", required=True))


def alter_alias(call: RestCall) -> None:
    name = call.body.str_("collectionName", required=True)
    call.db.alter_alias(call.db_name, name, call.body.str_("aliasName", required=True))


def drop_alias(call: RestCall) -> None:
    call.db.drop_alias(call.db_name, call.body.str_("aliasName", required=True))


ROUTES = [
    Route(P + "list", list_aliases, obj(collectionName=STR), "ListAliases",
          "aliases of the database (or of one collection)"),
    Route(P + "describe", describe_alias, _ALIAS, "DescribeAlias",
          "the collection an alias points to"),
    Route(P + "create", create_alias, _PAIR, "CreateAlias", "create an alias"),
    Route(P + "alter", alter_alias, _PAIR, "AlterAlias", "point an alias at a collection"),
    Route(P + "drop", drop_alias, _ALIAS, "DropAlias", "drop an alias"),
]
