"""The user, role and privilege RPCs of the MilvusService: requests -> :class:`AuthStore`
calls -> Milvus replies. Served whether or not ``--auth`` enforces them, as Milvus does.

Passwords arrive base64-encoded (pymilvus encodes them); the grantor of a grant is the
calling user. Grants without a database name apply to the call's database. A privilege
group may be granted wherever a privilege may (grant_privilege_v2 places built-in groups at
their level: cluster groups need database and collection ``*``, database groups collection
``*``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import ParamError
from ..protocol import milvus_pb2
from .auth import AuthStore
from .grpc_auth import call_db, credentials
from .rpc import rpc


def _password(encoded: str, what: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ParamError(f"the {what} is not base64-encoded UTF-8") from None


def _grant_entity(grant: dict) -> Any:
    return milvus_pb2.GrantEntity(
        role=milvus_pb2.RoleEntity(name=grant["role"]),
        object=milvus_pb2.ObjectEntity(name=grant["object"]),
        object_name=grant["object_name"], db_name=grant["db_name"],
        grantor=milvus_pb2.GrantorEntity(
            user=milvus_pb2.UserEntity(name=grant["grantor"]),
            privilege=milvus_pb2.PrivilegeEntity(name=grant["privilege"])))


class RbacRpcs:
    """Mixed into the servicer; ``self.auth`` is the database's :class:`AuthStore`."""

    auth: AuthStore

    @staticmethod
    def caller(context: Any) -> str:
        creds = credentials(context.invocation_metadata())
        return creds[0] if creds else ""

    # ---- users -----------------------------------------------------------------------------
    @rpc(None)
    def CreateCredential(self, request, context):
        self.auth.create_user(request.username, _password(request.password, "password"),
                              request.description)

    @rpc(None)
    def UpdateCredential(self, request, context):
        if not request.oldPassword and not request.newPassword:
            if not request.HasField("description"):
                raise ParamError("UpdateCredential needs a new password or a description")
            self.auth.update_description(request.username, request.description)
            return
        self.auth.update_password(request.username,
                                  _password(request.oldPassword, "old password"),
                                  _password(request.newPassword, "new password"),
                                  check_old=True)
        if request.HasField("description"):
            self.auth.update_description(request.username, request.description)

    @rpc(None)
    def DeleteCredential(self, request, context):
        self.auth.delete_user(request.username)

    @rpc(milvus_pb2.ListCredUsersResponse)
    def ListCredUsers(self, request, context):
        return {"usernames": self.auth.list_users()}

    @rpc(milvus_pb2.SelectUserResponse)
    def SelectUser(self, request, context):
        users = self.auth.describe_users(request.user.name or None)
        return {"results": [milvus_pb2.UserResult(
            user=milvus_pb2.UserEntity(name=u["name"]), description=u["description"],
            roles=[milvus_pb2.RoleEntity(name=r) for r in u["roles"]]
            if request.include_role_info else []) for u in users]}

    # ---- roles -----------------------------------------------------------------------------
    @rpc(None)
    def CreateRole(self, request, context):
        self.auth.create_role(request.entity.name, request.entity.description)

    @rpc(None)
    def DropRole(self, request, context):
        self.auth.drop_role(request.role_name, force=request.force_drop)

    @rpc(None)
    def OperateUserRole(self, request, context):
        self.auth.bind(request.username, request.role_name,
                       add=request.type == milvus_pb2.AddUserToRole)

    @rpc(milvus_pb2.SelectRoleResponse)
    def SelectRole(self, request, context):
        roles = self.auth.describe_roles(request.role.name or None)
        return {"results": [milvus_pb2.RoleResult(
            role=milvus_pb2.RoleEntity(name=r["name"], description=r["description"]),
            users=[milvus_pb2.UserEntity(name=u) for u in r["users"]]
            if request.include_user_info else []) for r in roles]}

    # ---- privileges ------------------------------------------------------------------------
    @rpc(None)
    def OperatePrivilege(self, request, context):
        entity = request.entity
        self.auth.operate_privilege({
            "role": entity.role.name, "object": entity.object.name,
            "object_name": entity.object_name, "privilege": entity.grantor.privilege.name,
            "db_name": entity.db_name or call_db(None, context.invocation_metadata()),
            "grantor": self.caller(context)}, grant_it=request.type == milvus_pb2.Grant)

    @rpc(None)
    def OperatePrivilegeV2(self, request, context):
        self.auth.operate_privilege_v2(
            request.role.name, request.grantor.privilege.name,
            request.db_name or call_db(None, context.invocation_metadata()),
            request.collection_name, self.caller(context),
            grant_it=request.type == milvus_pb2.Grant)

    @rpc(milvus_pb2.SelectGrantResponse)
    def SelectGrant(self, request, context):
        entity = request.entity
        grants = self.auth.select_grants(entity.role.name, entity.object.name,
                                         entity.object_name, entity.db_name)
        return {"entities": [_grant_entity(g) for g in grants]}


    # ---- privilege groups ------------------------------------------------------------------
    @rpc(None)
    def CreatePrivilegeGroup(self, request, context):
        self.auth.create_privilege_group(request.group_name)

    @rpc(None)
    def DropPrivilegeGroup(self, request, context):
        self.auth.drop_privilege_group(request.group_name)

    @rpc(milvus_pb2.ListPrivilegeGroupsResponse)
    def ListPrivilegeGroups(self, request, context):
        return {"privilege_groups": [milvus_pb2.PrivilegeGroupInfo(
            group_name=g["privilege_group"],
            privileges=[milvus_pb2.PrivilegeEntity(name=p) for p in g["privileges"]])
            for g in self.auth.list_privilege_groups()]}

    @rpc(None)
    def OperatePrivilegeGroup(self, request, context):
        self.auth.operate_privilege_group(
            request.group_name, [p.name for p in request.privileges],
            add=request.type == milvus_pb2.AddPrivilegesToGroup)
