"""Which privilege each MilvusService RPC needs, and whether a grant covers it.

The table is Milvus's (the ``privilege_ext_obj`` option on each request message of
milvus-proto): the object type the RPC acts on, the privilege it needs, and the request
field (by number) naming the object; Global RPCs act on the object ``*``. RPCs absent from
the table (Connect, GetVersion, ShowCollections, ...) need no privilege, as in Milvus.

A grant is ``(object type, object name, privilege, database)``; it covers a request when
the types match, the name is equal or ``*``, the privilege is equal or ``All``, and the
database is equal or ``*``. A grant may name a privilege group instead (Milvus 2.5+: the
nine built-in groups of :data:`BUILTIN_GROUPS` or a user-defined one); it then carries the
group's ``members`` and covers a request needing any of them on the granted object name
and database, whatever the member's object type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import ParamError

GLOBAL, COLLECTION, USER = "Global", "Collection", "User"
ALL = "All"
ANY = "*"


@dataclass(frozen=True)
class Requirement:
    """What one RPC needs: ``privilege`` on ``object_type``; the object is named by request
    field ``field`` (0: the whole type, ``*``); ``many``: that field is a repeated list."""

    object_type: str
    privilege: str
    field: int = 0
    many: bool = False


def _table() -> dict[str, Requirement]:
    global_rpcs = {
        "CreateCollection": "CreateCollection", "DropCollection": "DropCollection",
        "DescribeCollection": "DescribeCollection", "AlterCollection": "CreateCollection",
        "TruncateCollection": "DropCollection", "RenameCollection": "RenameCollection",
        "CreateAlias": "CreateAlias", "DropAlias": "DropAlias", "AlterAlias": "CreateAlias",
        "DescribeAlias": "DescribeAlias", "ListAliases": "ListAliases",
        "CreateDatabase": "CreateDatabase", "DropDatabase": "DropDatabase",
        "AlterDatabase": "AlterDatabase", "DescribeDatabase": "DescribeDatabase",
        "CreateCredential": "CreateOwnership", "DeleteCredential": "DropOwnership",
        "ListCredUsers": "SelectOwnership", "CreateRole": "CreateOwnership",
        "DropRole": "DropOwnership", "OperateUserRole": "ManageOwnership",
        "SelectRole": "SelectOwnership", "OperatePrivilege": "ManageOwnership",
        "OperatePrivilegeV2": "ManageOwnership", "SelectGrant": "SelectOwnership",
        "CreatePrivilegeGroup": "CreatePrivilegeGroup",
        "DropPrivilegeGroup": "DropPrivilegeGroup",
        "ListPrivilegeGroups": "ListPrivilegeGroups",
        "OperatePrivilegeGroup": "OperatePrivilegeGroup",
        "CreateResourceGroup": "CreateResourceGroup", "DropResourceGroup": "DropResourceGroup",
        "UpdateResourceGroups": "UpdateResourceGroups",
        "DescribeResourceGroup": "DescribeResourceGroup",
        "ListResourceGroups": "ListResourceGroups", "TransferReplica": "TransferReplica",
        "AlterCollectionField": "CreateCollection",
        "AddCollectionFunction": "CreateCollection",
        "AlterCollectionFunction": "CreateCollection",
        "DropCollectionFunction": "CreateCollection", "FlushAll": "FlushAll",
    }
    collection_rpcs = {  # rpc: (privilege, field number of the collection name)
        "LoadCollection": ("Load", 3), "ReleaseCollection": ("Release", 3),
        "GetCollectionStatistics": ("GetStatistics", 3),
        "CreatePartition": ("CreatePartition", 3), "DropPartition": ("DropPartition", 3),
        "HasPartition": ("HasPartition", 3), "LoadPartitions": ("Load", 3),
        "ReleasePartitions": ("Release", 3), "GetPartitionStatistics": ("GetStatistics", 3),
        "ShowPartitions": ("ShowPartitions", 3), "GetLoadingProgress": ("GetLoadState", 2),
        "GetLoadState": ("GetLoadState", 2), "CreateIndex": ("CreateIndex", 3),
        "DescribeIndex": ("IndexDetail", 3), "GetIndexState": ("IndexDetail", 3),
        "GetIndexBuildProgress": ("IndexDetail", 3), "DropIndex": ("DropIndex", 3),
        "Insert": ("Insert", 3), "Delete": ("Delete", 3), "Upsert": ("Upsert", 3),
        "Search": ("Search", 3), "HybridSearch": ("Search", 3), "Query": ("Query", 3),
        "GetFlushState": ("GetFlushState", 4), "ManualCompaction": ("Compaction", 4),
        "AlterIndex": ("CreateIndex", 3), "Import": ("Import", 1),
        "AddCollectionField": ("AddCollectionField", 3),
        "AlterCollectionSchema": ("AlterCollectionSchema", 3),
        # import progress and listing (REST only: the object is the job's collection)
        "GetImportProgress": ("GetImportProgress", 0), "ListImports": ("ListImport", 0),
    }
    table = {rpc: Requirement(GLOBAL, privilege) for rpc, privilege in global_rpcs.items()}
    table.update({rpc: Requirement(COLLECTION, privilege, field)
                  for rpc, (privilege, field) in collection_rpcs.items()})
    table["Flush"] = Requirement(COLLECTION, "Flush", 3, many=True)
    table["UpdateCredential"] = Requirement(USER, "UpdateUser", 2)
    table["SelectUser"] = Requirement(USER, "SelectUser", 2)
    return table


REQUIREMENTS: Mapping[str, Requirement] = _table()
# The privileges a grant may name, per object type (All covers every one).
PRIVILEGES: Mapping[str, frozenset[str]] = {
    object_type: frozenset({ALL, *(r.privilege for r in REQUIREMENTS.values()
                                   if r.object_type == object_type)})
    for object_type in (GLOBAL, COLLECTION, USER)}


# Milvus's built-in privilege groups (milvus paramtable rbacConfig defaults, 2.5/2.6); a
# group does not include the groups below it in level (cluster, database, collection).
_COLLECTION_RO = ("Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState",
                  "GetLoadingProgress", "HasPartition", "ShowPartitions", "DescribeCollection",
                  "DescribeAlias", "GetStatistics", "ListAliases")
_COLLECTION_RW = (*_COLLECTION_RO, "Load", "Release", "Insert", "Delete", "Upsert", "Import",
                  "Flush", "Compaction", "LoadBalance", "CreateIndex", "DropIndex",
                  "CreatePartition", "DropPartition")
_DATABASE_RO = ("ShowCollections", "DescribeDatabase")
_CLUSTER_RO = ("ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup",
               "ListResourceGroups", "ListPrivilegeGroups")
_CLUSTER_RW = (*_CLUSTER_RO, "FlushAll", "TransferNode", "TransferReplica",
               "UpdateResourceGroups")
BUILTIN_GROUPS: Mapping[str, tuple[str, ...]] = {
    "ClusterReadOnly": _CLUSTER_RO,
    "ClusterReadWrite": _CLUSTER_RW,
    "ClusterAdmin": (*_CLUSTER_RW, "BackupRBAC", "RestoreRBAC", "CreateDatabase",
                     "DropDatabase", "CreateOwnership", "DropOwnership", "ManageOwnership",
                     "CreateResourceGroup", "DropResourceGroup", "UpdateUser",
                     "RenameCollection", "CreatePrivilegeGroup", "DropPrivilegeGroup",
                     "OperatePrivilegeGroup"),
    "DatabaseReadOnly": _DATABASE_RO,
    "DatabaseReadWrite": (*_DATABASE_RO, "AlterDatabase"),
    "DatabaseAdmin": (*_DATABASE_RO, "AlterDatabase", "CreateCollection", "DropCollection"),
    "CollectionReadOnly": _COLLECTION_RO,
    "CollectionReadWrite": _COLLECTION_RW,
    "CollectionAdmin": (*_COLLECTION_RW, "CreateAlias", "DropAlias"),
}
# Every single privilege Milvus defines (common.proto ObjectPrivilege, without the
# "Privilege" prefix, the groups and All): what a user-defined group may hold.
MILVUS_PRIVILEGES: frozenset[str] = frozenset({
    *(p for members in BUILTIN_GROUPS.values() for p in members),
    *(r.privilege for r in REQUIREMENTS.values()),
    "ListImport", "GetImportProgress", "AddCollectionField", "AlterCollectionSchema"})


def group_level(group: str) -> str:
    """``Cluster``, ``Database`` or ``Collection`` for a built-in group, else ``""``."""
    if group not in BUILTIN_GROUPS:
        return ""
    return next(level for level in ("Cluster", "Database", "Collection")
                if group.startswith(level))


def object_names(requirement: Requirement, request: Any) -> list[str]:
    """The object(s) ``request`` acts on (``["*"]`` for a whole-type requirement)."""
    if not requirement.field:
        return [ANY]
    field = type(request).DESCRIPTOR.fields_by_number.get(requirement.field)
    if field is None:
        return [""]
    value = getattr(request, field.name)
    if requirement.many:
        return list(value)
    if hasattr(value, "name"):  # a UserEntity
        value = value.name
    return [value]


def normalize_privilege(object_type: str, privilege: str) -> str:
    """``privilege`` as stored (``*`` is All); rejects a privilege the object type lacks."""
    if object_type not in PRIVILEGES:
        raise ParamError(f"invalid object type {object_type!r}: expected one of "
                         f"{sorted(PRIVILEGES)}")
    name = ALL if privilege == ANY else privilege
    if name not in PRIVILEGES[object_type]:
        raise ParamError(f"privilege {privilege!r} does not exist for object type "
                         f"{object_type!r}: expected one of "
                         f"{sorted(PRIVILEGES[object_type])}")
    return name


def object_type_of(privilege: str, custom_groups: Iterable[str] = ()) -> str:
    """The object type a privilege or group belongs to (grant_privilege_v2 names no type):
    collection-level built-in groups are Collection, other groups Global."""
    if privilege in (ALL, ANY) or (privilege in BUILTIN_GROUPS
                                   and group_level(privilege) != "Collection"):
        return GLOBAL
    if privilege in BUILTIN_GROUPS or privilege in custom_groups:
        return COLLECTION
    for object_type in (COLLECTION, GLOBAL, USER):
        if privilege in PRIVILEGES[object_type]:
            return object_type
    known = sorted(set().union(*PRIVILEGES.values()))
    raise ParamError(f"privilege {privilege!r} does not exist: expected a privilege group "
                     f"({sorted(BUILTIN_GROUPS)} or a created one) or one of {known}")


def covers(grant: Mapping[str, Any], object_type: str, name: str, privilege: str,
           db_name: str) -> bool:
    """Whether one stored grant allows ``privilege`` on ``object_type`` ``name``; a group
    grant carries its ``members``."""
    members = grant.get("members")
    if members is not None:
        return (privilege in members and grant["object_name"] in (ANY, name)
                and grant["db_name"] in (ANY, db_name))
    if grant["privilege"] == ALL and grant["object"] == GLOBAL:
        return grant["db_name"] in (ANY, db_name)
    return (grant["object"] == object_type and grant["object_name"] in (ANY, name)
            and grant["privilege"] in (ALL, privilege) and grant["db_name"] in (ANY, db_name))


def allowed(grants: Iterable[Mapping[str, Any]], requirement: Requirement,
            names: list[str], db_name: str) -> bool:
    """Whether ``grants`` (of the caller's roles) cover every object of the request."""
    grants = list(grants)
    return bool(names) and all(
        any(covers(g, requirement.object_type, name, requirement.privilege, db_name)
            for g in grants) for name in names)
