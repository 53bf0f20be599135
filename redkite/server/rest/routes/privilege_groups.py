"""``/v2/vectordb/privilege_groups/*``: built-in and created privilege groups (spec §4.7)."""

from __future__ import annotations

from ..framework import STR, STRS, RestCall, Route, obj

P = "/v2/vectordb/privilege_groups/"
_GROUP = obj(("privilegeGroupName",), privilegeGroupName=STR)
_MEMBERS = obj(("privilegeGroupName",), privilegeGroupName=STR, privileges=STRS)


def _group(call: RestCall) -> str:
    return call.body.str_("privilegeGroupName", required=True)


def list_groups(call: RestCall) -> dict:
    return {"privilegeGroups": [
        {"privilegeGroupName": g["privilege_group"], "privileges": ",".join(g["privileges"])}
        for g in call.auth.list_privilege_groups()]}


def create_group(call: RestCall) -> None:
    call.auth.create_privilege_group(_group(call))


def drop_group(call: RestCall) -> None:
    call.auth.drop_privilege_group(_group(call))


def _operate(call: RestCall, add: bool) -> None:
    group = _group(call)
    call.auth.operate_privilege_group(group, call.body.str_list("privileges", default=[]),
                                      add=add)


ROUTES = [
    Route(P + "list", list_groups, obj(), "ListPrivilegeGroups",
          "the privilege groups (built-in first) and their privileges"),
    Route(P + "create", create_group, _GROUP, "CreatePrivilegeGroup",
          "create an empty privilege group"),
    Route(P + "drop", drop_group, _GROUP, "DropPrivilegeGroup",
          "drop a privilege group no role holds"),
    Route(P + "add_privileges_to_group", lambda call: _operate(call, True), _MEMBERS,
          "OperatePrivilegeGroup", "add privileges to a group"),
    Route(P + "remove_privileges_from_group", lambda call: _operate(call, False), _MEMBERS,
          "OperatePrivilegeGroup", "remove privileges from a group"),
]
