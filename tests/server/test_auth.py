"""`redkite serve --auth` with the official pymilvus: credentials are checked on every call,
users and roles are managed over the protocol, privileges are enforced as Milvus does, and
all of it survives a restart."""

from __future__ import annotations

import grpc
import pytest
from pymilvus import MilvusClient, MilvusException

from .conftest import CALL_TIMEOUT

ROOT = "root:Milvus"


@pytest.fixture
def served(tmp_path):
    """Start (and restart) auth-enabled servers on one data directory."""
    from redkite.server import AuthConfig, start_server

    running = []

    def start(**auth):
        if running:
            running.pop().stop(grace=0.5)
        server = start_server(str(tmp_path / "data"), port=0,
                              auth=AuthConfig(enabled=True, **auth))
        running.append(server)
        return f"http://{server.address}"

    yield start
    for server in running:
        server.stop(grace=0.5)


def _client(uri: str, **credentials) -> MilvusClient:
    return MilvusClient(uri, timeout=CALL_TIMEOUT, **credentials)


def _refused_at_connect(uri: str, **credentials) -> str:
    """The refusal of a client with these credentials (pymilvus shares a connection per
    uri and user, so the refusal comes at connect or at the first call)."""
    with pytest.raises((MilvusException, grpc.RpcError)) as err:
        _client(uri, **credentials).list_collections()
    cause = err.value if isinstance(err.value, grpc.RpcError) else err.value.__cause__
    assert isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.UNAUTHENTICATED
    return cause.details()


def _denied(call) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    return err.value.details()


def test_missing_or_wrong_credentials_are_refused(served):
    uri = served()
    assert "missing authorization" in _refused_at_connect(uri)
    assert "auth check failure" in _refused_at_connect(uri, token="root:wrong")
    assert "auth check failure" in _refused_at_connect(uri, user="ghost", password="secret1")
    assert "auth check failure" in _refused_at_connect(uri, token="not-a-user-password-pair")
    root = _client(uri, token=ROOT)
    assert root.list_collections() == []
    # a raw call without the header never reaches the engine
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc
    with grpc.insecure_channel(uri.removeprefix("http://")) as channel:
        with pytest.raises(grpc.RpcError) as err:
            milvus_pb2_grpc.MilvusServiceStub(channel).ShowCollections(
                milvus_pb2.ShowCollectionsRequest(), timeout=CALL_TIMEOUT)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_user_lifecycle(served):
    uri = served(root_password="Sup3rSecret")
    _refused_at_connect(uri, token=ROOT)  # the default password is replaced
    root = _client(uri, token="root:Sup3rSecret")
    root.create_user("alice", "alice-pass", description="analyst")
    assert root.list_users() == ["alice", "root"]
    assert root.describe_user("alice") == {"user_name": "alice", "roles": (),
                                           "description": "analyst"}
    assert root.describe_user("nobody") == {}
    for bad in [lambda: root.create_user("alice", "another1"),      # exists
                lambda: root.create_user("9lives", "password1"),   # bad name
                lambda: root.create_user("bob", "short"),          # password too short
                lambda: root.drop_user("root"),
                lambda: root.update_password("alice", "wrong-old", "new-pass1")]:
        with pytest.raises(MilvusException) as err:
            bad()
        assert err.value.code == 1100
    alice = _client(uri, user="alice", password="alice-pass")
    alice.update_password("alice", "alice-pass", "alice-pass2")  # own entry: no grant needed
    _refused_at_connect(uri, user="alice", password="alice-pass")
    alice = _client(uri, user="alice", password="alice-pass2")
    assert alice.describe_user("alice")["user_name"] == "alice"
    root.drop_user("alice")
    assert root.list_users() == ["root"]
    _refused_at_connect(uri, user="alice", password="alice-pass2")


def test_privileges_are_enforced(served):
    uri = served()
    root = _client(uri, token=ROOT)
    for name in ("docs", "other"):
        root.create_collection(name, dimension=3)
    root.create_user("alice", "alice-pass")
    root.create_role("writer", description="writes docs")
    root.grant_role("alice", "writer")
    alice = _client(uri, token="alice:alice-pass")
    row = [{"id": 1, "vector": [1.0, 2.0, 3.0]}]

    message = _denied(lambda: alice.create_collection("mine", dimension=3))
    assert message == "CreateCollection: permission deny to alice in the `default` database"
    assert "DescribeCollection" in _denied(lambda: alice.insert("docs", row))
    root.grant_privilege("writer", "Global", "DescribeCollection", "*")
    assert "Insert" in _denied(lambda: alice.insert("docs", row))
    root.grant_privilege_v2("writer", "Insert", "docs")
    assert alice.insert("docs", row)["insert_count"] == 1
    assert "Insert" in _denied(lambda: alice.insert("other", row))  # another collection
    assert "Search" in _denied(lambda: alice.search("docs", [[1.0, 2.0, 3.0]], limit=1))
    assert "ManageOwnership" in _denied(lambda: alice.grant_role("alice", "admin"))

    privileges = {(p["object_type"], p["object_name"], p["privilege"], p["grantor_name"])
                  for p in root.describe_role("writer")["privileges"]}
    assert privileges == {("Global", "*", "DescribeCollection", "root"),
                          ("Collection", "docs", "Insert", "root")}

    root.revoke_privilege_v2("writer", "Insert", "docs")
    assert "Insert" in _denied(lambda: alice.insert("docs", row))
    root.grant_privilege("writer", "Collection", "*", "*")  # All, every collection
    assert alice.insert("other", row)["insert_count"] == 1

    with pytest.raises(MilvusException, match="force_drop"):
        root.drop_role("writer")
    with pytest.raises(MilvusException, match="built-in"):
        root.drop_role("admin")
    with pytest.raises(MilvusException, match="does not exist for object type"):
        root.grant_privilege("writer", "Collection", "CreateDatabase", "docs")

    root.grant_role("alice", "admin")  # admin may do everything
    alice.create_collection("mine", dimension=3)
    assert sorted(root.list_roles()) == ["admin", "public", "writer"]
    root.drop_role("writer", force_drop=True)
    assert root.describe_user("alice")["roles"] == ("admin",)


def test_users_roles_and_grants_survive_a_restart(served, tmp_path):
    uri = served()
    root = _client(uri, token=ROOT)
    root.create_collection("docs", dimension=3)
    root.create_user("carol", "carol-pass")
    root.create_role("reader")
    root.grant_privilege("reader", "Collection", "Query", "docs")
    root.grant_privilege("reader", "Global", "DescribeCollection", "*")
    root.grant_role("carol", "reader")
    root.update_password("root", "Milvus", "N3wRootPass")
    stored = (tmp_path / "data" / "rbac.json").read_text()
    assert "carol" in stored and "carol-pass" not in stored and "N3wRootPass" not in stored

    uri = served(root_password="ignored-once-stored")
    _refused_at_connect(uri, token=ROOT)
    root = _client(uri, token="root:N3wRootPass")
    assert root.describe_user("carol")["roles"] == ("reader",)
    carol = _client(uri, token="carol:carol-pass")
    assert carol.query("docs", filter="id >= 0") == []
    assert "Delete" in _denied(lambda: carol.delete("docs", ids=[1]))


def test_rbac_rpcs_work_without_enforcement(server, client):
    """Without --auth the user store is still managed (as Milvus), and nothing is checked."""
    client.create_role("observer")
    client.create_user("dave", "dave-pass")
    client.grant_role("dave", "observer")
    assert client.describe_role("observer")["privileges"] == []
    assert "dave" in client.list_users() and "observer" in client.list_roles()
    anyone = MilvusClient(f"http://{server.address}", token="dave:wrong", timeout=CALL_TIMEOUT)
    assert isinstance(anyone.list_collections(), list)
    client.drop_user("dave")
    client.drop_role("observer")
