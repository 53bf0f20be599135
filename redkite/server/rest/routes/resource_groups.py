"""``/v2/vectordb/resource_groups/*``: resource groups as a single-node Milvus standalone
has them (spec §4.9).

redkite is one node, so the only resource group is ``__default_resource_group`` holding
that node, with requests and limits of one node; every loaded collection has one replica
in it. Describing and listing report that. Creating or dropping a group, changing the
default group's configuration, or transferring replicas would need more nodes: those calls
are refused with a message saying so (code 10 for the operations a single node cannot
carry out, 300 for a group that does not exist), never answered with a success that
changes nothing.

``describe`` answers ``{"code": 0, "data": {...}, "resource_group": {...}}``: Milvus's reply
is the bare ``{"resource_group": ...}`` without ``code``, so both readings work.
"""

from __future__ import annotations

import socket

from ....errors import ErrorCode, MilvusException
from ....types import LoadState
from ..framework import INT, OBJ, STR, RestCall, Reply, Route, obj

P = "/v2/vectordb/resource_groups/"
DEFAULT_GROUP = "__default_resource_group"
RESOURCE_GROUP_NOT_FOUND = 300  # merr.ErrResourceGroupNotFound
NODE_ID = 1
_CONFIG = {"requests": {"node_num": 1}, "limits": {"node_num": 1}}


def _not_found(name: str) -> MilvusException:
    return MilvusException(RESOURCE_GROUP_NOT_FOUND,
                           f"resource group not found[rg={name}]: redkite runs as one node, "
                           f"whose only resource group is {DEFAULT_GROUP}")


def _single_node(what: str) -> MilvusException:
    return MilvusException(ErrorCode.SERVICE_UNIMPLEMENTED,
                           f"{what}: redkite runs as one node in {DEFAULT_GROUP} "
                           f"(config {_CONFIG}), so resource groups cannot be created, "
                           "resized or rebalanced")


def _name(call: RestCall) -> str:
    return call.body.str_("name", required=True)


def list_groups(call: RestCall) -> list[str]:
    return [DEFAULT_GROUP]


def describe_group(call: RestCall) -> Reply:
    name = _name(call)
    if name != DEFAULT_GROUP:
        raise _not_found(name)
    loaded = {c: 1 for c in call.db.list_collections(call.db_name)
              if call.db.get_load_state(call.db_name, c)["state"] == LoadState.Loaded}
    group = {"name": DEFAULT_GROUP, "capacity": 1, "num_available_node": 1,
             "num_loaded_replica": loaded, "num_outgoing_node": {},
             "num_incoming_node": {}, "config": _CONFIG,
             "nodes": [{"node_id": NODE_ID, "hostname": socket.gethostname()}]}
    return Reply(group, extra={"resource_group": group})


def create_group(call: RestCall) -> None:
    name = _name(call)
    call.body.dict_("config", default={})
    raise _single_node(f"cannot create resource group {name!r}")


def drop_group(call: RestCall) -> None:
    name = _name(call)
    if name != DEFAULT_GROUP:
        raise _not_found(name)
    raise MilvusException(ErrorCode.UNDEFINED,
                          f"delete default rg is not permitted: {DEFAULT_GROUP}")


def alter_groups(call: RestCall) -> None:
    groups = call.body.dict_("resource_groups", required=True)
    for name, config in groups.items():
        if name != DEFAULT_GROUP:
            raise _not_found(name)
        if config != _CONFIG:
            raise _single_node(f"cannot change the config of {DEFAULT_GROUP} to {config}")


def transfer_replica(call: RestCall) -> None:
    body = call.body
    source = body.str_("sourceRgName", required=True)
    target = body.str_("targetRgName", required=True)
    name = body.str_("collectionName", required=True)
    body.int_("replicaNum", required=True)
    call.db.describe_collection(call.db_name, name)  # the collection must exist
    for group in (source, target):
        if group != DEFAULT_GROUP:
            raise _not_found(group)
    raise MilvusException(ErrorCode.PARAMETER_INVALID,
                          "source resource group and target resource group should not be "
                          f"the same: both are {DEFAULT_GROUP}")


_NAME = obj(("name",), name=STR)
ROUTES = [
    Route(P + "list", list_groups, obj(), "ListResourceGroups", "names of the resource groups"),
    Route(P + "describe", describe_group, _NAME, "DescribeResourceGroup",
          "nodes, config and loaded replicas of a resource group"),
    Route(P + "create", create_group, obj(("name",), name=STR, config=OBJ),
          "CreateResourceGroup", "refused: redkite is a single node"),
    Route(P + "drop", drop_group, _NAME, "DropResourceGroup",
          "refused: the default resource group cannot be dropped"),
    Route(P + "alter", alter_groups, obj(("resource_groups",), resource_groups=OBJ),
          "UpdateResourceGroups", "accepted only when it keeps the single node's config"),
    Route(P + "transfer_replica", transfer_replica,
          obj(("sourceRgName", "targetRgName", "collectionName", "replicaNum"),
              sourceRgName=STR, targetRgName=STR, collectionName=STR, replicaNum=INT),
          "TransferReplica", "refused: there is only one resource group"),
]
