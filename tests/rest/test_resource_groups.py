"""resource_groups/*: the single node's __default_resource_group, as Milvus standalone."""

from __future__ import annotations

from .conftest import error, ok

DEFAULT = "__default_resource_group"
CONFIG = {"requests": {"node_num": 1}, "limits": {"node_num": 1}}


def test_the_default_group_is_described(rest_server):
    post = rest_server.post
    assert ok(post("resource_groups/list", {})) == [DEFAULT]
    rest_server.client.create_collection("rg_loaded", dimension=2)  # quick create loads it
    status, payload = post("resource_groups/describe", {"name": DEFAULT})
    assert status == 200 and payload["code"] == 0
    group = payload["resource_group"]
    assert payload["data"] == group
    assert group["name"] == DEFAULT and group["num_available_node"] == 1
    assert group["config"] == CONFIG and len(group["nodes"]) == 1
    assert group["num_loaded_replica"] == {"rg_loaded": 1}
    rest_server.client.drop_collection("rg_loaded")


def test_changes_a_single_node_cannot_make_are_refused(rest_server):
    post = rest_server.post
    assert "one node" in error(post("resource_groups/create", {"name": "rg2", "config": {}}),
                               10)
    assert "rg2" in error(post("resource_groups/describe", {"name": "rg2"}), 300)
    assert "rg2" in error(post("resource_groups/drop", {"name": "rg2"}), 300)
    assert "not permitted" in error(post("resource_groups/drop", {"name": DEFAULT}), 65535)
    ok(post("resource_groups/alter", {"resource_groups": {DEFAULT: CONFIG}}))
    assert "one node" in error(post("resource_groups/alter", {"resource_groups": {
        DEFAULT: {"requests": {"node_num": 2}, "limits": {"node_num": 2}}}}), 10)
    rest_server.client.create_collection("rg_moved", dimension=2)
    body = {"sourceRgName": DEFAULT, "targetRgName": "rg2", "collectionName": "rg_moved",
            "replicaNum": 1}
    assert "rg2" in error(post("resource_groups/transfer_replica", body), 300)
    body["targetRgName"] = DEFAULT
    assert "same" in error(post("resource_groups/transfer_replica", body), 1100)
    error(post("resource_groups/transfer_replica", {**body, "collectionName": "ghost"}), 100)
    rest_server.client.drop_collection("rg_moved")


def test_resource_group_bad_input(rest_server):
    post = rest_server.post
    assert "name" in error(post("resource_groups/describe", {}), 1802)
    assert "name" in error(post("resource_groups/drop", {"name": 1}), 1801)
    assert "replicaNum" in error(post("resource_groups/transfer_replica", {
        "sourceRgName": "a", "targetRgName": "b", "collectionName": "c"}), 1802)
    assert "resource_groups" in error(post("resource_groups/alter", {"resource_groups": []}),
                                      1801)
