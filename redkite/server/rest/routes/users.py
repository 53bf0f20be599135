"""``/v2/vectordb/users/*``: users of the server's user store (spec §4.7)."""

from __future__ import annotations

from ....errors import ErrorCode, MilvusException
from ..framework import STR, RestCall, Route, obj

P = "/v2/vectordb/users/"
_USER = obj(("userName",), userName=STR)
_ROLE = obj(("userName", "roleName"), userName=STR, roleName=STR)


def _user(call: RestCall) -> str:
    return call.body.str_("userName", required=True)


def list_users(call: RestCall) -> list[str]:
    return call.auth.list_users()


def describe_user(call: RestCall) -> list[str]:
    users = call.auth.describe_users(_user(call))
    return list(users[0]["roles"]) if users else []


def create_user(call: RestCall) -> None:
    user = _user(call)
    password = call.body.str_("password", required=True)
    if user in call.auth.list_users():  # Milvus: an undefined-code error
        raise MilvusException(ErrorCode.UNDEFINED, f"user already exists: {user}")
    call.auth.create_user(user, password)


def update_password(call: RestCall) -> None:
    user = _user(call)
    old = call.body.str_("password", required=True)
    new = call.body.str_("newPassword", required=True)
    call.auth.update_password(user, old, new, check_old=True)


def drop_user(call: RestCall) -> None:
    call.auth.delete_user(_user(call))


def grant_role(call: RestCall) -> None:
    user = _user(call)
    call.auth.bind(user, call.body.str_("roleName", required=True), add=True)


def revoke_role(call: RestCall) -> None:
    user = _user(call)
    call.auth.bind(user, call.body.str_("roleName", required=True), add=False)


ROUTES = [
    Route(P + "list", list_users, obj(), "ListCredUsers", "names of the users"),
    Route(P + "describe", describe_user, _USER, "SelectUser", "the roles of a user"),
    Route(P + "create", create_user,
          obj(("userName", "password"), userName=STR, password=STR),
          "CreateCredential", "create a user"),
    Route(P + "update_password", update_password,
          obj(("userName", "password", "newPassword"), userName=STR, password=STR,
              newPassword=STR), "UpdateCredential", "change a user's password"),
    Route(P + "drop", drop_user, _USER, "DeleteCredential", "drop a user"),
    Route(P + "grant_role", grant_role, _ROLE, "OperateUserRole", "bind a user to a role"),
    Route(P + "revoke_role", revoke_role, _ROLE, "OperateUserRole",
          "unbind a user from a role"),
]
