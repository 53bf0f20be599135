"""``/v2/vectordb/databases/*``: databases and their properties (spec §4.6).

``dbName`` is required in the body here (the ``DB-Name`` header does not stand in for it).
Property values are stored as Go's ``%v`` prints them (``true`` -> ``"true"``, ``10`` ->
``"10"``), as Milvus's REST layer does before calling the server.
"""

from __future__ import annotations

import json
from typing import Any

from ..framework import OBJ, STR, STRS, RestCall, Route, obj

P = "/v2/vectordb/databases/"
_NAME = obj(("dbName",), dbName=STR)
_PROPS = obj(("dbName",), dbName=STR, properties=OBJ)
_KEYS = obj(("dbName", "propertyKeys"), dbName=STR, propertyKeys=STRS)


def go_value(value: Any) -> str:
    """``value`` as Go's ``%v`` formats a decoded JSON value (bools lower-case, integral
    numbers without a fraction, objects and arrays as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def go_properties(properties: dict) -> dict[str, str]:
    return {str(key): go_value(value) for key, value in properties.items()}


def key_values(mapping: dict) -> list[dict]:
    """``[{"key", "value"}]`` pairs (an empty value is left out, as proto JSON does)."""
    return [{"key": k, "value": v} if v != "" else {"key": k}
            for k, v in ((str(k), go_value(v)) for k, v in mapping.items())]


def _name(call: RestCall) -> str:
    return call.body.str_("dbName", required=True)


def list_databases(call: RestCall) -> list[str]:
    return call.db.list_databases()


def create_database(call: RestCall) -> None:
    name = _name(call)
    call.db.create_database(name, go_properties(call.body.dict_("properties", default={})))


def drop_database(call: RestCall) -> None:
    call.db.drop_database(_name(call))


def describe_database(call: RestCall) -> dict:
    info = dict(call.db.describe_database(_name(call)))
    name = info.pop("name")
    db_id = info.pop("db_id", 0)
    return {"dbName": name, "dbID": db_id, "properties": key_values(info)}


def alter_database(call: RestCall) -> None:
    name = _name(call)
    properties = call.body.dict_("properties", default={})
    call.db.alter_database_properties(name, go_properties(properties))


def drop_properties(call: RestCall) -> None:
    name = _name(call)
    call.db.drop_database_properties(name, call.body.str_list("propertyKeys", required=True))


ROUTES = [
    Route(P + "list", list_databases, obj(), "", "names of the databases"),
    Route(P + "create", create_database, _PROPS, "CreateDatabase",
          "create a database (with properties)"),
    Route(P + "drop", drop_database, _NAME, "DropDatabase", "drop an empty database"),
    Route(P + "describe", describe_database, _NAME, "DescribeDatabase",
          "a database's name, id and properties"),
    Route(P + "alter", alter_database, _PROPS, "AlterDatabase", "set database properties"),
    Route(P + "alter_properties", alter_database, _PROPS, "AlterDatabase",
          "set database properties (same as alter)"),
    Route(P + "drop_properties", drop_properties, _KEYS, "AlterDatabase",
          "remove database properties"),
]
