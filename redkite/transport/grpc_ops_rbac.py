"""gRPC operations on users, roles and privileges, with pymilvus 3.0.2's requests
(passwords base64-encoded) and result shapes.

``db_name`` is the client's database (sent as the ``dbname`` header, as pymilvus does: a
grant naming no database applies to it); ``grant_db`` is the database a grant names.
"""

from __future__ import annotations

import base64

from ..protocol import common_pb2, milvus_pb2

M = milvus_pb2
Status = common_pb2.Status
REPLIES = {
    "CreateCredential": Status, "UpdateCredential": Status, "DeleteCredential": Status,
    "ListCredUsers": M.ListCredUsersResponse, "SelectUser": M.SelectUserResponse,
    "CreateRole": Status, "DropRole": Status, "OperateUserRole": Status,
    "SelectRole": M.SelectRoleResponse, "OperatePrivilege": Status,
    "OperatePrivilegeV2": Status, "SelectGrant": M.SelectGrantResponse,
}


def _encoded(password: str) -> str:
    return base64.b64encode(password.encode("utf-8")).decode("ascii")


# ---- users ---------------------------------------------------------------------------------
def create_user(t, db_name, user_name, password, description=None):
    request = M.CreateCredentialRequest(username=user_name, password=_encoded(password))
    if description is not None:
        request.description = description
    yield "CreateCredential", request


def drop_user(t, db_name, user_name):
    yield "DeleteCredential", M.DeleteCredentialRequest(username=user_name)


def update_password(t, db_name, user_name, old_password, new_password, description=None,
                    reset_connection=False):
    """Change a password; with ``reset_connection`` later calls authenticate as
    ``user_name`` with the new one (pymilvus's behaviour)."""
    request = M.UpdateCredentialRequest(username=user_name, oldPassword=_encoded(old_password),
                                        newPassword=_encoded(new_password))
    if description is not None:
        request.description = description
    yield "UpdateCredential", request
    if reset_connection:
        t.set_credentials(user=user_name, password=new_password)


def list_users(t, db_name):
    reply = yield "ListCredUsers", M.ListCredUsersRequest()
    return list(reply.usernames)


def describe_user(t, db_name, user_name):
    reply = yield "SelectUser", M.SelectUserRequest(user=M.UserEntity(name=user_name),
                                                    include_role_info=True)
    if not reply.results:
        return {}
    found = reply.results[0]
    return {"user_name": user_name, "roles": tuple(r.name for r in found.roles),
            "description": found.description}


# ---- roles ---------------------------------------------------------------------------------
def create_role(t, db_name, role_name, description=""):
    yield "CreateRole", M.CreateRoleRequest(entity=M.RoleEntity(name=role_name,
                                                                description=description))


def drop_role(t, db_name, role_name, force_drop=False):
    yield "DropRole", M.DropRoleRequest(role_name=role_name, force_drop=force_drop)


def list_roles(t, db_name):
    reply = yield "SelectRole", M.SelectRoleRequest(include_user_info=False)
    return [r.role.name for r in reply.results]


def describe_role(t, db_name, role_name, grant_db=""):
    """The role's description and grants (pymilvus's dict: ``role``, ``description``,
    ``privileges`` as GrantItem dicts)."""
    roles = yield "SelectRole", M.SelectRoleRequest(role=M.RoleEntity(name=role_name),
                                                    include_user_info=False)
    grants = yield "SelectGrant", M.SelectGrantRequest(entity=M.GrantEntity(
        role=M.RoleEntity(name=role_name), db_name=grant_db or ""))
    return {"role": role_name,
            "description": roles.results[0].role.description if roles.results else "",
            "privileges": [_grant_item(g) for g in grants.entities]}


def _grant_item(entity) -> dict:
    """A GrantEntity as pymilvus's ``dict(GrantItem)`` (empty db/grantor left out)."""
    item = {"object_type": entity.object.name, "object_name": entity.object_name}
    if entity.db_name:
        item["db_name"] = entity.db_name
    item.update(role_name=entity.role.name, privilege=entity.grantor.privilege.name)
    if entity.grantor.user.name:
        item["grantor_name"] = entity.grantor.user.name
    return item


def _bind(user_name, role_name, add):
    kind = M.AddUserToRole if add else M.RemoveUserFromRole
    yield "OperateUserRole", M.OperateUserRoleRequest(username=user_name, role_name=role_name,
                                                      type=kind)


def grant_role(t, db_name, user_name, role_name):
    yield from _bind(user_name, role_name, add=True)


def revoke_role(t, db_name, user_name, role_name):
    yield from _bind(user_name, role_name, add=False)


# ---- privileges ----------------------------------------------------------------------------
def _operate(role_name, object_type, privilege, object_name, grant_db, grant):
    yield "OperatePrivilege", M.OperatePrivilegeRequest(
        entity=M.GrantEntity(role=M.RoleEntity(name=role_name),
                             object=M.ObjectEntity(name=object_type), object_name=object_name,
                             db_name=grant_db or "",
                             grantor=M.GrantorEntity(privilege=M.PrivilegeEntity(
                                 name=privilege))),
        type=M.Grant if grant else M.Revoke)


def grant_privilege(t, db_name, role_name, object_type, privilege, object_name, grant_db=""):
    yield from _operate(role_name, object_type, privilege, object_name, grant_db, True)


def revoke_privilege(t, db_name, role_name, object_type, privilege, object_name, grant_db=""):
    yield from _operate(role_name, object_type, privilege, object_name, grant_db, False)


def _operate_v2(role_name, privilege, collection_name, grant_db, grant):
    yield "OperatePrivilegeV2", M.OperatePrivilegeV2Request(
        role=M.RoleEntity(name=role_name),
        grantor=M.GrantorEntity(privilege=M.PrivilegeEntity(name=privilege)),
        type=M.Grant if grant else M.Revoke, db_name=grant_db or "",
        collection_name=collection_name)


def grant_privilege_v2(t, db_name, role_name, privilege, collection_name, grant_db=None):
    yield from _operate_v2(role_name, privilege, collection_name, grant_db, True)


def revoke_privilege_v2(t, db_name, role_name, privilege, collection_name, grant_db=None):
    yield from _operate_v2(role_name, privilege, collection_name, grant_db, False)


OPERATIONS = {f.__name__: f for f in (
    create_user, drop_user, update_password, list_users, describe_user, create_role,
    drop_role, list_roles, describe_role, grant_role, revoke_role, grant_privilege,
    revoke_privilege, grant_privilege_v2, revoke_privilege_v2)}
