"""``/v2/vectordb/roles/*``: roles and their grants (spec §4.7).

``grant_privilege`` names the object type; ``grant_privilege_v2`` takes a privilege or a
privilege group and places it by level. As in Milvus, v2's ``dbName`` and
``collectionName`` are not defaulted (give ``*`` for every database or collection).
"""

from __future__ import annotations

from ....errors import ParamError
from ..framework import STR, RestCall, Route, obj

P = "/v2/vectordb/roles/"
_ROLE = obj(("roleName",), roleName=STR)
_GRANT = obj(("roleName", "objectType", "objectName", "privilege"), roleName=STR,
             objectType=STR, objectName=STR, privilege=STR)
_GRANT_V2 = obj(("roleName", "privilege"), roleName=STR, privilege=STR, collectionName=STR)


def _role(call: RestCall) -> str:
    return call.body.str_("roleName", required=True)


def list_roles(call: RestCall) -> list[str]:
    return [role["name"] for role in call.auth.describe_roles()]


def describe_role(call: RestCall) -> list[dict]:
    grants = call.auth.select_grants(_role(call), db_name=call.db_name)
    return [{"objectType": g["object"], "objectName": g["object_name"],
             "privilege": g["privilege"], "dbName": g["db_name"], "grantor": g["grantor"]}
            for g in grants]


def create_role(call: RestCall) -> None:
    call.auth.create_role(_role(call))


def drop_role(call: RestCall) -> None:
    call.auth.drop_role(_role(call))


def _operate(call: RestCall, grant_it: bool) -> None:
    role = _role(call)
    body = call.body
    grant = {"object": body.str_("objectType", required=True),
             "object_name": body.str_("objectName", required=True),
             "privilege": body.str_("privilege", required=True)}
    call.auth.operate_privilege({"role": role, **grant, "db_name": call.db_name,
                                 "grantor": call.user or ""}, grant_it=grant_it)


def _operate_v2(call: RestCall, grant_it: bool) -> None:
    role = _role(call)
    privilege = call.body.str_("privilege", required=True)
    db_name = call.body.str_("dbName", default="")
    collection = call.body.str_("collectionName", default="")
    for key, value in (("dbName", db_name), ("collectionName", collection)):
        if not value:
            raise ParamError(f"{key} must be given for grant_privilege_v2 / "
                             f"revoke_privilege_v2 ('*' for every one)")
    call.auth.operate_privilege_v2(role, privilege, db_name, collection, call.user or "",
                                   grant_it=grant_it)


ROUTES = [
    Route(P + "list", list_roles, obj(), "SelectRole", "names of the roles"),
    Route(P + "describe", describe_role, _ROLE, "SelectGrant",
          "the grants of a role in the database"),
    Route(P + "create", create_role, _ROLE, "CreateRole", "create a role"),
    Route(P + "drop", drop_role, _ROLE, "DropRole", "drop a role holding no grants"),
    Route(P + "grant_privilege", lambda call: _operate(call, True), _GRANT,
          "OperatePrivilege", "grant a privilege on an object to a role"),
    Route(P + "revoke_privilege", lambda call: _operate(call, False), _GRANT,
          "OperatePrivilege", "revoke a privilege on an object from a role"),
    Route(P + "grant_privilege_v2", lambda call: _operate_v2(call, True), _GRANT_V2,
          "OperatePrivilegeV2", "grant a privilege or privilege group to a role"),
    Route(P + "revoke_privilege_v2", lambda call: _operate_v2(call, False), _GRANT_V2,
          "OperatePrivilegeV2", "revoke a privilege or privilege group from a role"),
]
