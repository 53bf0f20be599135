"""redkite's client on a server with authentication and TLS: users, roles and privileges
answer as pymilvus's answers (same shapes, same errors), a new password takes effect with
reset_connection, and the TLS options connect as pymilvus's do. The embedded database has
no users: those methods say so."""

from __future__ import annotations

import asyncio

import pytest
from pymilvus import MilvusClient as PyMilvusClient
from pymilvus.exceptions import MilvusException as PyMilvusException

from redkite import AsyncMilvusClient, MilvusClient
from redkite.errors import ErrorCode, MilvusException, ParamError

from .conftest import CALL_TIMEOUT
from .test_tls import certs, tls_server  # noqa: F401 - test_tls's fixtures
from .test_tls import pytestmark as needs_openssl

ROOT = "root:Milvus"


@pytest.fixture(scope="module")
def auth_uri(tmp_path_factory):
    from redkite.server import AuthConfig, start_server

    running = start_server(str(tmp_path_factory.mktemp("auth") / "data"), port=0,
                           auth=AuthConfig(enabled=True))
    yield f"http://{running.address}"
    running.stop(grace=0.5)


def _rbac_flow(client, tag):
    """Users, roles and grants named after ``tag``; every read's answer."""
    user, role = f"u_{tag}", f"r_{tag}"
    client.create_user(user, "secret-123", description="a reader")
    client.create_role(role, description="reads")
    client.grant_role(user, role)
    client.grant_privilege(role, "Collection", "Search", "docs")
    client.grant_privilege_v2(role, "Query", "docs")
    client.grant_privilege_v2(role, "CreateCollection", "*")
    out = {"users": sorted(u for u in client.list_users() if u.endswith(tag)),
           "user": client.describe_user(user), "roles": sorted(client.list_roles()),
           "role": client.describe_role(role), "missing_user": client.describe_user("ghost")}
    client.revoke_privilege(role, "Collection", "Search", "docs")
    client.revoke_privilege_v2(role, "Query", "docs")
    client.revoke_privilege_v2(role, "CreateCollection", "*")
    out["after_revoke"] = client.describe_role(role)["privileges"]
    client.revoke_role(user, role)
    out["user_after"] = client.describe_user(user)
    client.drop_role(role)
    client.drop_user(user)
    out["gone"] = user in client.list_users() or role in client.list_roles()
    return out


def test_users_roles_and_grants_answer_as_pymilvus(auth_uri):
    with MilvusClient(auth_uri, token=ROOT) as ours:
        mine = _rbac_flow(ours, "x")
    theirs = PyMilvusClient(auth_uri, token=ROOT, timeout=CALL_TIMEOUT)
    try:
        expected = _rbac_flow(theirs, "x")
    finally:
        theirs.close()
    assert mine == expected
    assert mine["user"] == {"user_name": "u_x", "roles": ("r_x",), "description": "a reader"}
    assert {p["privilege"] for p in mine["role"]["privileges"]} == {
        "Search", "Query", "CreateCollection"}
    assert mine["after_revoke"] == [] and mine["gone"] is False


def test_rbac_errors_equal_pymilvus(auth_uri):
    theirs = PyMilvusClient(auth_uri, token=ROOT, timeout=CALL_TIMEOUT)
    with MilvusClient(auth_uri, token=ROOT) as ours:
        for call in (lambda c: c.drop_role("admin"), lambda c: c.grant_role("ghost", "public"),
                     lambda c: c.create_user("bad name", "secret-123"),
                     lambda c: c.update_password("root", "wrong-old", "new-secret")):
            with pytest.raises(PyMilvusException) as expected:
                call(theirs)
            with pytest.raises(MilvusException) as raised:
                call(ours)
            assert raised.value.code == expected.value.code
            assert raised.value.message == expected.value.message
    theirs.close()


def test_update_password_with_reset_connection_switches_credentials(auth_uri):
    with MilvusClient(auth_uri, token=ROOT) as admin:
        admin.create_user("mover", "first-pass")
        admin.grant_role("mover", "admin")
    with MilvusClient(auth_uri, user="mover", password="first-pass") as client:
        client.update_password("mover", "first-pass", "second-pass", reset_connection=True)
        assert "mover" in client.list_users()  # authenticated with the new password
    with MilvusClient(auth_uri, user="mover", password="first-pass") as stale:
        with pytest.raises(MilvusException):
            stale.list_users()
    with MilvusClient(auth_uri, token=ROOT) as admin:
        admin.drop_user("mover")


def test_client_arguments_are_checked_before_any_call(auth_uri):
    with MilvusClient(auth_uri, token=ROOT) as client:
        with pytest.raises(ParamError, match="role_name"):
            client.create_role("")
        with pytest.raises(ParamError, match="password"):
            client.create_user("someone", 12345)
        with pytest.raises(ParamError, match="do not apply"):
            client.list_users(db_name="x")


def test_embedded_database_has_no_users(tmp_path):
    with MilvusClient(str(tmp_path / "app.db")) as client:
        for call in (lambda: client.create_user("a", "secret-123"), client.list_users,
                     lambda: client.grant_privilege_v2("r", "Search", "*")):
            with pytest.raises(MilvusException) as raised:
                call()
            assert raised.value.code == ErrorCode.SERVICE_UNIMPLEMENTED
            assert "redkite serve --auth" in raised.value.message


# ---- TLS (test_tls's server, certificates made by openssl) ----------------------------------
@needs_openssl
def test_https_uri_with_server_pem(tls_server, certs):  # noqa: F811
    port = tls_server(auth=True)
    with MilvusClient(f"https://127.0.0.1:{port}", token=ROOT,
                      server_pem_path=str(certs / "ca.pem")) as client:
        client.create_collection("docs", dimension=2)
        client.insert("docs", [{"id": 1, "vector": [1.0, 0.0]}])
        assert client.search("docs", [[1.0, 0.0]], limit=1)[0][0]["id"] == 1
    with MilvusClient(f"http://localhost:{port}", token=ROOT, secure=True,
                      ca_pem_path=str(certs / "ca.pem")) as client:  # secure=True, a DNS name
        assert client.list_collections() == ["docs"]

    async def over_aio():
        async with AsyncMilvusClient(f"https://127.0.0.1:{port}", token=ROOT,
                                     server_pem_path=str(certs / "ca.pem")) as client:
            return await client.list_collections()

    assert asyncio.run(over_aio()) == ["docs"]


@needs_openssl
def test_mutual_tls_and_server_name(tls_server, certs):  # noqa: F811
    port = tls_server(mutual=True, auth=True)
    options = {"ca_pem_path": str(certs / "ca.pem"), "client_pem_path": str(certs / "client.pem"),
               "client_key_path": str(certs / "client.key")}
    with MilvusClient(f"https://127.0.0.1:{port}", token=ROOT, **options) as client:
        assert client.list_collections() == []
    # a server name the certificate does not carry fails the handshake
    with pytest.raises(MilvusException) as raised:
        MilvusClient(f"https://127.0.0.1:{port}", token=ROOT, server_name="elsewhere",
                     timeout=0.5, **options)
    assert raised.value.code == ErrorCode.SERVICE_UNAVAILABLE
    # no client certificate: the server refuses the handshake
    with pytest.raises(MilvusException):
        MilvusClient(f"https://127.0.0.1:{port}", token=ROOT, timeout=0.5,
                     ca_pem_path=str(certs / "ca.pem"))


def test_tls_options_are_checked_when_the_client_is_built(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("not used")
    bad = [({"server_pem_path": str(pem)}, "secure=True"),
           ({"secure": "yes"}, "secure must be a bool"),
           ({"secure": True, "client_pem_path": str(pem)}, "client_key_path"),
           ({"secure": True, "ca_pem_path": str(tmp_path / "missing.pem")}, "cannot read")]
    for options, message in bad:
        with pytest.raises(ParamError, match=message):
            MilvusClient("http://127.0.0.1:1", **options)
    with pytest.raises(ParamError, match="server uri"):
        MilvusClient(str(tmp_path / "app.db"), secure=True)
