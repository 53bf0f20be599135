"""Privilege groups over the official pymilvus client: created, filled, listed, dropped,
and enforced (a role granted a group may do what the group holds, nothing more)."""

from __future__ import annotations

import grpc
import pytest
from pymilvus import MilvusClient, MilvusException

from .conftest import CALL_TIMEOUT

ROOT = "root:Milvus"


@pytest.fixture
def uri(tmp_path):
    from redkite.server import AuthConfig, start_server

    server = start_server(str(tmp_path / "data"), port=0, auth=AuthConfig(enabled=True))
    yield f"http://{server.address}"
    server.stop(grace=0.5)


def _client(uri: str, token: str) -> MilvusClient:
    return MilvusClient(uri, token=token, timeout=CALL_TIMEOUT)


def _denied(call) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    return err.value.details()


def _groups(client: MilvusClient) -> dict[str, list[str]]:
    return {g["privilege_group"]: list(g["privileges"]) for g in client.list_privilege_groups()}


def test_privilege_group_lifecycle(uri):
    root = _client(uri, ROOT)
    builtin = _groups(root)
    assert set(builtin) == {f"{level}{kind}" for level in ("Cluster", "Database", "Collection")
                            for kind in ("ReadOnly", "ReadWrite", "Admin")}
    assert builtin["CollectionReadOnly"][:2] == ["Query", "Search"]
    assert "CreateAlias" in builtin["CollectionAdmin"]
    assert "CreateAlias" not in builtin["CollectionReadWrite"]

    root.create_privilege_group("readers")
    root.add_privileges_to_group("readers", ["Query", "Search", "Query"])
    root.add_privileges_to_group("readers", ["DescribeCollection"])
    assert _groups(root)["readers"] == ["Query", "Search", "DescribeCollection"]
    root.remove_privileges_from_group("readers", ["Search"])
    assert _groups(root)["readers"] == ["Query", "DescribeCollection"]

    with pytest.raises(MilvusException, match="already exists"):
        root.create_privilege_group("readers")
    with pytest.raises(MilvusException, match="invalid privileges"):
        root.add_privileges_to_group("readers", ["Fly"])
    with pytest.raises(MilvusException, match="does not exist"):
        root.add_privileges_to_group("ghosts", ["Query"])
    with pytest.raises(MilvusException, match="built-in"):
        root.drop_privilege_group("CollectionAdmin")
    with pytest.raises(MilvusException, match="name of a privilege"):
        root.create_privilege_group("Insert")

    root.create_role("r")
    root.grant_privilege_v2("r", "readers", "*")
    with pytest.raises(MilvusException, match="revoke it first"):
        root.drop_privilege_group("readers")
    root.revoke_privilege_v2("r", "readers", "*")
    root.drop_privilege_group("readers")
    assert "readers" not in _groups(root)


def test_granted_groups_are_enforced(uri):
    root = _client(uri, ROOT)
    root.create_collection("docs", dimension=3)
    root.create_user("alice", "alice-pass")
    root.create_role("reader")
    root.grant_role("alice", "reader")
    alice = _client(uri, "alice:alice-pass")
    row = [{"id": 1, "vector": [1.0, 2.0, 3.0]}]
    assert "Query" in _denied(lambda: alice.query("docs", filter="id >= 0"))

    with pytest.raises(MilvusException, match="grant_privilege_v2"):
        root.grant_privilege("reader", "Collection", "CollectionReadOnly", "*")
    root.grant_privilege_v2("reader", "CollectionReadOnly", "*")
    assert alice.query("docs", filter="id >= 0") == []
    assert "Insert" in _denied(lambda: alice.insert("docs", row))
    assert "CreateCollection" in _denied(lambda: alice.create_collection("x", dimension=3))

    root.create_privilege_group("writers")
    root.add_privileges_to_group("writers", ["Insert"])
    root.grant_privilege("reader", "Collection", "writers", "docs")  # created groups: both
    assert alice.insert("docs", row)["insert_count"] == 1
    root.remove_privileges_from_group("writers", ["Insert"])
    assert "Insert" in _denied(lambda: alice.insert("docs", row))  # the group changed

    assert "DropCollection" in _denied(lambda: alice.drop_collection("docs"))
    root.grant_privilege_v2("reader", "DatabaseAdmin", "*")
    alice.drop_collection("docs")
    assert root.list_collections() == []
    with pytest.raises(MilvusException, match="cluster-level"):
        root.grant_privilege_v2("reader", "ClusterAdmin", "*")
    root.grant_privilege_v2("reader", "ClusterReadOnly", "*", db_name="*")
    assert "alice" in alice.list_users()
    grants = {(p["object_type"], p["object_name"], p["privilege"], p["db_name"])
              for p in root.describe_role("reader")["privileges"]}
    assert ("Collection", "*", "CollectionReadOnly", "default") in grants
    assert ("Global", "*", "ClusterReadOnly", "*") in grants


def test_groups_survive_a_restart(tmp_path):
    from redkite.server import AuthConfig, start_server

    data = str(tmp_path / "data")
    server = start_server(data, port=0, auth=AuthConfig(enabled=True))
    root = _client(f"http://{server.address}", ROOT)
    root.create_privilege_group("keep")
    root.add_privileges_to_group("keep", ["Load", "Release"])
    root.close()
    server.stop(grace=0.5)
    server = start_server(data, port=0, auth=AuthConfig(enabled=True))
    try:
        root = _client(f"http://{server.address}", ROOT)
        assert _groups(root)["keep"] == ["Load", "Release"]
    finally:
        server.stop(grace=0.5)


def test_schema_ddl_rpcs_need_their_privileges(uri):
    from pymilvus import DataType

    root = _client(uri, ROOT)
    root.create_collection("docs", dimension=3)
    root.create_user("eve", "eve-pass")
    eve = _client(uri, "eve:eve-pass")
    assert "CreateCollection" in _denied(
        lambda: eve.alter_collection_field("docs", "vector", {"mmap.enabled": True}))
    assert "AlterCollectionSchema" in _denied(lambda: eve.add_collection_field(
        "docs", "extra", DataType.INT64, nullable=True))
    root.create_role("schema")
    root.grant_role("eve", "schema")
    root.grant_privilege_v2("schema", "AlterCollectionSchema", "docs")
    eve.add_collection_field("docs", "extra", DataType.INT64, nullable=True)
    assert "extra" in {f["name"] for f in root.describe_collection("docs")["fields"]}
